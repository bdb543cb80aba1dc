/**
 * The TLS 1.2 pseudo-random function (RFC 5246 §5): P_SHA256, and P_SHA384 for the suites
 * named `_SHA384` (RFC 5288 §3, RFC 5289 §3.2).
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import type { PrfHash } from "@anchortls/record";

const encoder = new TextEncoder();

/**
 * Expands a secret with the TLS 1.2 PRF: `P_hash(secret, label ‖ seed)` cut to `length`.
 *
 * @example Deriving a master secret
 * ```ts
 * import { tls12Prf } from "@anchortls/handshake";
 * const premaster = new Uint8Array(48);
 * const randoms = new Uint8Array(64); // client_random ‖ server_random
 * const master = tls12Prf(premaster, "master secret", randoms, 48);
 * master.length; // 48
 * ```
 *
 * @param secret The secret (premaster, master secret, ...).
 * @param label The ASCII label, e.g. `"key expansion"`.
 * @param seed The seed that follows the label.
 * @param length How many bytes to produce.
 * @param hash The suite's PRF hash. @default {"sha256"}
 * @returns `length` bytes of PRF output.
 */
export function tls12Prf(
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
  hash: PrfHash = "sha256",
): Uint8Array {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`PRF output length must be a non-negative integer, got ${length}`);
  }
  const labelBytes = encoder.encode(label);
  const labelSeed = new Uint8Array(labelBytes.length + seed.length);
  labelSeed.set(labelBytes);
  labelSeed.set(seed, labelBytes.length);

  const h = hash === "sha384" ? sha384 : sha256;
  const keyed = hmac.create(h, secret);
  const mac = (data: Uint8Array): Uint8Array => keyed.clone().update(data).digest();

  const out = new Uint8Array(length);
  let a: Uint8Array = labelSeed; // A(0)
  let filled = 0;
  const block = new Uint8Array(h.outputLen + labelSeed.length);
  block.set(labelSeed, h.outputLen);
  while (filled < length) {
    a = mac(a);
    block.set(a, 0);
    const chunk = mac(block);
    out.set(chunk.subarray(0, Math.min(chunk.length, length - filled)), filled);
    filled += chunk.length;
    chunk.fill(0);
  }
  a.fill(0);
  block.fill(0);
  keyed.destroy();
  return out;
}
