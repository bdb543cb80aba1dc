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

Deno.test("Transcript: the SHA-384 hash covers the same messages", async () => {
  const t = new Transcript();
  const a = new Uint8Array(200).fill(3);
  const b = new Uint8Array(7).fill(4);
  t.add(a);
  t.add(b);
  const expected = new Uint8Array(
    await crypto.subtle.digest("SHA-384", new Uint8Array([...a, ...b])),
  );
  assert.deepEqual(t.hash("sha384"), expected);
  assert.equal(t.hash("sha256").length, 32);
});
