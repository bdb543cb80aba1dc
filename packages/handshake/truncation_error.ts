/**
 * The error for a TLS byte stream that ended without the peer's close_notify.
 *
 * @module
 */

/**
 * The transport ended without the peer's close_notify, so the data received may have been cut
 * short by an attacker or a failure (RFC 5246 §7.2.1). No alert is sent for it: nothing the
 * peer sent was wrong, and there may be no peer left to tell.
 *
 * @example
 * ```ts
 * import { TruncationError } from "@anchortls/handshake";
 * new TruncationError().name; // "TruncationError"
 * ```
 */
export class TruncationError extends Error {
  /**
   * Creates the error.
   *
   * @param message Details.
   * @param options Cause.
   */
  constructor(message = "connection closed without close_notify", options?: ErrorOptions) {
    super(message, options);
    this.name = "TruncationError";
  }
}
