/**
 * HelloVerifyRequest (RFC 6347 §4.2.1): a DTLS server's stateless cookie challenge.
 *
 * @module
 */

import { Reader, Writer } from "@anchortls/record";

/** A HelloVerifyRequest. */
export interface HelloVerifyRequest {
  /** server_version: 0xfefd, or 0xfeff from servers that stay compatible with DTLS 1.0. */
  readonly version: number;
  /** The cookie to echo in the next ClientHello, 0..255 bytes. */
  readonly cookie: Uint8Array;
}

/**
 * Encodes a HelloVerifyRequest body (without the handshake header).
 *
 * @example
 * ```ts
 * import { encodeHelloVerifyRequest } from "@anchortls/handshake";
 * encodeHelloVerifyRequest({ version: 0xfefd, cookie: new Uint8Array([7]) });
 * // Uint8Array [254, 253, 1, 7]
 * ```
 *
 * @param message The message.
 * @returns The body bytes.
 */
export function encodeHelloVerifyRequest(message: HelloVerifyRequest): Uint8Array {
  return new Writer(3 + message.cookie.length).u16(message.version)
    .vector8((v) => v.bytes(message.cookie)).finish();
}

/**
 * Decodes a HelloVerifyRequest body.
 *
 * @param body The body bytes.
 * @returns The message; `cookie` is a copy.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeHelloVerifyRequest(body: Uint8Array): HelloVerifyRequest {
  const r = new Reader(body);
  const version = r.u16();
  const cookie = r.vector8(0, 255).slice();
  r.expectEnd("HelloVerifyRequest");
  return { version, cookie };
}
