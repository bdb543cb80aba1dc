/**
 * The four TLS 1.2 CBC-HMAC cipher suites the record layer protects (RFC 5246 Appendix A.5,
 * C), as plain data the handshake and the protector both read.
 *
 * @module
 */

/** The parameters of one CBC-HMAC cipher suite that the record layer needs. */
export interface CipherSuite {
  /** The two-byte suite code point, as a number (0x002F …). */
  readonly id: number;
  /** The IANA name. */
  readonly name: string;
  /** AES key length in bytes. */
  readonly encKeyLength: 16 | 32;
  /** HMAC key length in bytes (the hash output length, RFC 5246 §6.3). */
  readonly macKeyLength: 20 | 32;
  /** The HMAC hash. */
  readonly macAlgorithm: "sha1" | "sha256";
  /** HMAC output length in bytes. */
  readonly macLength: 20 | 32;
  /** AES block length in bytes. */
  readonly blockLength: 16;
  /** Length of the explicit per-record IV (RFC 5246 §6.2.3.2). */
  readonly recordIvLength: 16;
}

function suite(
  id: number,
  name: string,
  encKeyLength: 16 | 32,
  macAlgorithm: "sha1" | "sha256",
): CipherSuite {
  const macLength = macAlgorithm === "sha1" ? 20 : 32;
  return Object.freeze({
    id,
    name,
    encKeyLength,
    macKeyLength: macLength,
    macAlgorithm,
    macLength,
    blockLength: 16,
    recordIvLength: 16,
  });
}

/**
 * The supported suites by name.
 *
 * @example Reading a suite's key lengths
 * ```ts
 * import { CipherSuites } from "@anchortls/record";
 * CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256.macKeyLength; // 32
 * ```
 */
export const CipherSuites: {
  readonly TLS_RSA_WITH_AES_128_CBC_SHA: CipherSuite;
  readonly TLS_RSA_WITH_AES_256_CBC_SHA: CipherSuite;
  readonly TLS_RSA_WITH_AES_128_CBC_SHA256: CipherSuite;
  readonly TLS_RSA_WITH_AES_256_CBC_SHA256: CipherSuite;
} = Object.freeze({
  TLS_RSA_WITH_AES_128_CBC_SHA: suite(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", 16, "sha1"),
  TLS_RSA_WITH_AES_256_CBC_SHA: suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 32, "sha1"),
  TLS_RSA_WITH_AES_128_CBC_SHA256: suite(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", 16, "sha256"),
  TLS_RSA_WITH_AES_256_CBC_SHA256: suite(0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", 32, "sha256"),
});

const suitesById: ReadonlyMap<number, CipherSuite> = new Map(
  Object.values(CipherSuites).map((s) => [s.id, s]),
);

/**
 * Looks a suite up by its code point.
 *
 * @example Finding the suite a ServerHello chose
 * ```ts
 * import { cipherSuiteById } from "@anchortls/record";
 * cipherSuiteById(0x002f)?.name; // "TLS_RSA_WITH_AES_128_CBC_SHA"
 * cipherSuiteById(0xc02f); // undefined
 * ```
 *
 * @param id The two-byte code point.
 * @returns The suite, or `undefined` when we do not support it.
 */
export function cipherSuiteById(id: number): CipherSuite | undefined {
  return suitesById.get(id);
}
