/**
 * The one error type of certificate parsing and validation. It says why a certificate or chain
 * was refused; which TLS alert answers that is the handshake's business
 * (`@anchortls/handshake`'s `certificateAlert`).
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
  | "name_constraints_budget"
  | "policy"
  | "malformed_name"
  | "profile"
  | "unknown_critical_extension"
  | "hostname_mismatch"
  | "revoked"
  | "bad_crl";

/**
 * A certificate that cannot be parsed or a chain that does not validate.
 *
 * @example Reading why a chain failed
 * ```ts
 * import { CertificateError } from "@anchortls/x509";
 * const err = new CertificateError("unknown_issuer", 1, "no trusted issuer");
 * err.reason; // "unknown_issuer"
 * ```
 */
export class CertificateError extends Error {
  /** What was wrong. */
  readonly reason: CertificateErrorReason;
  /** Place of the offending certificate in the chain: 0 is the leaf. */
  readonly index: number;

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
  }
}
