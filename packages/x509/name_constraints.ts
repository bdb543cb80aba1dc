/**
 * nameConstraints checking (RFC 5280 §4.2.1.10, §6.1.3 (b)/(c)) for the name forms this
 * package reads: dNSName, iPAddress, rfc822Name, URI host and directoryName. A constraint on any
 * other form (otherName, x400Address, ediPartyName, registeredID) is not processed, so a
 * certificate that carries a name of that form is refused, as §4.2.1.10 requires. A wildcard
 * dNSName is checked against excluded subtrees as the pattern it is: if any name it matches
 * lies in one, it is excluded. The work is bounded by a budget of name × subtree comparisons.
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

/**
 * Whether a wildcard dNSName (`*.rest`) could match some name inside the subtree of `base`:
 * every match is in it when `rest` is, and one match is `base` itself when `base` is one
 * label more than `rest` (the wildcard stands for exactly one label, RFC 6125 §6.4.3).
 */
function wildcardMayEnterSubtree(pattern: string, base: string): boolean {
  const rest = pattern.slice(2).toLowerCase().replace(/\.$/, "");
  const b = base.toLowerCase().replace(/\.$/, "");
  if (b === "") return true;
  // ".example.com" names what ends in it: label.rest does when .rest does.
  if (b.startsWith(".")) return ("." + rest).endsWith(b);
  // "example.com" names itself and what lies below it: label.rest is below it when rest is in
  // it, and is it when it is one label more than rest.
  const at = b.indexOf(".");
  return dnsInSubtree(rest, b) || (at > 0 && b.slice(at + 1) === rest);
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
 * Most name × subtree comparisons one chain may cost (rustls-webpki caps its own the same way):
 * real chains need a few hundred; a crafted one with thousands of names and subtrees fails fast.
 */
export const NAME_CONSTRAINT_BUDGET = 25_000;

/** What is left of a chain's name-constraint budget; shared by every check of the chain. */
export interface NameConstraintBudget {
  /** Comparisons still allowed. */
  remaining: number;
}

/** A constrained name, or why the check could not be done. */
export type NameConstraintOutcome =
  | { readonly kind: "allowed" }
  | { readonly kind: "violation"; readonly name: string }
  | { readonly kind: "unsupported"; readonly name: string }
  | { readonly kind: "budget" };

/** The name form of a GeneralName, with the tag for the forms this package does not read. */
function formOf(name: GeneralName): string {
  return name.type === "other" ? `other:${name.tag}` : name.type;
}

/**
 * Checks a certificate's names against a CA's nameConstraints.
 *
 * @param cert The certificate below the constrained CA.
 * @param constraints The CA's nameConstraints.
 * @param checkSubject False for self-issued intermediates, whose subject is exempt (§6.1.3 (b)).
 * @param budget The chain's remaining comparisons. @default {a fresh NAME_CONSTRAINT_BUDGET}
 * @returns Allowed; the offending name; a name of a form the constraints restrict but this
 *   package cannot check; or the budget ran out.
 */
export function checkNameConstraints(
  cert: Certificate,
  constraints: NameConstraints,
  checkSubject: boolean,
  budget: NameConstraintBudget = { remaining: NAME_CONSTRAINT_BUDGET },
): NameConstraintOutcome {
  const names: GeneralName[] = [...(cert.subjectAltNames ?? [])];
  if (checkSubject && cert.subject.rdns.length > 0) {
    names.push({ type: "directory", value: cert.subject });
  }
  const unprocessed = new Set(
    [...constraints.permitted, ...constraints.excluded]
      .filter(({ base }) => base.type === "other")
      .map(({ base }) => formOf(base)),
  );
  for (const name of names) {
    if (unprocessed.has(formOf(name))) return { kind: "unsupported", name: describe(name) };
    for (const { base } of constraints.excluded) {
      if (--budget.remaining < 0) return { kind: "budget" };
      const excluded = name.type === "dns" && base.type === "dns" && name.value.startsWith("*.")
        ? wildcardMayEnterSubtree(name.value, base.value)
        : inSubtree(name, base);
      if (excluded) return { kind: "violation", name: `${describe(name)} is excluded` };
    }
    let ofType = 0;
    let permitted = false;
    for (const { base } of constraints.permitted) {
      if (formOf(base) !== formOf(name)) continue;
      if (--budget.remaining < 0) return { kind: "budget" };
      ofType++;
      if (inSubtree(name, base)) {
        permitted = true;
        break;
      }
    }
    if (ofType > 0 && !permitted) {
      return { kind: "violation", name: `${describe(name)} is not permitted` };
    }
  }
  return { kind: "allowed" };
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
  const outcome = checkNameConstraints(cert, constraints, checkSubject);
  switch (outcome.kind) {
    case "allowed":
      return undefined;
    case "violation":
      return outcome.name;
    case "unsupported":
      return `${outcome.name} is of a form the constraints restrict and this check cannot process`;
    case "budget":
      return "too many name × subtree comparisons";
  }
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
