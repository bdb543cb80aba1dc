/**
 * How a configured server name is used: as SNI and a DNS name, or as an IP address.
 *
 * @module
 */

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
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}
