/**
 * One direction's record protector for a negotiated suite, from the keys the key block gives
 * it: the providers that hold keys on the host and the test servers all build protectors here.
 *
 * @module
 */

import { AeadProtector } from "./aead_protector.ts";
import { CbcHmacProtector } from "./cbc_hmac.ts";
import type { CipherSuite } from "./cipher_suite.ts";
import type { RecordProtector } from "./protector.ts";

/** One direction's share of the key block. */
export interface DirectionKeys {
  /** The cipher key. */
  readonly encKey: Uint8Array;
  /** The HMAC key of a CBC suite; empty for an AEAD suite. */
  readonly macKey: Uint8Array;
  /** The fixed IV of an AEAD suite; empty for a CBC suite. */
  readonly iv: Uint8Array;
}

/** How the protector runs. */
export interface SuiteProtectorOptions {
  /** CBC suites only: whether encrypt_then_mac (RFC 7366) was negotiated. */
  readonly encryptThenMac: boolean;
  /**
   * CBC suites only: the source of explicit IVs, for byte-for-byte tests.
   * @default {a pooled `crypto.getRandomValues` buffer}
   */
  readonly random?: (n: number) => Uint8Array;
}

/**
 * Builds the protector a suite's records take: {@linkcode CbcHmacProtector} or
 * {@linkcode AeadProtector}. The keys are copied; the caller wipes its own.
 *
 * @example An AES-128-GCM protector
 * ```ts
 * import { CipherSuites, protectorForSuite } from "@anchortls/record";
 * const p = protectorForSuite(CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, {
 *   encKey: new Uint8Array(16),
 *   macKey: new Uint8Array(0),
 *   iv: new Uint8Array(4),
 * }, { encryptThenMac: false });
 * p.maxExpansion; // 24
 * ```
 *
 * @param suite The negotiated suite.
 * @param keys This direction's keys.
 * @param options Encrypt-then-MAC and the IV source (CBC).
 * @returns The protector.
 * @throws {RangeError} When a key does not fit the suite.
 */
export function protectorForSuite(
  suite: CipherSuite,
  keys: DirectionKeys,
  options: SuiteProtectorOptions,
): RecordProtector {
  if (suite.kind === "aead") {
    if (keys.encKey.length !== suite.encKeyLength) {
      throw new RangeError(`${suite.name} needs a ${suite.encKeyLength}-byte key`);
    }
    return new AeadProtector({ algorithm: suite.aead, key: keys.encKey, iv: keys.iv });
  }
  return new CbcHmacProtector({
    suite,
    encryptThenMac: options.encryptThenMac,
    encKey: keys.encKey,
    macKey: keys.macKey,
    ...(options.random ? { random: options.random } : {}),
  });
}
