/**
 * Errors of the connection driver that are not TLS alerts.
 *
 * @module
 */

export { TruncationError } from "@anchortls/handshake";

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
