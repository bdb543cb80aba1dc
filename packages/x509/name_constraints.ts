/**
 * nameConstraints checking (RFC 5280 §4.2.1.10, §6.1.3 (b)/(c)) for the name forms this
 * package reads: dNSName, iPAddress, rfc822Name, URI host and directoryName.
 *
 * @module
 */

import type { Certificate } from "./certificate.ts";
import type { NameConstraints } from "./extensions.ts";
import type { GeneralName } from "./general_name.ts";
import { DistinguishedName } from "./name.ts";

function dnsInSubtree(name: string, base: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  const b = base.toLowerCase().replace(/\.$/, "");
  if (b === "") return true;
  if (b.startsWith(".")) return n.endsWith(b);
  return n === b || n.endsWith("." + b);
}

function emailInSubtree(name: string, base: string): boolean {
  const at = name.lastIndexOf("@");
  if (at < 0) return false;
  const host = name.slice(at + 1).toLowerCase();
  if (base.includes("@")) {
    const bat = base.lastIndexOf("@");
    return name.slice(0, at) === base.slice(0, bat) && host === base.slice(bat + 1).toLowerCase();
  }
  const b = base.toLowerCase();
  return b.startsWith(".") ? host.endsWith(b) : host === b;
}

function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.\-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(uri);
  return m?.[1] || undefined;
}

function uriInSubtree(name: string, base: string): boolean {
  const host = uriHost(name);
  if (host === undefined || host.startsWith("[")) return false;
  const h = host.toLowerCase();
  const b = base.toLowerCase();
  return b.startsWith(".") ? h.endsWith(b) : h === b;
}

function ipInSubtree(ip: Uint8Array, base: Uint8Array): boolean {
  const len = base.length / 2;
  if (ip.length !== len) return false;
  for (let i = 0; i < len; i++) {
    const mask = base[len + i]!;
    if ((ip[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

function dnInSubtree(name: DistinguishedName, base: DistinguishedName): boolean {
  if (base.rdns.length > name.rdns.length) return false;
  const prefix = new DistinguishedName(
    new Uint8Array(0),
    name.rdns.slice(0, base.rdns.length),
  );
  return prefix.matchKey() === base.matchKey();
}

function inSubtree(name: GeneralName, base: GeneralName): boolean {
  if (name.type === "dns" && base.type === "dns") return dnsInSubtree(name.value, base.value);
  if (name.type === "email" && base.type === "email") {
    return emailInSubtree(name.value, base.value);
  }
  if (name.type === "uri" && base.type === "uri") return uriInSubtree(name.value, base.value);
  if (name.type === "ip" && base.type === "ip") return ipInSubtree(name.value, base.value);
  if (name.type === "directory" && base.type === "directory") {
    return dnInSubtree(name.value, base.value);
  }
  return false;
}

/**
 * Finds the first name of a certificate that a CA's nameConstraints forbid.
 *
 * @param cert The certificate below the constrained CA.
 * @param constraints The CA's nameConstraints.
 * @param checkSubject False for self-issued intermediates, whose subject is exempt (§6.1.3 (b)).
 * @returns The offending name as text, or undefined when every name is allowed.
 */
export function nameConstraintViolation(
  cert: Certificate,
  constraints: NameConstraints,
  checkSubject: boolean,
): string | undefined {
  const names: GeneralName[] = [...(cert.subjectAltNames ?? [])];
  if (checkSubject && cert.subject.rdns.length > 0) {
    names.push({ type: "directory", value: cert.subject });
  }
  for (const name of names) {
    for (const { base } of constraints.excluded) {
      if (inSubtree(name, base)) return `${describe(name)} is excluded`;
    }
    const ofType = constraints.permitted.filter(({ base }) => base.type === name.type);
    if (ofType.length > 0 && !ofType.some(({ base }) => inSubtree(name, base))) {
      return `${describe(name)} is not permitted`;
    }
  }
  return undefined;
}

function describe(name: GeneralName): string {
  switch (name.type) {
    case "ip":
      return `IP ${[...name.value].join(name.value.length === 4 ? "." : ",")}`;
    case "directory":
      return `DN "${name.value}"`;
    case "other":
      return `name [${name.tag}]`;
    default:
      return `${name.type} "${name.value}"`;
  }
}
