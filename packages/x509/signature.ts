/**
 * Signature verification: RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017) with BigInt, ECDSA
 * P-256/P-384 through WebCrypto. This is the one place signatures are checked.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { HashName, SignatureAlgorithm } from "./algorithm.ts";
import { DerError, DerReader } from "./der.ts";
import { bytesEqual } from "./name.ts";
import type { PublicKeyInfo } from "./public_key.ts";
import { rsaPublicOperation } from "./rsa.ts";

/** A hash function with its output length in bytes, as `@noble/hashes` exports them. */
export type HashFunction = ((data: Uint8Array) => Uint8Array) & { readonly outputLen: number };

const hashFns: Record<HashName, HashFunction> = {
  "SHA-1": sha1,
  "SHA-256": sha256,
  "SHA-384": sha384,
  "SHA-512": sha512,
};

/** DER of DigestInfo up to the digest bytes (RFC 8017 §9.2, note 1). */
const digestInfoPrefix: Record<HashName, Uint8Array> = {
  "SHA-1": Uint8Array.fromHex("3021300906052b0e03021a05000414"),
  "SHA-256": Uint8Array.fromHex("3031300d060960864801650304020105000420"),
  "SHA-384": Uint8Array.fromHex("3041300d060960864801650304020205000430"),
  "SHA-512": Uint8Array.fromHex("3051300d060960864801650304020305000440"),
};

/**
 * Largest RSA modulus accepted, in bits. A peer-chosen modulus and exponent set the cost of
 * `s^e mod n`; these bounds keep one verification in the milliseconds.
 */
export const MAX_RSA_BITS = 8192;

/**
 * True when an RSA key is small enough to use: modulus at most {@linkcode MAX_RSA_BITS} bits
 * and public exponent below 2^32.
 *
 * @param key The RSA key.
 * @returns Whether the key is within bounds.
 */
export function rsaKeyInBounds(key: { bits: number; exponent: bigint }): boolean {
  return key.bits <= MAX_RSA_BITS && key.exponent < 1n << 32n;
}

/**
 * The RSA public operation RSAVP1 (RFC 8017 §5.2.2) with its input checks: the signature is
 * exactly k bytes and, as an integer, below the modulus.
 */
function rsaVerifyPrimitive(
  key: { modulus: bigint; exponent: bigint; bits: number },
  signature: Uint8Array,
): Uint8Array | undefined {
  if (!rsaKeyInBounds(key) || signature.length !== Math.ceil(key.bits / 8)) return undefined;
  return rsaPublicOperation(key, signature);
}

/**
 * EMSA-PKCS1-v1_5 (RFC 8017 §9.2): the whole expected block 00 01 FF… 00 DigestInfo, built
 * here and compared byte for byte, so no DigestInfo parser is ever trusted.
 *
 * @param hash The hash.
 * @param message The signed message.
 * @param k Modulus length in bytes.
 * @returns The expected encoded message, or undefined when k is too small.
 */
export function pkcs1Encoding(
  hash: HashName,
  message: Uint8Array,
  k: number,
): Uint8Array | undefined {
  const prefix = digestInfoPrefix[hash];
  const digest = hashFns[hash](message);
  const tLen = prefix.length + digest.length;
  if (k < tLen + 11) return undefined;
  const em = new Uint8Array(k).fill(0xff);
  em[0] = 0x00;
  em[1] = 0x01;
  em[k - tLen - 1] = 0x00;
  em.set(prefix, k - tLen);
  em.set(digest, k - digest.length);
  return em;
}

/**
 * MGF1, the mask generation function of RSA-PSS and RSA-OAEP (RFC 8017 §B.2.1): the hash of
 * seed ‖ counter for counter 0, 1, …, concatenated and cut to `length`.
 *
 * @example The mask of a PSS signature with SHA-256
 * ```ts
 * import { mgf1 } from "@anchortls/x509";
 * import { sha256 } from "@noble/hashes/sha2.js";
 * mgf1(sha256, new Uint8Array(32), 223).length; // 223
 * ```
 *
 * @param hash The hash, with its output length (a `@noble/hashes` hash fits).
 * @param seed The seed.
 * @param length The mask length in bytes.
 * @returns The mask.
 */
