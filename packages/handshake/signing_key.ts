/**
 * A client's private signing key in WebCrypto, loaded from PEM or PKCS#8 DER, signing with the
 * TLS signature schemes its type allows.
 *
 * @module
 */

import { concatBytes } from "@anchortls/record";
import { SignatureScheme } from "./signature_scheme.ts";

type Algorithm = {
  readonly key: CryptoKey;
  readonly params: AlgorithmIdentifier | EcdsaParams | RsaPssParams;
};

/**
 * A private key that never leaves WebCrypto (imported non-extractable), with the signature
 * schemes it can make.
 */
export class SigningKey {
  readonly #byScheme: Map<number, Algorithm>;
  readonly #ecdsaSize: number;

  private constructor(byScheme: Map<number, Algorithm>, ecdsaSize: number) {
    this.#byScheme = byScheme;
    this.#ecdsaSize = ecdsaSize;
  }

  /**
   * Imports a private key: a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1) block, or
   * PKCS#8 DER. RSA keys sign with RSA-PSS (RSAE) and PKCS#1 v1.5 over SHA-256/384/512; P-256
   * and P-384 keys with ECDSA over their matching hash.
   *
   * @example
   * ```ts ignore
   * import { SigningKey } from "@anchortls/handshake";
   * const key = await SigningKey.import(await Deno.readTextFile("client.key"));
   * key.schemes; // [0x0804, 0x0401, ...] for RSA
   * ```
   *
   * @param key PEM text or PKCS#8 DER.
   * @returns The key.
   */
  static async import(key: string | Uint8Array): Promise<SigningKey> {
    const pkcs8 = typeof key === "string" ? pkcs8FromPem(key) : key;
    const rsa = await rsaSchemes(pkcs8);
    if (rsa) return new SigningKey(rsa, 0);
    for (
      const [curve, scheme, hash, size] of [
        ["P-256", SignatureScheme.ecdsa_secp256r1_sha256, "SHA-256", 32],
        ["P-384", SignatureScheme.ecdsa_secp384r1_sha384, "SHA-384", 48],
      ] as const
    ) {
      const ec = await tryImport(pkcs8, { name: "ECDSA", namedCurve: curve });
      if (ec) {
        return new SigningKey(
          new Map([[scheme, { key: ec, params: { name: "ECDSA", hash } }]]),
          size,
        );
      }
    }
    throw new TypeError("private key is neither RSA nor ECDSA P-256/P-384 in PKCS#8 or PKCS#1");
  }

  /** The schemes this key signs with, preferred first. */
  get schemes(): number[] {
    return [...this.#byScheme.keys()];
  }

  /**
   * Signs `data` (hashed by the scheme's hash).
   *
   * @param scheme One of {@linkcode SigningKey.schemes}.
   * @param data The message.
   * @returns The signature in TLS form (DER for ECDSA).
   */
  async sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    const alg = this.#byScheme.get(scheme);
    if (!alg) throw new RangeError(`key cannot sign with scheme 0x${scheme.toString(16)}`);
    const sig = new Uint8Array(await crypto.subtle.sign(alg.params, alg.key, data as BufferSource));
    return this.#ecdsaSize ? ecdsaRawToDer(sig, this.#ecdsaSize) : sig;
  }

  /**
   * Describes the key without revealing it.
   *
   * @returns A redacted description.
   */
  toString(): string {
    return `SigningKey(${this.schemes.length} schemes, private)`;
  }

  /**
   * Serialises the key as its redacted description.
   *
   * @returns A redacted description.
   */
  toJSON(): string {
    return this.toString();
  }

  /**
   * Shows the redacted description in `console.log` and `Deno.inspect`.
   *
   * @returns A redacted description.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

async function rsaSchemes(pkcs8: Uint8Array): Promise<Map<number, Algorithm> | undefined> {
  const out = new Map<number, Algorithm>();
  for (
    const [bits, pss, pkcs1] of [
      [256, SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pkcs1_sha256],
      [384, SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pkcs1_sha384],
      [512, SignatureScheme.rsa_pss_rsae_sha512, SignatureScheme.rsa_pkcs1_sha512],
    ] as const
  ) {
    const hash = `SHA-${bits}`;
    const pssKey = await tryImport(pkcs8, { name: "RSA-PSS", hash });
    const pkcs1Key = await tryImport(pkcs8, { name: "RSASSA-PKCS1-v1_5", hash });
    if (!pssKey || !pkcs1Key) return undefined;
    out.set(pss, { key: pssKey, params: { name: "RSA-PSS", saltLength: bits / 8 } });
    out.set(pkcs1, { key: pkcs1Key, params: { name: "RSASSA-PKCS1-v1_5" } });
  }
  return out;
}

async function tryImport(
  pkcs8: Uint8Array,
  algorithm: RsaHashedImportParams | EcKeyImportParams,
): Promise<CryptoKey | undefined> {
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, algorithm, false, [
      "sign",
    ]);
  } catch {
    return undefined;
  }
}

function pkcs8FromPem(pem: string): Uint8Array {
  const block = /-----BEGIN (RSA )?PRIVATE KEY-----([\s\S]*?)-----END \1?PRIVATE KEY-----/.exec(
    pem,
  );
  if (!block) throw new TypeError("no PRIVATE KEY or RSA PRIVATE KEY block in PEM text");
  const der = Uint8Array.fromBase64(block[2]!.replace(/\s+/g, ""));
  return block[1] ? wrapPkcs1(der) : der;
}

// PrivateKeyInfo { version 0, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING pkcs1 }
function wrapPkcs1(pkcs1: Uint8Array): Uint8Array {
  const version = Uint8Array.of(0x02, 0x01, 0x00);
  const algorithm = Uint8Array.fromHex("300d06092a864886f70d0101010500");
  return der(0x30, concatBytes([version, algorithm, der(0x04, pkcs1)]));
}

function der(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len = n < 0x80
    ? Uint8Array.of(n)
    : n < 0x100
    ? Uint8Array.of(0x81, n)
    : n < 0x10000
    ? Uint8Array.of(0x82, n >> 8, n & 0xff)
    : Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  return concatBytes([Uint8Array.of(tag), len, body]);
}

function derInteger(raw: Uint8Array): Uint8Array {
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0) i++;
  const trimmed = raw.subarray(i);
  return der(0x02, trimmed[0]! & 0x80 ? concatBytes([Uint8Array.of(0), trimmed]) : trimmed);
}

function ecdsaRawToDer(raw: Uint8Array, size: number): Uint8Array {
  return der(
    0x30,
    concatBytes([derInteger(raw.subarray(0, size)), derInteger(raw.subarray(size))]),
  );
}
