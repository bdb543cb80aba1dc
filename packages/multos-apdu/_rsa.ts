/**
 * The emulator's RSA private-key operations: the CRT, PKCS#1 v1.5 and PSS signing, and the
 * recovery of a signed DigestInfo. They stand on x509's integer primitives; only the chip has
 * private keys, so nothing else needs this code. Signatures made here are checked by WebCrypto
 * and OpenSSL in the tests, which encode and check the padding on their own.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import {
  bigIntByteLength,
  bigIntToBytes,
  bytesToBigInt,
  mgf1,
  modPow,
  type RsaPublicNumbers,
  rsaPublicOperation,
} from "@anchortls/x509";

/** An RSA private key with its CRT numbers (RFC 8017 §3.2), as JWK names them. */
export interface RsaPrivateNumbers {
  /** Modulus. */
  readonly n: bigint;
  /** Public exponent. */
  readonly e: bigint;
  /** Private exponent. */
  readonly d: bigint;
  /** First prime factor. */
  readonly p: bigint;
  /** Second prime factor. */
  readonly q: bigint;
  /** d mod (p − 1). */
  readonly dp: bigint;
  /** d mod (q − 1). */
  readonly dq: bigint;
  /** q⁻¹ mod p. */
  readonly qi: bigint;
}

/** c^d mod n through the CRT (Garner), with the result checked against the public key. */
function rsaPrivate(key: RsaPrivateNumbers, input: Uint8Array): Uint8Array {
  const k = bigIntByteLength(key.n);
  const c = bytesToBigInt(input);
  if (c >= key.n) throw new RangeError("input not below the modulus");
  const m1 = modPow(c, key.dp, key.p);
  const m2 = modPow(c, key.dq, key.q);
  const h = (key.qi * ((m1 - m2) % key.p + key.p)) % key.p;
  const m = m2 + h * key.q;
  // A CRT fault would leak a factor of n in the signature (Boneh-DeMillo-Lipton).
  if (modPow(m, key.e, key.n) !== c) throw new Error("RSA CRT self-check failed");
  return bigIntToBytes(m, k);
}

/** EMSA-PKCS1-v1_5 block type 1 around `digestInfo`, then the private operation. */
export function pkcs1Sign(key: RsaPrivateNumbers, digestInfo: Uint8Array): Uint8Array {
  const k = bigIntByteLength(key.n);
  if (digestInfo.length > k - 11) throw new RangeError("DigestInfo too long for the key");
  const em = new Uint8Array(k).fill(0xff);
  em[0] = 0;
  em[1] = 1;
  em[k - digestInfo.length - 1] = 0;
  em.set(digestInfo, k - digestInfo.length);
  return rsaPrivate(key, em);
}

/** The public operation and a type 1 padding check; returns the DigestInfo, or undefined. */
export function pkcs1Recover(key: RsaPublicNumbers, signature: Uint8Array): Uint8Array | undefined {
  const k = bigIntByteLength(key.modulus);
  if (signature.length !== k) return undefined;
  const em = rsaPublicOperation(key, signature);
  if (!em) return undefined;
  if (em[0] !== 0 || em[1] !== 1) return undefined;
  let i = 2;
  while (i < k && em[i] === 0xff) i++;
  if (i < 10 || i >= k || em[i] !== 0) return undefined;
  return em.slice(i + 1);
}

const b64url = (s: string | undefined): bigint => {
  if (s === undefined) throw new TypeError("RSA JWK lacks a field");
  return bytesToBigInt(Uint8Array.fromBase64(s, { alphabet: "base64url" }));
};

/** Reads a PKCS#8 RSA private key through WebCrypto's JWK export. */
export async function importPkcs8Rsa(pkcs8: Uint8Array): Promise<RsaPrivateNumbers> {
  const key = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as BufferSource,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return {
    n: b64url(jwk.n),
    e: b64url(jwk.e),
    d: b64url(jwk.d),
    p: b64url(jwk.p),
    q: b64url(jwk.q),
    dp: b64url(jwk.dp),
    dq: b64url(jwk.dq),
    qi: b64url(jwk.qi),
  };
}

/**
 * EMSA-PSS encoding (RFC 8017 §9.1.1) of a SHA-256 digest with MGF1-SHA-256 and a 32-byte
 * salt, then the private operation.
 */
export function pssSign(
  key: RsaPrivateNumbers,
  digest: Uint8Array,
  random: (n: number) => Uint8Array,
): Uint8Array {
  const hLen = 32;
  const emBits = key.n.toString(2).length - 1;
  const emLen = Math.ceil(emBits / 8);
  if (digest.length !== hLen || emLen < 2 * hLen + 2) {
    throw new RangeError("PSS input or key too short");
  }
  const salt = random(hLen);
  const mPrime = new Uint8Array(8 + 2 * hLen);
  mPrime.set(digest, 8);
  mPrime.set(salt, 8 + hLen);
  const h = sha256(mPrime);
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - hLen - 1] = 1;
  db.set(salt, db.length - hLen);
  const mask = mgf1(sha256, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const em = new Uint8Array(emLen + 1);
  em.set(db, 1);
  em.set(h, 1 + db.length);
  em[emLen] = 0xbc;
  return rsaPrivate(key, emLen === bigIntByteLength(key.n) ? em.subarray(1) : em);
}
