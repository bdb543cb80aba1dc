import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { parsePem } from "./pem.ts";
import {
  bigIntByteLength,
  bigIntToBytes,
  bytesToBigInt,
  modPow,
  rsaPublicOperation,
} from "./rsa.ts";
import { fixture, testdata } from "./_test_util.ts";

// RFC 8017's textbook-sized example key: n = 61 · 53, e = 17, d = 2753.
const toy = { modulus: 3233n, exponent: 17n };

Deno.test("bytesToBigInt / bigIntToBytes: round trip, leading zeros, empty input", () => {
  const bytes = Uint8Array.fromHex("0000ff0102");
  assert.equal(bytesToBigInt(bytes), 0xff0102n);
  assert.deepEqual(bigIntToBytes(0xff0102n, 5), bytes);
  assert.equal(bytesToBigInt(new Uint8Array(0)), 0n);
  assert.deepEqual(bigIntToBytes(0n, 2), new Uint8Array(2));
});

Deno.test("bigIntToBytes: without a length, as few bytes as the value needs", () => {
  assert.deepEqual(bigIntToBytes(0x10001n), Uint8Array.fromHex("010001"));
  assert.deepEqual(bigIntToBytes(0xff00n), Uint8Array.fromHex("ff00"));
  assert.deepEqual(bigIntToBytes(0n), Uint8Array.of(0));
});

Deno.test("bigIntToBytes: a value that does not fit or is negative is a RangeError", () => {
  assert.throws(() => bigIntToBytes(0x10000n, 2), RangeError);
  assert.throws(() => bigIntToBytes(-1n, 4), RangeError);
});

Deno.test("bigIntByteLength: byte boundaries", () => {
  assert.equal(bigIntByteLength(0xffn), 1);
  assert.equal(bigIntByteLength(0x100n), 2);
  assert.equal(bigIntByteLength((1n << 2047n) + 1n), 256);
});

Deno.test("modPow: known answers and a Fermat check", () => {
  assert.equal(modPow(4n, 13n, 497n), 445n);
  assert.equal(modPow(65n, 17n, 3233n), 2790n);
  assert.equal(modPow(2790n, 2753n, 3233n), 65n);
  assert.equal(modPow(5n, 0n, 7n), 1n);
  const p = (1n << 127n) - 1n;
  assert.equal(modPow(123456789n, p - 1n, p), 1n);
});

Deno.test("rsaPublicOperation: k-byte result, input at or above the modulus refused", () => {
  assert.deepEqual(rsaPublicOperation(toy, new Uint8Array([0x41])), Uint8Array.fromHex("0ae6"));
  // 2^17 mod 3233 = 1752: the result keeps the modulus length even with a zero top byte.
  assert.deepEqual(rsaPublicOperation(toy, new Uint8Array([0x02])), Uint8Array.fromHex("06d8"));
  assert.deepEqual(
    rsaPublicOperation(toy, new Uint8Array([0x00, 0x01])),
    Uint8Array.fromHex("0001"),
  );
  assert.equal(rsaPublicOperation(toy, Uint8Array.fromHex("0ca1")), undefined);
  assert.equal(rsaPublicOperation(toy, Uint8Array.fromHex("ffff")), undefined);
});

Deno.test("rsaPublicOperation: undoes a WebCrypto RSASSA-PKCS1-v1_5 signature by leaf.key", async () => {
  const leaf = fixture("leaf.pem").publicKey;
  assert.ok(leaf.kind === "rsa");
  const pkcs8 = parsePem(Deno.readTextFileSync(new URL("leaf.key", testdata)), "PRIVATE KEY")[0]!;
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as Uint8Array<ArrayBuffer>,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, new Uint8Array([1, 2, 3])),
  );
  const em = rsaPublicOperation(leaf, signature)!;
  assert.equal(em.length, 256);
  assert.deepEqual(em.subarray(0, 3), Uint8Array.fromHex("0001ff"));
  assert.equal(em[256 - 32 - 19 - 1], 0);
  assert.deepEqual(em.subarray(256 - 32), sha256(new Uint8Array([1, 2, 3])));
});
