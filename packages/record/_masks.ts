/**
 * Branch-free comparisons for the constant-time record checks, shared by the padding check and
 * the constant-cost HMAC.
 *
 * @module
 */

/** The largest padding TLS allows: padding_length is one byte (RFC 5246 §6.2.3.2). */
export const MAX_PADDING = 255;

/**
 * A mask of all ones (-1) when a < b, else 0; for 0 ≤ a, b < 2^31, without a branch.
 *
 * @param a Left operand. @param b Right operand.
 * @returns 0 or -1.
 */
export function ltMask(a: number, b: number): number {
  return (a - b) >> 31;
}

/**
 * A mask of all ones when a === b, else 0; for 0 ≤ a, b < 2^31, without a branch.
 *
 * @param a Left operand. @param b Right operand.
 * @returns 0 or -1.
 */
export function eqMask(a: number, b: number): number {
  return ((a ^ b) - 1) >> 31;
}
