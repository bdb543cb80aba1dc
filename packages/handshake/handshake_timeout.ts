/**
 * The one error for a handshake that ran out of time, TLS or DTLS: a local timeout, so no
 * alert goes to the peer.
 *
 * @module
 */

/**
 * The handshake did not finish before its deadline: the peer is unreachable, silent, or
 * trickling bytes too slowly. No alert is sent for it.
 *
 * @example Telling a timeout apart from an alert
 * ```ts
 * import { HandshakeTimeoutError } from "@anchortls/handshake";
 * const err = new HandshakeTimeoutError(30_000);
 * err.elapsedMs; // 30000
 * ```
 */
export class HandshakeTimeoutError extends Error {
  /** Milliseconds since the handshake started. */
  readonly elapsedMs: number;

  /**
   * Creates the error.
   *
   * @param elapsedMs Milliseconds since the handshake started.
   * @param message Details. @default {"handshake timed out after N ms"}
   * @param options The cause, if any.
   */
  constructor(elapsedMs: number, message?: string, options?: ErrorOptions) {
    super(message ?? `handshake timed out after ${elapsedMs} ms`, options);
    this.name = "HandshakeTimeoutError";
    this.elapsedMs = elapsedMs;
  }
}