export function mgf1(hash: HashFunction, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = new Uint8Array(seed.length + 4);
  block.set(seed);
  for (let counter = 0, at = 0; at < length; counter++, at += hash.outputLen) {
    new DataView(block.buffer).setUint32(seed.length, counter);
    out.set(hash(block).subarray(0, length - at), at);
  }
  return out;
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with the salt length fixed by the algorithm parameters. */
function pssVerify(
  alg: { hash: HashName; mgfHash: HashName; saltLength: number },
  message: Uint8Array,
  em: Uint8Array,
  modBits: number,
): boolean {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // RSAVP1 gives k bytes; when emBits is a multiple of 8 the extra leading byte must be zero.
  if (em.length > emLen) {
    if (em[0] !== 0) return false;
    em = em.subarray(em.length - emLen);
  }
  const hash = hashFns[alg.hash];
  const hLen = hash.outputLen;
  const sLen = alg.saltLength;
  if (emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if (maskedDb[0]! & ~topMask) return false;
  const db = mgf1(hashFns[alg.mgfHash], h, maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= maskedDb[i]!;
  db[0]! &= topMask;
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const mPrime = new Uint8Array(8 + hLen + sLen);
  mPrime.set(hash(message), 8);
  mPrime.set(db.subarray(db.length - sLen), 8 + hLen);
  return bytesEqual(hash(mPrime), h);
}

const ecSizes = { "P-256": 32, "P-384": 48 } as const;

/**
 * Converts an ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }, RFC 3279 §2.2.3) to the
 * IEEE P1363 form r ‖ s that WebCrypto takes, strictly: DER, positive, fitting the curve.
 *
 * @param der The DER signature.
 * @param size Field size in bytes (32 for P-256, 48 for P-384).
 * @returns r ‖ s, each left-padded to `size`, or undefined when the encoding is bad.
 */
export function ecdsaDerToP1363(der: Uint8Array, size: number): Uint8Array | undefined {
  try {
    const outer = new DerReader(der);
    const seq = outer.readSequence();
    outer.expectEnd();
    const out = new Uint8Array(2 * size);
    for (const half of [0, 1]) {
      let v = seq.readIntegerBytes();
      if (v[0]! & 0x80) return undefined;
      if (v[0] === 0 && v.length > 1) v = v.subarray(1);
      if (v.length > size || (v.length === 1 && v[0] === 0)) return undefined;
      out.set(v, half * size + size - v.length);
    }
    seq.expectEnd();
    return out;
  } catch (e) {
    if (e instanceof DerError) return undefined;
    throw e;
  }
}

const ecKeys = new WeakMap<object, Promise<CryptoKey>>();

function importEcKey(key: Extract<PublicKeyInfo, { kind: "ec" }>): Promise<CryptoKey> {
  let imported = ecKeys.get(key);
  if (!imported) {
    imported = crypto.subtle.importKey(
      "spki",
      key.spki as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: key.curve },
      false,
      ["verify"],
    );
    ecKeys.set(key, imported);
  }
  return imported;
}

/**
 * Verifies a signature. Returns false, never throws, for a wrong signature, a key that does
 * not fit the algorithm, an RSA key outside {@linkcode rsaKeyInBounds}, or an algorithm we do
 * not support; policy (SHA-1, minimum key sizes) is the caller's.
 *
 * @example Checking a leaf's signature with its issuer's key
 * ```ts
 * import { parseCertificate, parsePem, verifySignature } from "@anchortls/x509";
 * const read = (f: string) => Deno.readTextFile(new URL(`./testdata/${f}`, import.meta.url));
 * const leaf = parseCertificate(parsePem(await read("leaf.pem"))[0]!);
 * const ca = parseCertificate(parsePem(await read("intermediate.pem"))[0]!);
 * await verifySignature(ca.publicKey, leaf.signatureAlgorithm, leaf.tbs, leaf.signature); // true
 * ```
 *
 * @param publicKey The signer's key.
 * @param algorithm The signature algorithm.
 * @param message The signed bytes.
 * @param signature The signature (for ECDSA, the DER ECDSA-Sig-Value).
 * @returns True when the signature is valid.
 */
export async function verifySignature(
  publicKey: PublicKeyInfo,
  algorithm: SignatureAlgorithm,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.kind === "rsa" && algorithm.kind === "rsa-pkcs1") {
    const em = rsaVerifyPrimitive(publicKey, signature);
    const expected = pkcs1Encoding(algorithm.hash, message, Math.ceil(publicKey.bits / 8));
    return em !== undefined && expected !== undefined && bytesEqual(em, expected);
  }
  if (publicKey.kind === "rsa" && algorithm.kind === "rsa-pss") {
    const em = rsaVerifyPrimitive(publicKey, signature);
    return em !== undefined && pssVerify(algorithm, message, em, publicKey.bits);
  }
  if (publicKey.kind === "ec" && algorithm.kind === "ecdsa") {
    const p1363 = ecdsaDerToP1363(signature, ecSizes[publicKey.curve]);
    if (!p1363) return false;
    try {
      return await crypto.subtle.verify(
        { name: "ECDSA", hash: algorithm.hash },
        await importEcKey(publicKey),
        p1363 as Uint8Array<ArrayBuffer>,
        message as Uint8Array<ArrayBuffer>,
      );
    } catch {
      // An off-curve point fails at import: that key can verify nothing.
      return false;
    }
  }
  return false;
}

/** TLS SignatureScheme codes (RFC 8446 §4.2.3) this package can verify. */
const tlsSchemes: Record<number, SignatureAlgorithm> = {
  0x0201: { kind: "rsa-pkcs1", hash: "SHA-1", oid: "1.2.840.113549.1.1.5" },
  0x0401: { kind: "rsa-pkcs1", hash: "SHA-256", oid: "1.2.840.113549.1.1.11" },
  0x0501: { kind: "rsa-pkcs1", hash: "SHA-384", oid: "1.2.840.113549.1.1.12" },
  0x0601: { kind: "rsa-pkcs1", hash: "SHA-512", oid: "1.2.840.113549.1.1.13" },
  0x0403: { kind: "ecdsa", hash: "SHA-256", oid: "1.2.840.10045.4.3.2" },
  0x0503: { kind: "ecdsa", hash: "SHA-384", oid: "1.2.840.10045.4.3.3" },
  0x0603: { kind: "ecdsa", hash: "SHA-512", oid: "1.2.840.10045.4.3.4" },
  0x0804: pss("SHA-256", 32),
  0x0805: pss("SHA-384", 48),
  0x0806: pss("SHA-512", 64),
};

function pss(hash: HashName, saltLength: number): SignatureAlgorithm {
  return { kind: "rsa-pss", hash, mgfHash: hash, saltLength, oid: "1.2.840.113549.1.1.10" };
}

/**
 * The signature algorithm for a TLS 1.2 SignatureAndHashAlgorithm / SignatureScheme code.
 *
 * @example Mapping rsa_pkcs1_sha256
 * ```ts
 * import { signatureAlgorithmForScheme } from "@anchortls/x509";
 * signatureAlgorithmForScheme(0x0401); // { kind: "rsa-pkcs1", hash: "SHA-256", ... }
 * ```
 *
 * @param scheme The 16-bit code, e.g. 0x0401 for rsa_pkcs1_sha256.
 * @returns The algorithm, or undefined when unsupported.
 */
export function signatureAlgorithmForScheme(scheme: number): SignatureAlgorithm | undefined {
  return tlsSchemes[scheme];
}
