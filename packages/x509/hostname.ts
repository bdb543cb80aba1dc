/**
 * Server identity checks (RFC 6125 §6.4, RFC 9525): DNS names and IP addresses against the
 * subjectAltName, never the common name.
 *
 * Wildcards: `*` must be the whole leftmost label and matches exactly one non-empty label.
 * The labels after `*.` must be at least two, and must not look like a public suffix: two
 * labels where the last is a two-letter country code and the first is a well-known
 * registry label (`co`, `com`, `net`, `org`, `gov`, `edu`, `ac`, `or`, `ne`, `go`, …).
 * So `*.example.com` is accepted while `*.com`, `*.co.uk`, `*.com.au` are refused. This
 * is a small built-in stand-in for the Public Suffix List, not a copy of it.
 *
 * @module
 */

import type { GeneralName } from "./general_name.ts";
import { bytesEqual } from "./name.ts";

const registryLabels = new Set([
  "ac",
  "co",
  "com",
  "edu",
  "go",
  "gob",
  "gov",
  "govt",
  "ltd",
  "mil",
  "ne",
  "net",
  "nhs",
  "nic",
  "nom",
  "or",
  "org",
  "plc",
  "sch",
]);

function looksLikePublicSuffix(labels: readonly string[]): boolean {
  if (labels.length < 2) return true;
  return labels.length === 2 && /^[a-z]{2}$/.test(labels[1]!) && registryLabels.has(labels[0]!);
}

/** Internationalized names become A-labels (UTS #46 via the URL parser), as SANs hold them. */
function toAscii(name: string): string | undefined {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name;
  try {
    const host = new URL(`http://${name}/`).hostname;
    return /^[a-z0-9.\-]+$/.test(host) ? host : undefined;
  } catch {
    return undefined;
  }
}

function normalize(name: string): string | undefined {
  const ascii = toAscii(name);
  if (ascii === undefined) return undefined;
  let n = ascii.toLowerCase();
  if (n.endsWith(".")) n = n.slice(0, -1);
  if (n.length === 0 || n.length > 253) return undefined;
  for (const label of n.split(".")) {
    if (label.length === 0 || label.length > 63) return undefined;
  }
  return n;
}

/**
 * Matches a subjectAltName dNSName (possibly a wildcard) against a host name, ignoring case
 * and one trailing dot.
 *
 * @example Wildcard matching
 * ```ts
 * import { hostnameMatches } from "@anchortls/x509";
 * hostnameMatches("*.example.com", "www.example.com"); // true
 * hostnameMatches("*.example.com", "a.b.example.com"); // false
 * hostnameMatches("*.co.uk", "example.co.uk"); // false
 * ```
 *
 * @param pattern The dNSName from the certificate.
 * @param hostname The name the client wants to reach.
 * @returns Whether they match.
 */
export function hostnameMatches(pattern: string, hostname: string): boolean {
  const host = normalize(hostname);
  const pat = normalize(pattern);
  if (!host || !pat || host.includes("*")) return false;
  if (!pat.includes("*")) return pat === host;
  if (!pat.startsWith("*.")) return false;
  const rest = pat.slice(2);
  if (rest.includes("*")) return false;
  if (looksLikePublicSuffix(rest.split("."))) return false;
  const dot = host.indexOf(".");
  return dot > 0 && host.slice(dot + 1) === rest;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * Parses an IPv4 dotted quad or an IPv6 address (RFC 4291 §2.2 text forms, optionally in
 * brackets; no zone identifiers).
 *
 * @example Telling addresses from names
 * ```ts
 * import { parseIpAddress } from "@anchortls/x509";
 * parseIpAddress("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * parseIpAddress("localhost"); // undefined
 * ```
 *
 * @param text The address text.
 * @returns 4 or 16 bytes, or undefined when it is not an IP address.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (text.startsWith("[") && text.endsWith("]")) return parseIpv6(text.slice(1, -1));
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/**
 * True when a certificate's subjectAltName covers a host name or IP address.
 *
 * @param names The subjectAltName entries (none when the extension is absent).
 * @param host A DNS name, or IP address bytes.
 * @returns Whether a dNSName (for a name) or an iPAddress (for bytes) matches.
 */
export function namesCoverHost(
  names: readonly GeneralName[] | undefined,
  host: string | Uint8Array,
): boolean {
  for (const n of names ?? []) {
    if (typeof host === "string") {
      if (n.type === "dns" && hostnameMatches(n.value, host)) return true;
    } else if (n.type === "ip" && bytesEqual(n.value, host)) {
      return true;
    }
  }
  return false;
}
