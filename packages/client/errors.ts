/**
 * Errors of the connection driver that are not TLS alerts.
 *
 * @module
 */

/**
 * The transport ended without the peer's close_notify, so the data received may have been cut
 * short by an attacker or a failure (RFC 5246 §7.2.1).
 *
 * @example
 * ```ts
 * import { TruncationError } from "@anchortls/client";
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

/**
 * The connection was used after it was closed or failed.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "@anchortls/client";
 * new ConnectionClosedError().name; // "ConnectionClosedError"
 * ```
 */
export class ConnectionClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param message Details.
   * @param options Cause.
   */
  constructor(message = "TLS connection is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionClosedError";
  }
}
