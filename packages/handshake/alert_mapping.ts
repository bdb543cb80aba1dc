/**
 * The one place that decides which alert an error is answered with (the rustls pattern): a
 * protocol error carries its own code, a certificate error the code x509 chose, a peer's
 * alert gets no answer, a cancelled handshake says user_canceled, and anything else is our
 * own fault, internal_error.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { CertificateError } from "@anchortls/x509";
import { HandshakeTimeoutError } from "./handshake_timeout.ts";

/**
 * Chooses the alert to send for an error that ended a connection.
 *
 * @example
 * ```ts
 * import { alertForError } from "@anchortls/handshake";
 * import { AlertDescription, TlsAlertError } from "@anchortls/record";
 * alertForError(new TlsAlertError(AlertDescription.decode_error)); // 50
 * alertForError(new TlsAlertError(40, "", { fromPeer: true })); // undefined
 * alertForError(new Error("bug")); // 80
 * ```
 *
 * @param error What was thrown.
 * @returns The alert description to send, or `undefined` when no alert should be sent.
 */
export function alertForError(error: unknown): number | undefined {
  if (error instanceof TlsAlertError) {
    return error.fromPeer ? undefined : error.description;
  }
  if (error instanceof CertificateError) return error.alert;
  // A local timeout: nothing the peer sent was wrong, so no alert fits.
  if (error instanceof HandshakeTimeoutError) return undefined;
  // AbortSignal.timeout() aborts with a TimeoutError: the caller gave up, as with abort().
  if (
    error instanceof DOMException && (error.name === "AbortError" || error.name === "TimeoutError")
  ) {
    return AlertDescription.user_canceled;
  }
  return AlertDescription.internal_error;
}
