import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { encodeTlsHandshake, TlsHandshakeDeframer } from "./framing.ts";

Deno.test("TlsHandshakeDeframer: messages split and packed at every boundary", () => {
  const a = encodeTlsHandshake(2, new Uint8Array(70).fill(1));
  const b = encodeTlsHandshake(11, new Uint8Array(300).fill(2));
  const c = encodeTlsHandshake(14, new Uint8Array(0));
  const stream = new Uint8Array([...a, ...b, ...c]);
  for (let cut = 1; cut < stream.length; cut += 7) {
    const d = new TlsHandshakeDeframer();
    const out = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      d.push(part);
      for (let m = d.next(); m; m = d.next()) out.push(m);
    }
    assert.deepEqual(out.map((m) => m.type), [2, 11, 14]);
    assert.deepEqual(out[1]!.body, new Uint8Array(300).fill(2));
    assert.deepEqual(out[0]!.transcriptBytes, a);
    assert.equal(d.hasPartialMessage, false);
  }
});

Deno.test("TlsHandshakeDeframer: partial message is visible, oversize and empty records refused", () => {
  const d = new TlsHandshakeDeframer(100);
  d.push(Uint8Array.of(20, 0, 0));
  assert.equal(d.next(), undefined);
  assert.equal(d.hasPartialMessage, true);
  const big = new TlsHandshakeDeframer(100);
  big.push(Uint8Array.of(11, 0, 0, 101));
  assert.throws(
    () => big.next(),
    (e) => e instanceof TlsAlertError && e.description === AlertDescription.decode_error,
  );
  assert.throws(
    () => d.push(new Uint8Array(0)),
    (e) => e instanceof TlsAlertError && e.description === AlertDescription.unexpected_message,
  );
});

Deno.test("TlsHandshakeDeframer: a largest-size message one byte per record", () => {
  const body = new Uint8Array(65_536).map((_, i) => i * 7);
  const message = encodeTlsHandshake(11, body);
  const d = new TlsHandshakeDeframer();
  let out;
  for (let i = 0; i < message.length; i++) {
    d.push(message.subarray(i, i + 1));
    out = d.next();
    if (i < message.length - 1) assert.equal(out, undefined);
  }
  assert.deepEqual(out?.transcriptBytes, message);
  assert.equal(d.hasPartialMessage, false);
});

Deno.test("TlsHandshakeDeframer: thousands of messages in one record, then a split one", () => {
  const d = new TlsHandshakeDeframer();
  const many = new Uint8Array(4 * 4000);
  for (let i = 0; i < 4000; i++) many.set(encodeTlsHandshake(i % 256, new Uint8Array(0)), i * 4);
  const tail = encodeTlsHandshake(2, new Uint8Array(3000).fill(9));
  d.push(new Uint8Array([...many, ...tail.subarray(0, 1000)]));
  const types = [];
  for (let m = d.next(); m; m = d.next()) types.push(m.type);
  assert.deepEqual(types, Array.from({ length: 4000 }, (_, i) => i % 256));
  assert.equal(d.hasPartialMessage, true);
  d.push(tail.subarray(1000));
  assert.deepEqual(d.next()?.transcriptBytes, tail);
  assert.equal(d.next(), undefined);
  assert.equal(d.hasPartialMessage, false);
});
