import assert from "node:assert/strict";
import { AlertDescription, Reader, TlsAlertError, Writer } from "@anchortls/record";
import {
  decodeDtlsHandshakeRecord,
  DTLS_HANDSHAKE_HEADER_LENGTH,
  type DtlsHandshakeFragment,
  encodeDtlsHandshakeFragment,
  encodeDtlsHandshakeMessage,
  readDtlsHandshakeFragment,
  writeDtlsHandshakeFragment,
} from "./handshake_header.ts";

function isAlert(description: number): (err: unknown) => boolean {
  return (err) => err instanceof TlsAlertError && err.description === description;
}

// A HelloVerifyRequest laid out as RFC 6347 §4.2.1 says: server_version fe ff and a 20-byte
// cookie (the length openssl s_server uses; the cookie bytes themselves are arbitrary).
const helloVerifyRequest = Uint8Array.fromHex(
  "030000170000000000000017" + "feff14" + "8a1f3c0d5e6b7a8c9d0e1f20314253647586978a",
);

Deno.test("decodes a whole HelloVerifyRequest and encodes it back to the same bytes", () => {
  const [fragment, ...rest] = decodeDtlsHandshakeRecord(helloVerifyRequest);
  assert.equal(rest.length, 0);
  assert.ok(fragment);
  assert.equal(fragment.msgType, 3);
  assert.equal(fragment.length, 23);
  assert.equal(fragment.messageSeq, 0);
  assert.equal(fragment.fragmentOffset, 0);
  assert.equal(fragment.body.length, 23);
  assert.deepEqual(encodeDtlsHandshakeFragment(fragment), helloVerifyRequest);
  assert.deepEqual(
    encodeDtlsHandshakeMessage({ msgType: 3, messageSeq: 0, body: fragment.body }),
    helloVerifyRequest,
  );
});

Deno.test("encodes every header field big-endian at its RFC 6347 position", () => {
  const bytes = encodeDtlsHandshakeFragment({
    msgType: 11,
    length: 0x012345,
    messageSeq: 0xbeef,
    fragmentOffset: 0x010203,
    body: new Uint8Array([0xaa, 0xbb]),
  });
  assert.equal(bytes.toHex(), "0b012345beef010203000002aabb");
  assert.equal(bytes.length, DTLS_HANDSHAKE_HEADER_LENGTH + 2);
});

Deno.test("round-trips a middle fragment and several fragments packed in one record", () => {
  const fragments: DtlsHandshakeFragment[] = [
    { msgType: 11, length: 300, messageSeq: 2, fragmentOffset: 100, body: new Uint8Array(100) },
    { msgType: 11, length: 300, messageSeq: 2, fragmentOffset: 200, body: new Uint8Array(100) },
    { msgType: 14, length: 0, messageSeq: 3, fragmentOffset: 0, body: new Uint8Array(0) },
  ];
  fragments[0]!.body.fill(7);
  const writer = new Writer();
  for (const f of fragments) writeDtlsHandshakeFragment(writer, f);
  const decoded = decodeDtlsHandshakeRecord(writer.finish());
  assert.deepEqual(decoded, fragments);
});

Deno.test("rejects every truncation of a fragment with decode_error", () => {
  const bytes = encodeDtlsHandshakeFragment({
    msgType: 1,
    length: 40,
    messageSeq: 1,
    fragmentOffset: 5,
    body: new Uint8Array(20).fill(1),
  });
  assert.throws(() => decodeDtlsHandshakeRecord(bytes.subarray(0, 0)), isAlert(50));
  for (let n = 1; n < bytes.length; n++) {
    assert.throws(
      () => decodeDtlsHandshakeRecord(bytes.subarray(0, n)),
      isAlert(AlertDescription.decode_error),
      `prefix of ${n} bytes`,
    );
  }
});

Deno.test("rejects trailing bytes after the last fragment of a record", () => {
  const bytes = encodeDtlsHandshakeFragment({
    msgType: 14,
    length: 0,
    messageSeq: 3,
    fragmentOffset: 0,
    body: new Uint8Array(0),
  });
  for (let extra = 1; extra < DTLS_HANDSHAKE_HEADER_LENGTH; extra++) {
    const withTrailer = new Uint8Array(bytes.length + extra);
    withTrailer.set(bytes);
    assert.throws(
      () => decodeDtlsHandshakeRecord(withTrailer),
      isAlert(AlertDescription.decode_error),
      `${extra} trailing bytes`,
    );
  }
});

