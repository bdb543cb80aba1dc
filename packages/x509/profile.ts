/**
 * The RFC 5280 rules for what a CA or a leaf certificate must carry, checked for every
 * certificate of a path but its trust anchor (whose form is the truster's business):
 *
 * - a certificate that is not self-issued carries an authorityKeyIdentifier (§4.2.1.1), and a
 *   CA certificate a subjectKeyIdentifier (§4.2.1.2); neither is critical;
 * - a CA certificate's basicConstraints is critical (§4.2.1.9) and its subject is not empty
 *   (§4.1.2.6);
 * - the serial number is positive (§4.1.2.2; at most 20 bytes is checked when parsing);
 * - keyCertSign is asserted only with cA TRUE (§4.2.1.3), and nameConstraints appear only in
 *   CA certificates (§4.2.1.10);
 * - an empty subject comes with a critical subjectAltName, and a non-empty one may not empty
 *   the name: a subject is empty only when a subjectAltName names the certificate (§4.2.1.6).
 *
 * @module
 */

import type { Certificate } from "./certificate.ts";
import { Oid } from "./oid.ts";

function extension(cert: Certificate, oid: string): { critical: boolean } | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/**
 * The first RFC 5280 profile rule a path certificate breaks.
 *
 * @param cert A certificate of the path, not its trust anchor.
 * @returns What is wrong, or `undefined` when the certificate keeps every rule.
 */
export function profileViolation(cert: Certificate): string | undefined {
  const ca = cert.basicConstraints?.ca === true;
  const aki = extension(cert, Oid.authorityKeyIdentifier);
  const ski = extension(cert, Oid.subjectKeyIdentifier);
  if (!cert.selfIssued && !aki) return "no authorityKeyIdentifier";
  if (aki?.critical) return "authorityKeyIdentifier is critical";
  if (ski?.critical) return "subjectKeyIdentifier is critical";
  if (ca && !ski) return "a CA certificate without subjectKeyIdentifier";
  if (ca && !extension(cert, Oid.basicConstraints)!.critical) {
    return "a CA certificate's basicConstraints is not critical";
  }
  if (ca && cert.subject.rdns.length === 0) return "a CA certificate with an empty subject";
  const serial = cert.serialNumber;
  if (parseInt(serial.slice(0, 2), 16) >= 0x80 || /^0*$/.test(serial)) {
    return "the serial number is not positive";
  }
  if (cert.keyUsage?.keyCertSign && !ca) return "keyCertSign without cA";
  if (!ca && cert.nameConstraints) return "nameConstraints in a certificate that is no CA";
  if (cert.subject.rdns.length === 0) {
    const san = extension(cert, Oid.subjectAltName);
    if (!san) return "an empty subject and no subjectAltName";
    if (!san.critical) return "an empty subject with a subjectAltName that is not critical";
  }
  return undefined;
}
