/**
 * The TLS 1.2 cipher suites anchortls speaks, as plain data the handshake, the providers and the
 * protectors all read: RSA key transport and ECDHE (RFC 8422) key agreement, with AES-CBC and
 * HMAC (RFC 5246 Appendix A.5, RFC 5289) or an AEAD — AES-GCM (RFC 5288, RFC 5289), AES-CCM
 * and CCM_8 (RFC 7251) and ChaCha20-Poly1305 (RFC 7905); and pre-shared keys (RFC 4279, 5487,
 * 5489, 6655), plain or with ECDHE, in {@linkcode PskCipherSuites}.
 *
 * @module
 */

import type { AeadAlgorithm } from "./aead_engine.ts";

/**
 * How the premaster secret is agreed: RSA key transport (RFC 5246 §7.4.7.1), an ephemeral
 * ECDH share signed by the server's RSA or ECDSA key (RFC 8422 §2), a pre-shared key (RFC
 * 4279 §2), or an unsigned ECDH share mixed with a pre-shared key (RFC 5489 §2).
 */
export type KeyExchange = "rsa" | "ecdhe_rsa" | "ecdhe_ecdsa" | "psk" | "ecdhe_psk";

/** The hash of the suite's PRF (RFC 5246 §5): SHA-384 for the `_SHA384` suites, else SHA-256. */
export type PrfHash = "sha256" | "sha384";

/** What every suite has, whatever protects its records. */
export interface CipherSuiteCommon {
  /** The two-byte suite code point, as a number (0x002F …). */
  readonly id: number;
  /** The IANA name. */
  readonly name: string;
  /** How the premaster secret is agreed. */
  readonly keyExchange: KeyExchange;
  /** The PRF's hash, which is also the transcript hash for Finished and EMS. */
  readonly prfHash: PrfHash;
  /** Cipher key length in bytes (AES-128, AES-256, ChaCha20). */
  readonly encKeyLength: 16 | 32;
}

/** A suite whose records are AES-CBC with HMAC (MAC-then-encrypt, or Encrypt-then-MAC). */
export interface CbcCipherSuite extends CipherSuiteCommon {
  /** The record protection mode. */
  readonly kind: "cbc";
  /** HMAC key length in bytes (the hash output length, RFC 5246 §6.3). */
  readonly macKeyLength: 20 | 32 | 48;
  /** The HMAC hash. */
  readonly macAlgorithm: "sha1" | "sha256" | "sha384";
  /** HMAC output length in bytes. */
  readonly macLength: 20 | 32 | 48;
  /** AES block length in bytes. */
  readonly blockLength: 16;
  /** Length of the explicit per-record IV (RFC 5246 §6.2.3.2). */
  readonly recordIvLength: 16;
}

/** A suite whose records are sealed with an AEAD (RFC 5246 §6.2.3.3). */
export interface AeadCipherSuite extends CipherSuiteCommon {
  /** The record protection mode. */
  readonly kind: "aead";
  /** The AEAD. */
  readonly aead: AeadAlgorithm;
  /**
   * The implicit IV taken from the key block: the 4-byte salt of GCM and CCM (RFC 5288 §3),
   * the 12-byte IV of ChaCha20-Poly1305 (RFC 7905 §2).
   */
  readonly fixedIvLength: 4 | 12;
  /** The explicit nonce every record carries: 8 bytes for GCM and CCM, none for ChaCha20. */
  readonly recordIvLength: 0 | 8;
  /** The authentication tag: 16 bytes, 8 for CCM_8. */
  readonly tagLength: 8 | 16;
}

/** The parameters of one cipher suite. */
export type CipherSuite = CbcCipherSuite | AeadCipherSuite;

const macLengths = { sha1: 20, sha256: 32, sha384: 48 } as const;

function cbc(
  id: number,
  name: string,
  keyExchange: KeyExchange,
  encKeyLength: 16 | 32,
  macAlgorithm: "sha1" | "sha256" | "sha384",
): CbcCipherSuite {
  const macLength = macLengths[macAlgorithm];
  return Object.freeze({
    kind: "cbc",
    id,
    name,
    keyExchange,
    // SHA-1 and SHA-256 suites run the TLS 1.2 PRF with SHA-256 (RFC 5246 §5, RFC 5289 §3.2).
    prfHash: macAlgorithm === "sha384" ? "sha384" : "sha256",
    encKeyLength,
    macKeyLength: macLength,
    macAlgorithm,
    macLength,
    blockLength: 16,
    recordIvLength: 16,
  });
}

function aead(
  id: number,
  name: string,
  keyExchange: KeyExchange,
  algorithm: AeadAlgorithm,
  encKeyLength: 16 | 32,
  prfHash: PrfHash,
): AeadCipherSuite {
  const chacha = algorithm === "chacha20-poly1305";
  return Object.freeze({
    kind: "aead",
    id,
    name,
    keyExchange,
    prfHash,
    encKeyLength,
    aead: algorithm,
    fixedIvLength: chacha ? 12 : 4,
    recordIvLength: chacha ? 0 : 8,
    tagLength: algorithm === "aes-ccm-8" ? 8 : 16,
  });
}

