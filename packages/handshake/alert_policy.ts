/**
 * What a received alert does, written once for TLS and DTLS: a warning close_notify closes (or,
 * during the handshake, fails it), a fatal alert or one of an unknown level ends the connection,
 * user_canceled during the handshake ends it too, and other warnings are let pass up to a
 * limit, since a peer that streams them keeps a connection busy without progress.
 *
 * @module
 */

import { AlertDescription, AlertLevel, TlsAlertError } from "@anchortls/record";

/**
 * Most warning alerts accepted in a row (OpenSSL's MAX_WARN_ALERT_COUNT): a peer streaming
 * them would otherwise keep the connection busy forever without a byte of progress. Any other
 * record with content resets the count; one more is `unexpected_message`.
 */
export const MAX_CONSECUTIVE_WARNING_ALERTS = 5;

/** What a received alert means for the connection. */
export type AlertOutcome =
  /** The peer's warning close_notify after the handshake: the connection closes cleanly. */
  | { readonly kind: "closed" }
  /** A warning to let pass. */
  | { readonly kind: "ignored" }
  /** The connection ends with this error (`fromPeer`, or ours for too many warnings). */
  | { readonly kind: "failed"; readonly error: TlsAlertError };

/**
 * The alert rules of one connection, with the count of warnings in a row that they limit.
 *
 * @example
 * ```ts
 * import { AlertPolicy } from "@anchortls/handshake";
 * const policy = new AlertPolicy();
 * policy.received(1, 0, false).kind; // "closed" (close_notify after the handshake)
 * policy.received(2, 40, false).kind; // "failed" (a fatal handshake_failure)
 * ```
 */
export class AlertPolicy {
  #warningsInARow = 0;

  /** A record that is not an alert, and carries content, arrived: warnings start over. */
  progress(): void {
    this.#warningsInARow = 0;
  }

  /**
   * Decides what a received alert does.
   *
   * @param level Its level byte (1 warning, 2 fatal, anything else is treated as fatal).
   * @param description Its description.
   * @param handshaking Whether the handshake is still running.
   * @param hint What the handshake knows about why the peer sent it, for the error's message.
   * @returns Closed, ignored, or the error that ends the connection.
   */
  received(
    level: number,
    description: number,
    handshaking: boolean,
    hint?: string,
  ): AlertOutcome {
    const warning = level === AlertLevel.warning;
    // The level is reported as received: a fatal one, close_notify included, ends the session
    // for resumption too (RFC 5246 §7.2.2), as OpenSSL treats any fatal-level alert.
    const failed = (detail?: string): AlertOutcome => ({
      kind: "failed",
      error: new TlsAlertError(description, detail, {
        fromPeer: true,
        level: warning ? AlertLevel.warning : AlertLevel.fatal,
      }),
    });
    if (description === AlertDescription.close_notify) {
      if (!warning) return failed("sent as a fatal alert");
      return handshaking ? failed("during the handshake") : { kind: "closed" };
    }
    if (!warning || description === AlertDescription.user_canceled && handshaking) {
      return failed(hint);
    }
    if (++this.#warningsInARow > MAX_CONSECUTIVE_WARNING_ALERTS) {
      return {
        kind: "failed",
        error: new TlsAlertError(
          AlertDescription.unexpected_message,
          `${this.#warningsInARow} warning alerts in a row`,
        ),
      };
    }
    return { kind: "ignored" };
  }
}
