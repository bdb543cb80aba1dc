/**
 * Comparing secrets (MACs, Finished verify_data, PINs) without an early exit.
 *
 * @module
 */

/**
 * Compares two byte strings touching every byte, whatever the first difference is, so the
 * time says nothing about where they differ. Only the lengths, which are public, decide early.
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from "@anchortls/record";
 * constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)); // true
 * ```
 *
 * @param a One value.
 * @param b The other.
 * @returns True when equal.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
