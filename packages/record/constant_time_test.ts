import assert from "node:assert/strict";
import { constantTimeEqual } from "./constant_time.ts";

/** A byte array that counts how often each index is read. */
function counting(bytes: Uint8Array): { view: Uint8Array; reads: number[] } {
  const reads = new Array<number>(bytes.length).fill(0);
  const view = new Proxy(bytes, {
    get(target, key) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads[Number(key)]!++;
      return Reflect.get(target, key);
    },
  });
  return { view, reads };
}

Deno.test("constantTimeEqual reads every byte of both, wherever they first differ", () => {
  for (const differAt of [0, 7, 31, -1]) {
    const a = counting(new Uint8Array(32).fill(9));
    const bBytes = new Uint8Array(32).fill(9);
    if (differAt >= 0) bBytes[differAt] = 1;
    const b = counting(bBytes);
    assert.equal(constantTimeEqual(a.view, b.view), differAt < 0);
    assert.deepEqual(a.reads, new Array(32).fill(1), `a, differing at ${differAt}`);
    assert.deepEqual(b.reads, new Array(32).fill(1), `b, differing at ${differAt}`);
  }
  // Only the public length decides early.
  assert.equal(constantTimeEqual(new Uint8Array(2), new Uint8Array(3)), false);
});
