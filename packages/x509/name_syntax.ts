/**
 * Syntax of the names a certificate claims, checked before any name constraint or hostname
 * comparison, as rustls-webpki does: a subjectAltName dNSName in the preferred name syntax
 * (RFC 1034 §3.5, RFC 1123 §2.1: LDH labels of 1..63 bytes, 253 in all, no empty label, no
 * leading or trailing dot, no underscore, a last label not all digits), a wildcard only as the
 * whole leftmost label above two more (`*.example.com`, RFC 6125 §6.4.3), and an rfc822Name of
 * exactly one `@` between a non-empty local part and such a domain. iPAddress lengths (4 or 16
 * bytes) are checked when the certificate is parsed.
 *
 * @module
 */

import type { GeneralName } from "./general_name.ts";

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function domainOk(name: string, wildcard: boolean): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  let first = 0;
  if (wildcard && labels[0] === "*") {
    // `*.com` would cover a whole top-level domain.
    if (labels.length < 3) return false;
    first = 1;
  }
  for (let i = first; i < labels.length; i++) {
    if (!LABEL.test(labels[i]!)) return false;
  }
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/**
 * Whether a subjectAltName entry is well-formed for its type; forms without a syntax rule here
 * (URI, directoryName, iPAddress, others) pass.
 *
 * @param name The entry.
 * @returns False for a malformed dNSName or rfc822Name.
 */
export function nameSyntaxOk(name: GeneralName): boolean {
  if (name.type === "dns") return domainOk(name.value, true);
  if (name.type === "email") {
    const at = name.value.indexOf("@");
    if (at <= 0 || at !== name.value.lastIndexOf("@")) return false;
    return domainOk(name.value.slice(at + 1), false);
  }
  return true;
}
