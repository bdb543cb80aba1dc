/**
 * Record sequence numbers (RFC 5246 §6.1, RFC 6347 §4.1): one counter per direction and
 * epoch, which refuses to wrap because a repeated number would let a MAC be replayed.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";

/** Largest count of records one TLS connection state may carry: the counter is 64 bits. */
export const TLS_SEQUENCE_LIMIT: bigint = 1n << 64n;
/** Largest count of records one DTLS epoch may carry: the explicit number is 48 bits. */
export const DTLS_SEQUENCE_LIMIT: bigint = 1n << 48n;

/**
 * Hands out consecutive sequence numbers and fails before one would repeat.
 *
 * @example Counting TLS records
 * ```ts
 * import { SequenceCounter, TLS_SEQUENCE_LIMIT } from "@anchortls/record";
 * const seq = new SequenceCounter(TLS_SEQUENCE_LIMIT);
 * seq.next(); // 0n
 * seq.next(); // 1n
 * ```
 */
export class SequenceCounter {
  readonly #limit: bigint;
  #next: bigint;

  /**
   * Creates a counter.
   *
   * @param limit One past the largest number allowed: {@linkcode TLS_SEQUENCE_LIMIT} or
   *   {@linkcode DTLS_SEQUENCE_LIMIT}.
   * @param start The first number to hand out.
   */
  constructor(limit: bigint, start = 0n) {
    if (start < 0n || start > limit) throw new RangeError("sequence start outside 0..limit");
    this.#limit = limit;
    this.#next = start;
  }

  /** The number the next call to {@linkcode next} returns. */
  get peek(): bigint {
    return this.#next;
  }

  /**
   * Takes the next sequence number.
   *
   * @returns The number to bind into the next record.
   * @throws {TlsAlertError} `internal_error` when the counter is exhausted: the connection
   *   must be renegotiated or closed, never wrapped (RFC 5246 §6.1).
   */
  next(): bigint {
    if (this.#next >= this.#limit) {
      throw new TlsAlertError(AlertDescription.internal_error, "record sequence number would wrap");
    }
    return this.#next++;
  }
}
