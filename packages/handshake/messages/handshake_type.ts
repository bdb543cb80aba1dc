/**
 * Handshake message types (RFC 5246 §7.4, RFC 6347 §4.2.2, RFC 5077 §3.3).
 *
 * @module
 */

/** Handshake message type code points. */
export const HandshakeType = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  hello_verify_request: 3,
  new_session_ticket: 4,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
} as const;

/** A handshake type code point; unknown ones stay plain numbers. */
export type HandshakeType = number;

const typeNames: ReadonlyMap<number, string> = new Map(
  Object.entries(HandshakeType).map(([name, code]) => [code, name]),
);

/**
 * Names a handshake type.
 *
 * @example
 * ```ts
 * import { handshakeTypeName } from "@anchortls/handshake";
 * handshakeTypeName(14); // "server_hello_done"
 * ```
 *
 * @param type The code point.
 * @returns The RFC name, or `handshake(N)`.
 */
export function handshakeTypeName(type: number): string {
  return typeNames.get(type) ?? `handshake(${type})`;
}
