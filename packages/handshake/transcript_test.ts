import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { Transcript } from "./transcript.ts";

Deno.test("Transcript: hash snapshots equal SHA-256 of the concatenation", () => {
  const t = new Transcript();
  const a = new Uint8Array(100).fill(1);
  const b = new Uint8Array(3).fill(2);
  assert.deepEqual(t.hash(), sha256(new Uint8Array(0)));
  t.add(a);
  assert.deepEqual(t.hash(), sha256(a));
  t.add(b);
  assert.deepEqual(t.messages(), new Uint8Array([...a, ...b]));
  assert.deepEqual(t.hash(), sha256(new Uint8Array([...a, ...b])));
  assert.deepEqual(t.hash(), t.hash());
});
