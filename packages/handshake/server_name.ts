/**
 * How a configured server name is used: as SNI and a DNS name, or as an IP address. Parsed
 * once per handshake, with x509's IP parser as the one answer to "is this an IP literal".
 *
 * @module
 */

import { parseIpAddress } from "@anchortls/x509";

/** A server name, parsed: a DNS name (sent as SNI) or an IP address (never sent as SNI). */
export type ServerName =
  | { readonly kind: "dns"; readonly name: string }
  | { readonly kind: "ip"; readonly address: string };

/**
 * Parses a configured server name. A trailing dot is dropped from a DNS name (RFC 6066 §3
 * sends names without it); brackets are dropped from an IPv6 literal.
 *
 * @example
 * ```ts
 * import { parseServerName } from "@anchortls/handshake";
 * parseServerName("localhost.").kind; // "dns"
 * parseServerName("[::1]"); // { kind: "ip", address: "::1" }
 * ```
 *
 * @param name The name as configured.
 * @returns What it is.
 */
export function parseServerName(name: string): ServerName {
  if (parseIpAddress(name)) return { kind: "ip", address: name.replace(/^\[|\]$/g, "") };
  return { kind: "dns", name: name.replace(/\.$/, "") };
}

/**
 * Tells whether a server name is an IPv4 or IPv6 literal, which server_name must not carry
 * (RFC 6066 §3) and which the certificate check matches against iPAddress entries.
 *
 * @example
 * ```ts
 * import { isIpLiteral } from "@anchortls/handshake";
 * isIpLiteral("127.0.0.1"); // true
 * isIpLiteral("localhost"); // false
 * ```
 *
 * @param name The name.
 * @returns True for an IP literal (IPv6 possibly in brackets).
 */
export function isIpLiteral(name: string): boolean {
  return parseServerName(name).kind === "ip";
}
