/**
 * The one place that decides which alert an error is answered with (the rustls pattern): a
 * protocol error carries its own code, a certificate error the code its reason maps to here
 * (x509 says only why a chain failed), a peer's
 * alert gets no answer, a cancelled handshake says user_canceled, and anything else is our
 * own fault, internal_error.
 *
 * @module
 */

import { AlertDescription, AlertLevel, TlsAlertError } from "@anchortls/record";
import { CertificateError, type CertificateErrorReason } from "@anchortls/x509";
import { HandshakeTimeoutError } from "./handshake_timeout.ts";
import { TruncationError } from "./truncation_error.ts";

/** The alert each certificate failure is answered with (RFC 5246 §7.2.2). */
const ALERT_FOR_CERTIFICATE: Record<CertificateErrorReason, number> = {
  malformed: AlertDescription.bad_certificate,
  malformed_name: AlertDescription.bad_certificate,
  profile: AlertDescription.bad_certificate,
  bad_signature: AlertDescription.bad_certificate,
  hostname_mismatch: AlertDescription.bad_certificate,
  unsupported_algorithm: AlertDescription.unsupported_certificate,
  unsupported_key: AlertDescription.unsupported_certificate,
  weak_key: AlertDescription.unsupported_certificate,
  weak_signature_algorithm: AlertDescription.unsupported_certificate,
  unknown_critical_extension: AlertDescription.unsupported_certificate,
  key_usage: AlertDescription.unsupported_certificate,
  ext_key_usage: AlertDescription.unsupported_certificate,
  expired: AlertDescription.certificate_expired,
  not_yet_valid: AlertDescription.certificate_expired,
  not_ca: AlertDescription.certificate_unknown,
  path_length_exceeded: AlertDescription.certificate_unknown,
  max_depth_exceeded: AlertDescription.certificate_unknown,
  name_constraints: AlertDescription.certificate_unknown,
  name_constraints_budget: AlertDescription.certificate_unknown,
  policy: AlertDescription.certificate_unknown,
  unknown_issuer: AlertDescription.unknown_ca,
  self_signed: AlertDescription.unknown_ca,
  revoked: AlertDescription.certificate_revoked,
  // As OpenSSL answers a CRL it cannot use (bad signature, not yet valid).
  bad_crl: AlertDescription.bad_certificate,
};

/**
 * The TLS alert a certificate failure should be answered with.
 *
 * @example Alert for an expired certificate
 * ```ts
 * import { certificateAlert } from "@anchortls/handshake";
 * certificateAlert("expired"); // 45
 * ```
 *
 * @param reason The failure reason.
 * @returns The alert description code.
 */
export function certificateAlert(reason: CertificateErrorReason): number {
  return ALERT_FOR_CERTIFICATE[reason];
}

/**
 * Chooses the alert to send for an error that ended a connection.
 *
 * @example
 * ```ts
 * import { alertForError } from "@anchortls/handshake";
 * import { AlertDescription, AlertLevel, TlsAlertError } from "@anchortls/record";
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
  if (error instanceof CertificateError) return certificateAlert(error.reason);
  // A local timeout: nothing the peer sent was wrong, so no alert fits.
  if (error instanceof HandshakeTimeoutError) return undefined;
  // A stream cut short: the peer sent nothing wrong, and may not be there to hear it.
  if (error instanceof TruncationError) return undefined;
  // AbortSignal.timeout() aborts with a TimeoutError: the caller gave up, as with abort().
  if (
    error instanceof DOMException && (error.name === "AbortError" || error.name === "TimeoutError")
  ) {
    return AlertDescription.user_canceled;
  }
  return AlertDescription.internal_error;
}

/** An alert to send: its level and description. */
export interface OutgoingAlert {
  /** `AlertLevel.warning` for user_canceled (RFC 5246 §7.2.2 sends it as one), else fatal. */
  readonly level: number;
  /** The description code. */
  readonly description: number;
}

/**
 * The alert, level included, that ends a connection failing with `error`: what both cores
 * send.
 *
 * @example
 * ```ts
 * import { alertFor } from "@anchortls/handshake";
 * alertFor(new DOMException("", "AbortError")); // { level: 1, description: 90 }
 * alertFor(new Error("bug")); // { level: 2, description: 80 }
 * ```
 *
 * @param error What was thrown.
 * @returns The alert, or `undefined` when none should be sent.
 */
export function alertFor(error: unknown): OutgoingAlert | undefined {
  const description = alertForError(error);
  if (description === undefined) return undefined;
  const level = description === AlertDescription.user_canceled
    ? AlertLevel.warning
    : AlertLevel.fatal;
  return { level, description };
}
