import assert from "node:assert/strict";
import {
  decodeInnerPlaintext,
  encodeDtlsRecord,
  encodeInnerPlaintext,
  recordHeaderForMac,
  splitDatagram,
  TLS12_CID,
  TlsAlertError,
} from "./mod.ts";

Deno.test("RFC 9146 §5: the MAC/AEAD input with a CID, field by field", () => {
  const header = recordHeaderForMac({
    type: TLS12_CID,
    version: 0xfefd,
    sequence: (1n << 48n) | 0x0203n,
    cid: Uint8Array.of(0xbe, 0xef),
  }, 0x0123);
  assert.equal(
    header.toHex(),
    [
      "ffffffffffffffff", // seq_num_placeholder
      "19", // tls12_cid
      "02", // cid_length
      "19", // tls12_cid
      "fefd", // DTLSCiphertext.version
      "0001", // epoch
      "000000000203", // sequence_number
      "beef", // cid
      "0123", // length
    ].join(""),
  );
  // Without a CID, RFC 5246 §6.2.3.3's 13 bytes.
  assert.equal(
    recordHeaderForMac({ type: 23, version: 0xfefd, sequence: 5n }, 9).toHex(),
    "0000000000000005" + "17" + "fefd" + "0009",
  );
});

Deno.test("DTLSInnerPlaintext: content, real type, zeros; all zeros is refused", () => {
  const inner = encodeInnerPlaintext(Uint8Array.of(1, 2, 3), 23);
  assert.deepEqual(inner, Uint8Array.of(1, 2, 3, 23));
  const padded = Uint8Array.of(1, 2, 3, 22, 0, 0, 0);
  const decoded = decodeInnerPlaintext(padded);
  assert.equal(decoded.type, 22);
  assert.deepEqual(decoded.content, Uint8Array.of(1, 2, 3));
  assert.throws(() => decodeInnerPlaintext(new Uint8Array(4)), TlsAlertError);
  assert.throws(() => decodeInnerPlaintext(new Uint8Array(0)), TlsAlertError);
});

Deno.test("tls12_cid records: the CID sits between sequence and length, read with the length we chose", () => {
  const cid = Uint8Array.of(9, 8, 7);
  const record = { type: TLS12_CID, version: 0xfefd, epoch: 1, sequenceNumber: 4, cid };
  const datagram = Uint8Array.of(
    ...encodeDtlsRecord({ ...record, fragment: Uint8Array.of(0xaa) }),
    ...encodeDtlsRecord({ ...record, sequenceNumber: 5, fragment: Uint8Array.of(0xbb, 0xcc) }),
  );
  assert.equal(datagram.subarray(11, 14).toHex(), "090807");
  const split = splitDatagram(datagram, { cidLength: 3 });
  assert.deepEqual(
    split.map((r) => [r.type, r.sequenceNumber, r.cid?.toHex(), r.fragment.toHex()]),
    [
      [TLS12_CID, 4, "090807", "aa"],
      [TLS12_CID, 5, "090807", "bbcc"],
    ],
  );
  // Without our CID length a tls12_cid header cannot be framed: invalid, and dropped.
  let invalid = 0;
  assert.deepEqual(splitDatagram(datagram, { onInvalid: () => invalid++ }), []);
  assert.equal(invalid, 1);
  // A record running past the datagram (a CID longer than what is there) is invalid too.
  assert.throws(() => splitDatagram(datagram.subarray(0, 15), { cidLength: 3 }), TlsAlertError);
});
