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
 *   the name: a subject is empty only when a subjectAltName names the certificate (§4.2.1.6);
 * - policyConstraints and inhibitAnyPolicy are critical (§4.2.1.11, §4.2.1.14).
 *
 * @module
 */

import type { Certificate } from "./certificate.ts";
import { DerReader } from "./der.ts";
import { decodeGeneralName } from "./general_name.ts";
import { parseIpAddress } from "./hostname.ts";
import { Oid } from "./oid.ts";
import { bytesEqual } from "./name.ts";

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
  if (extension(cert, Oid.policyConstraints)?.critical === false) {
    return "policyConstraints is not critical";
  }
  if (extension(cert, Oid.inhibitAnyPolicy)?.critical === false) {
    return "inhibitAnyPolicy is not critical";
  }
  if (cert.subject.rdns.length === 0) {
    const san = extension(cert, Oid.subjectAltName);
    if (!san) return "an empty subject and no subjectAltName";
    if (!san.critical) return "an empty subject with a subjectAltName that is not critical";
  }
  return undefined;
}

/** Which rules `verifyChain` applies beyond RFC 5280's path validation. */
export type VerifyProfile = "webpki" | "rfc5280";

const AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1";

/** Whether an authorityInfoAccess extension is a well-formed SEQUENCE of AccessDescription. */
function aiaWellFormed(value: Uint8Array): boolean {
  try {
    const outer = new DerReader(value);
    const seq = outer.readSequence();
    outer.expectEnd();
    if (seq.atEnd) return false;
    while (!seq.atEnd) {
      const description = seq.readSequence();
      description.readOid();
      decodeGeneralName(description.read(), description);
      description.expectEnd();
    }
    return true;
  } catch {
    return false;
  }
}

/** Whether the leaf's common name is one of its subjectAltNames (CA/B BR §7.1.4.3). */
function commonNameInSans(leaf: Certificate, cn: string): boolean {
  const ip = parseIpAddress(cn);
  let ascii: string;
  try {
    ascii = new URL(`http://${cn}/`).hostname;
  } catch {
    ascii = cn.toLowerCase();
  }
  return (leaf.subjectAltNames ?? []).some((name) =>
    name.type === "ip"
      ? ip !== undefined && bytesEqual(name.value, ip)
      : name.type === "dns" && name.value.toLowerCase() === ascii
  );
}

/**
 * The CA/Browser Forum rules rustls-webpki applies to server certificates, beyond RFC 5280:
 * the leaf is no CA, has an extKeyUsage (not critical, without anyExtendedKeyUsage) and a
 * common name (if any) that is one of its subjectAltNames; a subjectAltName is not critical
 * beside a subject; the anchor's extKeyUsage, when present, allows the purpose, and its
 * authorityKeyIdentifier, when present, is only its own key identifier; RSA moduli are whole
 * bytes; an authorityInfoAccess is well-formed.
 *
 * @param path The path, leaf first, anchor last.
 * @param purpose The purpose OID the leaf is checked for.
 * @returns The index and what is wrong, or `undefined`.
 */
export function webpkiViolation(
  path: readonly Certificate[],
  purpose: string,
): { index: number; message: string } | undefined {
  const leaf = path[0]!;
  const n = path.length - 1;
  if (leaf.basicConstraints?.ca && n > 0) {
    return { index: 0, message: "a CA certificate as the leaf" };
  }
  const eku = extension(leaf, Oid.extKeyUsage);
  if (!eku || !leaf.extKeyUsage) return { index: 0, message: "the leaf has no extKeyUsage" };
  if (eku.critical) return { index: 0, message: "the leaf's extKeyUsage is critical" };
  if (leaf.extKeyUsage.includes(Oid.anyExtendedKeyUsage)) {
    return { index: 0, message: "the leaf asserts anyExtendedKeyUsage" };
  }
  const cn = leaf.subject.commonName;
  if (cn !== undefined && !commonNameInSans(leaf, cn)) {
    return { index: 0, message: `the common name "${cn}" is none of the subjectAltNames` };
  }
  for (let i = 0; i <= n; i++) {
    const cert = path[i]!;
    const key = cert.publicKey;
    if (key.kind === "rsa" && key.bits % 8 !== 0) {
      return { index: i, message: `an RSA modulus of ${key.bits} bits, not whole bytes` };
    }
    const san = extension(cert, Oid.subjectAltName);
    if (i < n && san?.critical && cert.subject.rdns.length > 0) {
      return { index: i, message: "a critical subjectAltName beside a subject" };
    }
    const aia = cert.extensions.find((e) => e.oid === AUTHORITY_INFO_ACCESS);
    if (aia && !aiaWellFormed(aia.value)) {
      return { index: i, message: "a malformed authorityInfoAccess" };
    }
  }
  const anchor = path[n]!;
  if (
    n > 0 && anchor.extKeyUsage && !anchor.extKeyUsage.includes(purpose) &&
    !anchor.extKeyUsage.includes(Oid.anyExtendedKeyUsage)
  ) {
    return { index: n, message: "the trust anchor's extKeyUsage does not allow the purpose" };
  }
  const aki = anchor.authorityKeyIdentifier;
  if (n > 0 && aki && anchor.selfIssued) {
    const ski = anchor.subjectKeyIdentifier;
    if (aki.authorityCertIssuer || aki.authorityCertSerialNumber !== undefined) {
      return { index: n, message: "the root's authorityKeyIdentifier names an issuer or serial" };
    }
    if (!aki.keyIdentifier || !ski || !bytesEqual(aki.keyIdentifier, ski)) {
      return {
        index: n,
        message: "the root's authorityKeyIdentifier is not its own key identifier",
      };
    }
  }
  return undefined;
}
