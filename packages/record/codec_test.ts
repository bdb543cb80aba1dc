import assert from "node:assert/strict";
import { Reader, Writer } from "./codec.ts";

Deno.test("Writer: bytes() that outgrow the buffer land in the grown one", () => {
  const big = new Uint8Array(5000).map((_, i) => i);
  const out = new Writer(16).u8(7).bytes(big).finish();
  assert.equal(out.length, 5001);
  assert.equal(out[0], 7);
  assert.deepEqual(out.subarray(1), big);
});

Deno.test("Writer: a u8() that grows the buffer is not lost", () => {
  const w = new Writer(2);
  for (let i = 1; i <= 5; i++) w.u8(i);
  assert.deepEqual(w.finish(), Uint8Array.of(1, 2, 3, 4, 5));
});

Deno.test("Writer: a 24-bit vector larger than the initial capacity round-trips", () => {
  const body = new Uint8Array(70_000).fill(0xab);
  const encoded = new Writer(4096).vector24((w) => w.bytes(body)).finish();
  const r = new Reader(encoded);
  assert.deepEqual(r.sub(r.u24()).bytes(body.length), body);
});