/** The names of the CBC-HMAC suites in {@linkcode CipherSuites}. */
export type CbcCipherSuiteName =
  | "TLS_RSA_WITH_AES_128_CBC_SHA"
  | "TLS_RSA_WITH_AES_256_CBC_SHA"
  | "TLS_RSA_WITH_AES_128_CBC_SHA256"
  | "TLS_RSA_WITH_AES_256_CBC_SHA256"
  | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
  | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
  | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
  | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
  | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
  | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"
  | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"
  | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";

/** The names of the AEAD suites in {@linkcode CipherSuites}. */
export type AeadCipherSuiteName =
  | "TLS_RSA_WITH_AES_128_GCM_SHA256"
  | "TLS_RSA_WITH_AES_256_GCM_SHA384"
  | "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
  | "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
  | "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  | "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
  | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
  | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
  | "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"
  | "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8";

/** Every suite's name. */
export type CipherSuiteName = CbcCipherSuiteName | AeadCipherSuiteName;

/**
 * The supported suites by name.
 *
 * @example Reading a suite's parameters
 * ```ts
 * import { CipherSuites } from "@anchortls/record";
 * CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256.macKeyLength; // 32
 * CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.prfHash; // "sha384"
 * ```
 */
export const CipherSuites:
  & { readonly [Name in CbcCipherSuiteName]: CbcCipherSuite }
  & { readonly [Name in AeadCipherSuiteName]: AeadCipherSuite } = Object.freeze({
    TLS_RSA_WITH_AES_128_CBC_SHA: cbc(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "rsa", 16, "sha1"),
    TLS_RSA_WITH_AES_256_CBC_SHA: cbc(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "rsa", 32, "sha1"),
    TLS_RSA_WITH_AES_128_CBC_SHA256: cbc(
      0x003c,
      "TLS_RSA_WITH_AES_128_CBC_SHA256",
      "rsa",
      16,
      "sha256",
    ),
    TLS_RSA_WITH_AES_256_CBC_SHA256: cbc(
      0x003d,
      "TLS_RSA_WITH_AES_256_CBC_SHA256",
      "rsa",
      32,
      "sha256",
    ),
    TLS_RSA_WITH_AES_128_GCM_SHA256: aead(
      0x009c,
      "TLS_RSA_WITH_AES_128_GCM_SHA256",
      "rsa",
      "aes-gcm",
      16,
      "sha256",
    ),
    TLS_RSA_WITH_AES_256_GCM_SHA384: aead(
      0x009d,
      "TLS_RSA_WITH_AES_256_GCM_SHA384",
      "rsa",
      "aes-gcm",
      32,
      "sha384",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: cbc(
      0xc009,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
      "ecdhe_ecdsa",
      16,
      "sha1",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: cbc(
      0xc00a,
      "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
      "ecdhe_ecdsa",
      32,
      "sha1",
    ),
    TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: cbc(
      0xc013,
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
      "ecdhe_rsa",
      16,
      "sha1",
    ),
    TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: cbc(
      0xc014,
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
      "ecdhe_rsa",
      32,
      "sha1",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: cbc(
      0xc023,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
      "ecdhe_ecdsa",
      16,
      "sha256",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: cbc(
      0xc024,
      "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
      "ecdhe_ecdsa",
      32,
      "sha384",
    ),
    TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: cbc(
      0xc027,
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
      "ecdhe_rsa",
      16,
      "sha256",
    ),
    TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: cbc(
      0xc028,
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
      "ecdhe_rsa",
      32,
      "sha384",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: aead(
      0xc02b,
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "ecdhe_ecdsa",
      "aes-gcm",
      16,
      "sha256",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: aead(
      0xc02c,
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "ecdhe_ecdsa",
      "aes-gcm",
      32,
      "sha384",
    ),
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: aead(
      0xc02f,
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "ecdhe_rsa",
      "aes-gcm",
      16,
      "sha256",
    ),
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: aead(
      0xc030,
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "ecdhe_rsa",
      "aes-gcm",
      32,
      "sha384",
    ),
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: aead(
      0xcca8,
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
      "ecdhe_rsa",
      "chacha20-poly1305",
      32,
      "sha256",
    ),
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: aead(
      0xcca9,
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "ecdhe_ecdsa",
      "chacha20-poly1305",
      32,
      "sha256",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM: aead(
      0xc0ac,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
      "ecdhe_ecdsa",
      "aes-ccm",
      16,
      "sha256",
    ),
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8: aead(
      0xc0ae,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
      "ecdhe_ecdsa",
      "aes-ccm-8",
      16,
      "sha256",
    ),
  });

/** The names of the pre-shared-key suites in {@linkcode PskCipherSuites}. */
export type PskCipherSuiteName =
  | "TLS_PSK_WITH_AES_128_CCM_8"
  | "TLS_PSK_WITH_AES_128_GCM_SHA256"
  | "TLS_PSK_WITH_AES_128_CBC_SHA256"
  | "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256";

/**
 * The pre-shared-key suites, apart from {@linkcode CipherSuites} because they are offered only
 * when a PSK is configured: CoAP's mandatory TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655, RFC 7925),
 * AES-GCM (RFC 5487), AES-CBC with SHA-256 (RFC 5487) and, with forward secrecy, ECDHE_PSK
 * (RFC 5489).
 *
 * @example
 * ```ts
 * import { PskCipherSuites } from "@anchortls/record";
 * PskCipherSuites.TLS_PSK_WITH_AES_128_CCM_8.tagLength; // 8
 * ```
 */
export const PskCipherSuites:
  & { readonly TLS_PSK_WITH_AES_128_CCM_8: AeadCipherSuite }
  & { readonly TLS_PSK_WITH_AES_128_GCM_SHA256: AeadCipherSuite }
  & { readonly TLS_PSK_WITH_AES_128_CBC_SHA256: CbcCipherSuite }
  & { readonly TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256: CbcCipherSuite } = Object.freeze({
    TLS_PSK_WITH_AES_128_CCM_8: aead(
      0xc0a8,
      "TLS_PSK_WITH_AES_128_CCM_8",
      "psk",
      "aes-ccm-8",
      16,
      "sha256",
    ),
    TLS_PSK_WITH_AES_128_GCM_SHA256: aead(
      0x00a8,
      "TLS_PSK_WITH_AES_128_GCM_SHA256",
      "psk",
      "aes-gcm",
      16,
      "sha256",
    ),
    TLS_PSK_WITH_AES_128_CBC_SHA256: cbc(
      0x00ae,
      "TLS_PSK_WITH_AES_128_CBC_SHA256",
      "psk",
      16,
      "sha256",
    ),
    TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256: cbc(
      0xc037,
      "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
      "ecdhe_psk",
      16,
      "sha256",
    ),
  });

const suitesById: ReadonlyMap<number, CipherSuite> = new Map(
  [...Object.values(CipherSuites), ...Object.values(PskCipherSuites)].map((s) => [s.id, s]),
);

/**
 * Looks a suite up by its code point.
 *
 * @example Finding the suite a ServerHello chose
 * ```ts
 * import { cipherSuiteById } from "@anchortls/record";
 * cipherSuiteById(0x002f)?.name; // "TLS_RSA_WITH_AES_128_CBC_SHA"
 * cipherSuiteById(0xc02f)?.name; // "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
 * cipherSuiteById(0x0005); // undefined (RC4)
 * ```
 *
 * @param id The two-byte code point.
 * @returns The suite, or `undefined` when we do not support it.
 */
export function cipherSuiteById(id: number): CipherSuite | undefined {
  return suitesById.get(id);
}

/**
 * Every suite's OpenSSL name (`openssl ciphers -stdname`), by IANA name: what `-cipher` lists
 * and `s_server` prints, and what a user coming from OpenSSL types.
 */
export const OPENSSL_CIPHER_NAMES: Readonly<
  Record<CipherSuiteName | PskCipherSuiteName, string>
> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_RSA_WITH_AES_256_CBC_SHA256: "AES256-SHA256",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: "ECDHE-ECDSA-AES256-SHA384",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: "ECDHE-RSA-AES256-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_AES_128_CCM: "ECDHE-ECDSA-AES128-CCM",
  TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8: "ECDHE-ECDSA-AES128-CCM8",
  TLS_PSK_WITH_AES_128_CCM_8: "PSK-AES128-CCM8",
  TLS_PSK_WITH_AES_128_GCM_SHA256: "PSK-AES128-GCM-SHA256",
  TLS_PSK_WITH_AES_128_CBC_SHA256: "PSK-AES128-CBC-SHA256",
  TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256: "ECDHE-PSK-AES128-CBC-SHA256",
};

const suitesByName = new Map<string, CipherSuite>(
  [...Object.values(CipherSuites), ...Object.values(PskCipherSuites)].flatMap((s) => [
    [s.name, s],
    [OPENSSL_CIPHER_NAMES[s.name as CipherSuiteName | PskCipherSuiteName], s],
  ]),
);

/**
 * Looks a suite up by its IANA or OpenSSL name, in any case.
 *
 * @example
 * ```ts
 * import { cipherSuiteByName } from "@anchortls/record";
 * cipherSuiteByName("ECDHE-ECDSA-AES128-CCM8")?.id; // 0xc0ae
 * cipherSuiteByName("tls_rsa_with_aes_128_cbc_sha256")?.id; // 0x003c
 * ```
 *
 * @param name e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` or `ECDHE-ECDSA-AES128-GCM-SHA256`.
 * @returns The suite, or `undefined` when we do not support it.
 */
export function cipherSuiteByName(name: string): CipherSuite | undefined {
  return suitesByName.get(name.toUpperCase());
}
