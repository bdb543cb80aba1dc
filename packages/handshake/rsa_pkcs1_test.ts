import assert from "node:assert/strict";
import { rsaesPkcs1v15Encrypt } from "./rsa_pkcs1.ts";

async function rsaKeyPair(bits: number): Promise<{
  modulus: bigint;
  exponent: bigint;
  pkcs8: Uint8Array;
}> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSA-OAEP",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["encrypt", "decrypt"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const b64 = (s: string) =>
    BigInt("0x" + Uint8Array.fromBase64(s, { alphabet: "base64url" }).toHex());
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { modulus: b64(jwk.n!), exponent: b64(jwk.e!), pkcs8 };
}

async function opensslDecrypt(pkcs8: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/key.der`, pkcs8);
    await Deno.writeFile(`${dir}/ct.bin`, ciphertext);
    const out = await new Deno.Command("openssl", {
      args: [
        "pkeyutl",
        "-decrypt",
        "-keyform",
        "DER",
        "-inkey",
        `${dir}/key.der`,
        "-in",
        `${dir}/ct.bin`,
        "-pkeyopt",
        "rsa_padding_mode:pkcs1",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("rsaesPkcs1v15Encrypt: openssl decrypts a premaster (2048-bit key)", async () => {
  const key = await rsaKeyPair(2048);
  const premaster = crypto.getRandomValues(new Uint8Array(48));
  premaster.set([3, 3]);
  const ct = rsaesPkcs1v15Encrypt(key, premaster, (n) => crypto.getRandomValues(new Uint8Array(n)));
  assert.equal(ct.length, 256);
  assert.deepEqual(await opensslDecrypt(key.pkcs8, ct), premaster);
});

Deno.test("rsaesPkcs1v15Encrypt: padding bytes are never zero even from a zero-heavy source", async () => {
  const key = await rsaKeyPair(1024);
  let calls = 0;
  // A generator that gives mostly zeros forces the resampling path.
  const stingy = (n: number) => {
    calls++;
    const b = new Uint8Array(n);
    b[0] = 0x5a;
    return b;
  };
  const msg = new Uint8Array([1, 2, 3]);
  const ct = rsaesPkcs1v15Encrypt(key, msg, stingy);
  assert.ok(calls > 1);
  assert.deepEqual(await opensslDecrypt(key.pkcs8, ct), msg);
});

Deno.test("rsaesPkcs1v15Encrypt: rejects a too-long message and a tiny key", () => {
  const key = { modulus: (1n << 1023n) + 12345n, exponent: 65537n };
  const rnd = (n: number) => new Uint8Array(n).fill(1);
  assert.throws(() => rsaesPkcs1v15Encrypt(key, new Uint8Array(118), rnd), RangeError);
  assert.throws(
    () => rsaesPkcs1v15Encrypt({ modulus: 3233n, exponent: 17n }, new Uint8Array(1), rnd),
    RangeError,
  );
});
