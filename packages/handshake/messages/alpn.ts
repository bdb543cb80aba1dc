/**
 * The application_layer_protocol_negotiation extension (RFC 7301 §3.1): our list of protocol
 * names in the ClientHello, the one the server picked in its ServerHello.
 *
 * @module
 */

import { AlertDescription, Reader, TlsAlertError, Writer } from "@anchortls/record";

/**
 * Encodes the protocols to offer, most preferred first.
 *
 * @example
 * ```ts
 * import { encodeAlpnProtocols } from "@anchortls/handshake";
 * encodeAlpnProtocols(["h2", "http/1.1"]).length; // 14
 * ```
 *
 * @param protocols Protocol names (e.g. `"http/1.1"`, `"mqtt"`), 1–255 bytes of UTF-8 each.
 * @returns The extension body.
 * @throws {TypeError} For an empty list, an empty, overlong or repeated name, or a list over
 *   the extension's 2^16 − 1 bytes.
 */
export function encodeAlpnProtocols(protocols: readonly string[]): Uint8Array {
  if (protocols.length === 0) throw new TypeError("alpnProtocols must name at least one protocol");
  if (new Set(protocols).size !== protocols.length) {
    throw new TypeError("alpnProtocols names a protocol twice");
  }
  const encoder = new TextEncoder();
  const names = protocols.map((p) => {
    const bytes = encoder.encode(p);
    if (bytes.length < 1 || bytes.length > 255) {
      throw new TypeError(`ALPN protocol name "${p}" must be 1 to 255 bytes`);
    }
    return bytes;
  });
  const total = names.reduce((n, b) => n + 1 + b.length, 0);
  if (total > 0xffff - 2) throw new TypeError("alpnProtocols is longer than the extension allows");
  const w = new Writer(2 + total);
  w.vector16((w) => {
    for (const name of names) w.vector8((w) => w.bytes(name));
  });
  return w.finish();
}

/**
 * Decodes the server's choice: a list of exactly one non-empty name (RFC 7301 §3.1).
 *
 * @param data The extension body from the ServerHello.
 * @returns The protocol name.
 * @throws {TlsAlertError} `decode_error` when it is malformed or names other than one protocol.
 */
export function decodeAlpnSelection(data: Uint8Array): string {
  try {
    const r = new Reader(data);
    const list = new Reader(r.vector16());
    const name = list.vector8();
    if (name.length === 0 || list.remaining !== 0 || r.remaining !== 0) throw new Error();
    return new TextDecoder("utf-8", { fatal: true }).decode(name);
  } catch {
    throw new TlsAlertError(
      AlertDescription.decode_error,
      "ALPN in the ServerHello must name exactly one non-empty protocol",
    );
  }
}