Deno.test("a single reader stops exactly after one fragment", () => {
  const bytes = encodeDtlsHandshakeFragment({
    msgType: 2,
    length: 4,
    messageSeq: 1,
    fragmentOffset: 0,
    body: new Uint8Array([1, 2, 3, 4]),
  });
  const reader = new Reader(new Uint8Array([...bytes, 0xff]));
  readDtlsHandshakeFragment(reader);
  assert.equal(reader.remaining, 1);
});

Deno.test("rejects fragments that run past their message with illegal_parameter", () => {
  const cases: Array<[offset: number, fragmentLength: number, length: number]> = [
    [0, 11, 10],
    [10, 1, 10],
    [11, 0, 10],
    [0xffffff, 1, 0xffffff],
    [5, 0xfffffe, 10],
  ];
  for (const [offset, fragmentLength, length] of cases) {
    const header = new Writer().u8(11).u24(length).u16(0).u24(offset).u24(fragmentLength).finish();
    const bytes = new Uint8Array(header.length + fragmentLength);
    bytes.set(header);
    assert.throws(
      () => decodeDtlsHandshakeRecord(bytes),
      isAlert(AlertDescription.illegal_parameter),
      `offset ${offset} + ${fragmentLength} in ${length}`,
    );
  }
});

Deno.test("accepts a fragment that ends exactly at the message length, and empty messages", () => {
  const header = new Writer().u8(11).u24(10).u16(0).u24(7).u24(3).bytes(new Uint8Array(3));
  assert.equal(decodeDtlsHandshakeRecord(header.finish())[0]?.fragmentOffset, 7);
  const empty = new Writer().u8(14).u24(0).u16(0).u24(0).u24(0).finish();
  assert.equal(decodeDtlsHandshakeRecord(empty)[0]?.length, 0);
});

Deno.test("refuses to encode fields that do not fit or fragments past the length", () => {
  const base: DtlsHandshakeFragment = {
    msgType: 1,
    length: 4,
    messageSeq: 0,
    fragmentOffset: 0,
    body: new Uint8Array(4),
  };
  const bad: DtlsHandshakeFragment[] = [
    { ...base, msgType: 256 },
    { ...base, msgType: -1 },
    { ...base, messageSeq: 0x10000 },
    { ...base, length: 0x1000000 },
    { ...base, fragmentOffset: -1 },
    { ...base, fragmentOffset: 1 },
    { ...base, length: 3 },
    { ...base, messageSeq: 1.5 },
  ];
  for (const fragment of bad) {
    assert.throws(() => encodeDtlsHandshakeFragment(fragment), RangeError);
  }
});

Deno.test("transcript form hashes message_seq and a full-length fragment (RFC 6347 §4.2.6)", () => {
  const body = new Uint8Array(300).map((_, i) => i);
  const whole = encodeDtlsHandshakeMessage({ msgType: 11, messageSeq: 2, body });
  assert.equal(whole.subarray(0, DTLS_HANDSHAKE_HEADER_LENGTH).toHex(), "0b00012c000200000000012c");
  assert.deepEqual(whole.subarray(DTLS_HANDSHAKE_HEADER_LENGTH), body);
});

Deno.test("random bytes either decode or fail with a TLS alert, never anything else", () => {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    // Half the inputs are random, half are a valid fragment with one byte changed.
    let bytes: Uint8Array = new Uint8Array(next() % 40).map(() => next() & 0xff);
    if (i % 2 === 0) {
      const length = next() % 20;
      bytes = encodeDtlsHandshakeFragment({
        msgType: 11,
        length,
        messageSeq: 1,
        fragmentOffset: 0,
        body: new Uint8Array(length),
      });
      bytes[next() % bytes.length] = next() & 0xff;
    }
    try {
      decoded += decodeDtlsHandshakeRecord(bytes).length;
    } catch (err) {
      assert.ok(err instanceof TlsAlertError, String(err));
      assert.ok([50, 47].includes(err.description));
    }
  }
  assert.ok(decoded > 0);
});
