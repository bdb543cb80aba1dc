/**
 * The TLS 1.2 key schedule (RFC 5246 §6.3, §7.4.9, §8.1; RFC 7627 §4): master secret with and
 * without the extended master secret, the key block and its split, and Finished verify_data.
 *
 * These are the software halves of the {@linkcode CryptoProvider} operations; a secure element
 * runs the same computation inside the chip.
 *
 * @module
 */

import type { PrfHash } from "@anchortls/record";
import { tls12Prf } from "./prf.ts";

/** Length of a TLS 1.2 master secret. */
export const MASTER_SECRET_LENGTH = 48;
/** Length of Finished verify_data in TLS 1.2 with the suites we speak. */
export const VERIFY_DATA_LENGTH = 12;

/**
 * What the master secret is bound to: the randoms, or the session hash when EMS is in use; and
 * the suite's PRF hash (SHA-256 when absent).
 */
export type MasterSecretContext =
  & {
    /** The negotiated suite's PRF hash. @default {"sha256"} */
    readonly prfHash?: PrfHash;
  }
  & (
    | {
      /** The classic derivation (RFC 5246 §8.1). */
      readonly extendedMasterSecret: false;
      /** ClientHello.random, 32 bytes. */
      readonly clientRandom: Uint8Array;
      /** ServerHello.random, 32 bytes. */
      readonly serverRandom: Uint8Array;
    }
    | {
      /** The extended master secret (RFC 7627 §4). */
      readonly extendedMasterSecret: true;
      /** Hash of the handshake messages up to and including ClientKeyExchange. */
      readonly sessionHash: Uint8Array;
    }
  );

/**
 * Derives the 48-byte master secret from the premaster secret.
 *
 * @example Extended master secret
 * ```ts
 * import { deriveMasterSecret } from "@anchortls/handshake";
 * const master = deriveMasterSecret(new Uint8Array(48), {
 *   extendedMasterSecret: true,
 *   sessionHash: new Uint8Array(32),
 * });
 * master.length; // 48
 * ```
 *
 * @param premaster The premaster secret.
 * @param context The randoms, or the session hash for EMS.
 * @returns The master secret.
 */
export function deriveMasterSecret(
  premaster: Uint8Array,
  context: MasterSecretContext,
): Uint8Array {
  const hash = context.prfHash ?? "sha256";
  if (context.extendedMasterSecret) {
    return tls12Prf(
      premaster,
      "extended master secret",
      context.sessionHash,
      MASTER_SECRET_LENGTH,
      hash,
    );
  }
  return tls12Prf(
    premaster,
    "master secret",
    concat(context.clientRandom, context.serverRandom),
    MASTER_SECRET_LENGTH,
    hash,
  );
}

/**
 * What a suite takes from the key block; a `CipherSuite` is one. CBC suites take MAC keys and
 * no IV (TLS 1.2 sends an explicit IV per record), AEAD suites no MAC keys and a fixed IV.
 */
export interface KeyBlockShape {
  /** MAC key length: 20 for SHA-1, 32 for SHA-256, 48 for SHA-384; none for an AEAD. */
  readonly macKeyLength?: number;
  /** Cipher key length: 16 for AES-128, 32 for AES-256 and ChaCha20. */
  readonly encKeyLength: number;
  /** Fixed IV length: 4 for GCM and CCM, 12 for ChaCha20-Poly1305; none for CBC. */
  readonly fixedIvLength?: number;
  /** The PRF's hash. @default {"sha256"} */
  readonly prfHash?: PrfHash;
}

/** The keys a suite takes from the key block, in RFC 5246 §6.3 order. */
export interface KeyBlock {
  /** Key for the MAC of records the client sends. */
  readonly clientMacKey: Uint8Array;
  /** Key for the MAC of records the server sends. */
  readonly serverMacKey: Uint8Array;
  /** Cipher key for records the client sends. */
  readonly clientEncKey: Uint8Array;
  /** Cipher key for records the server sends. */
  readonly serverEncKey: Uint8Array;
  /** Fixed IV of records the client sends (empty for CBC). */
  readonly clientIv: Uint8Array;
  /** Fixed IV of records the server sends (empty for CBC). */
  readonly serverIv: Uint8Array;
}

/**
 * Expands the master secret into the key block and splits it in RFC 5246 §6.3 order.
 *
 * @example Keys for AES_128_CBC_SHA
 * ```ts
 * import { deriveKeyBlock } from "@anchortls/handshake";
 * const keys = deriveKeyBlock(new Uint8Array(48), new Uint8Array(32), new Uint8Array(32), {
 *   macKeyLength: 20,
 *   encKeyLength: 16,
 * });
 * keys.clientMacKey.length; // 20
 * ```
 *
 * @param master The master secret.
 * @param clientRandom ClientHello.random.
 * @param serverRandom ServerHello.random.
 * @param shape The suite's key lengths.
 * @returns The four keys.
 */
export function deriveKeyBlock(
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  shape: KeyBlockShape,
): KeyBlock {
  const m = shape.macKeyLength ?? 0;
  const e = shape.encKeyLength;
  const iv = shape.fixedIvLength ?? 0;
  const block = tls12Prf(
    master,
    "key expansion",
    concat(serverRandom, clientRandom),
    2 * (m + e + iv),
    shape.prfHash ?? "sha256",
  );
  let at = 0;
  const take = (n: number): Uint8Array => block.slice(at, at += n);
  const keys = {
    clientMacKey: take(m),
    serverMacKey: take(m),
    clientEncKey: take(e),
    serverEncKey: take(e),
    clientIv: take(iv),
    serverIv: take(iv),
  };
  block.fill(0);
  return keys;
}

/** The two Finished labels (RFC 5246 §7.4.9). */
export type FinishedLabel = "client finished" | "server finished";

/**
 * Computes Finished verify_data: `PRF(master, label, Hash(handshake_messages))[0..12)`.
 *
 * @example
 * ```ts
 * import { finishedVerifyData } from "@anchortls/handshake";
 * finishedVerifyData(new Uint8Array(48), "client finished", new Uint8Array(32)).length; // 12
 * ```
 *
 * @param master The master secret.
 * @param label Whose Finished this is.
 * @param transcriptHash The PRF hash of the handshake messages before this Finished.
 * @param prfHash The suite's PRF hash. @default {"sha256"}
 * @returns The 12-byte verify_data.
 */
export function finishedVerifyData(
  master: Uint8Array,
  label: FinishedLabel,
  transcriptHash: Uint8Array,
  prfHash: PrfHash = "sha256",
): Uint8Array {
  return tls12Prf(master, label, transcriptHash, VERIFY_DATA_LENGTH, prfHash);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
