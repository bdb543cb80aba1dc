import assert from "node:assert/strict";
import { DTLS_HEADER_LENGTH } from "@anchortls/record";
import {
  DEFAULT_DTLS_MTU,
  fragmentHandshakeMessage,
  maxHandshakeFragmentLength,
  packDatagrams,
} from "./fragmenter.ts";
import { decodeDtlsHandshakeRecord, DTLS_HANDSHAKE_HEADER_LENGTH } from "./handshake_header.ts";
import { DtlsReassembler } from "./reassembler.ts";

function bodyOf(length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 7 + 3) & 0xff);
}

Deno.test("fragment size leaves room for record header, expansion and handshake header", () => {
  assert.equal(maxHandshakeFragmentLength(1200, 0), 1200 - 13 - 12);
  assert.equal(maxHandshakeFragmentLength(1200, 64), 1200 - 13 - 64 - 12);
  assert.equal(maxHandshakeFragmentLength(26, 0), 1);
  assert.throws(() => maxHandshakeFragmentLength(25, 0), RangeError);
  assert.throws(() => maxHandshakeFragmentLength(100, 75), RangeError);
  assert.throws(() => maxHandshakeFragmentLength(1200.5, 0), RangeError);
  assert.equal(maxHandshakeFragmentLength(65_507, 0), 16_384 - 12);
});

Deno.test("every fragment of a message fits the MTU once wrapped in a record", () => {
  for (const mtu of [26, 100, 576, DEFAULT_DTLS_MTU, 1500]) {
    for (const expansion of [0, 64]) {
      if (mtu - 25 - expansion < 1) continue;
      const max = maxHandshakeFragmentLength(mtu, expansion);
      const records = fragmentHandshakeMessage(
        { msgType: 11, messageSeq: 4, body: bodyOf(3000) },
        max,
      );
      for (const plaintext of records) {
        assert.ok(
          DTLS_HEADER_LENGTH + expansion + plaintext.length <= mtu,
          `mtu ${mtu} expansion ${expansion}`,
        );
      }
      assert.equal(records.length, Math.ceil(3000 / max));
    }
  }
});

Deno.test("fragments decode to contiguous pieces that reassemble to the message", () => {
  const body = bodyOf(2500);
  const records = fragmentHandshakeMessage({ msgType: 11, messageSeq: 2, body }, 1000);
  const pieces = records.map((r) => {
    const [fragment, ...rest] = decodeDtlsHandshakeRecord(r);
    assert.equal(rest.length, 0);
    return fragment!;
  });
  assert.deepEqual(
    pieces.map((f) => [f.msgType, f.length, f.messageSeq, f.fragmentOffset, f.body.length]),
    [[11, 2500, 2, 0, 1000], [11, 2500, 2, 1000, 1000], [11, 2500, 2, 2000, 500]],
  );
  const reassembler = new DtlsReassembler({ nextMessageSeq: 2 });
  for (const f of pieces.reverse()) reassembler.push(f);
  assert.deepEqual(reassembler.next(), { msgType: 11, messageSeq: 2, body });
});

Deno.test("a message that fits, and an empty one, each give one unfragmented record", () => {
  const [whole, ...more] = fragmentHandshakeMessage(
    { msgType: 1, messageSeq: 0, body: bodyOf(100) },
    100,
  );
  assert.equal(more.length, 0);
  assert.equal(whole?.length, DTLS_HANDSHAKE_HEADER_LENGTH + 100);
  const empty = fragmentHandshakeMessage(
    { msgType: 14, messageSeq: 3, body: new Uint8Array(0) },
    1,
  );
  assert.deepEqual(empty.map((r) => r.toHex()), ["0e0000000003000000000000"]);
});

Deno.test("refuses a fragment length that is not a positive integer", () => {
  const message = { msgType: 1, messageSeq: 0, body: bodyOf(10) };
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => fragmentHandshakeMessage(message, bad), RangeError);
  }
});

Deno.test("packs records in order, several to a datagram, never over the MTU", () => {
  const records = [300, 500, 401, 1200, 1, 1199, 600, 601].map((n, i) => new Uint8Array(n).fill(i));
  const datagrams = packDatagrams(records, 1200);
  assert.deepEqual(datagrams.map((d) => d.length), [800, 401, 1200, 1200, 600, 601]);
  const joined = new Uint8Array(datagrams.reduce((n, d) => n + d.length, 0));
  let at = 0;
  for (const d of datagrams) {
    joined.set(d, at);
    at += d.length;
  }
  const expected = new Uint8Array(joined.length);
  at = 0;
  for (const r of records) {
    expected.set(r, at);
    at += r.length;
  }
  assert.deepEqual(joined, expected);
  assert.deepEqual(packDatagrams([], 1200), []);
});

Deno.test("refuses to pack a record larger than the MTU", () => {
  assert.throws(() => packDatagrams([new Uint8Array(10), new Uint8Array(1201)], 1200), RangeError);
});
