/**
 * The one error type of certificate parsing and validation, and its mapping to TLS alerts.
 *
 * @module
 */

/** Why a certificate or chain was refused. */
export type CertificateErrorReason =
  | "malformed"
  | "unsupported_algorithm"
  | "unsupported_key"
  | "weak_key"
  | "weak_signature_algorithm"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "unknown_issuer"
  | "self_signed"
  | "not_ca"
  | "path_length_exceeded"
  | "max_depth_exceeded"
  | "key_usage"
  | "ext_key_usage"
  | "name_constraints"
  | "unknown_critical_extension"
  | "hostname_mismatch";

/** TLS alert codes (RFC 5246 §7.2) certificate failures map to. */
export const CertificateAlert = {
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_expired: 45,
  certificate_unknown: 46,
  unknown_ca: 48,
} as const;

const alertFor: Record<CertificateErrorReason, number> = {
  malformed: CertificateAlert.bad_certificate,
  bad_signature: CertificateAlert.bad_certificate,
  hostname_mismatch: CertificateAlert.bad_certificate,
  unsupported_algorithm: CertificateAlert.unsupported_certificate,
  unsupported_key: CertificateAlert.unsupported_certificate,
  weak_key: CertificateAlert.unsupported_certificate,
  weak_signature_algorithm: CertificateAlert.unsupported_certificate,
  unknown_critical_extension: CertificateAlert.unsupported_certificate,
  key_usage: CertificateAlert.unsupported_certificate,
  ext_key_usage: CertificateAlert.unsupported_certificate,
  expired: CertificateAlert.certificate_expired,
  not_yet_valid: CertificateAlert.certificate_expired,
  not_ca: CertificateAlert.certificate_unknown,
  path_length_exceeded: CertificateAlert.certificate_unknown,
  max_depth_exceeded: CertificateAlert.certificate_unknown,
  name_constraints: CertificateAlert.certificate_unknown,
  unknown_issuer: CertificateAlert.unknown_ca,
  self_signed: CertificateAlert.unknown_ca,
};

/**
 * The TLS alert a certificate failure should be answered with.
 *
 * @example Alert for an expired certificate
 * ```ts
 * import { certificateAlert } from "@anchortls/x509";
 * certificateAlert("expired"); // 45
 * ```
 *
 * @param reason The failure reason.
 * @returns The alert description code.
 */
export function certificateAlert(reason: CertificateErrorReason): number {
  return alertFor[reason];
}

/**
 * A certificate that cannot be parsed or a chain that does not validate.
 *
 * @example Reading the alert to send
 * ```ts
 * import { CertificateError } from "@anchortls/x509";
 * const err = new CertificateError("unknown_issuer", 1, "no trusted issuer");
 * err.alert; // 48 (unknown_ca)
 * ```
 */
export class CertificateError extends Error {
  /** What was wrong. */
  readonly reason: CertificateErrorReason;
  /** Place of the offending certificate in the chain: 0 is the leaf. */
  readonly index: number;
  /** The TLS alert description the handshake should send. */
  readonly alert: number;

  /**
   * Creates a certificate error.
   *
   * @param reason What was wrong.
   * @param index Place in the chain (0 = leaf).
   * @param message Details, without secrets.
   * @param options Cause.
   */
  constructor(
    reason: CertificateErrorReason,
    index: number,
    message?: string,
    options?: ErrorOptions,
  ) {
    super(`certificate ${index}: ${reason}${message ? `: ${message}` : ""}`, options);
    this.name = "CertificateError";
    this.reason = reason;
    this.index = index;
    this.alert = alertFor[reason];
  }
}
