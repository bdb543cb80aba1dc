/**
 * Certificate (RFC 5246 §7.4.2, §7.4.6): a chain of DER certificates, sender's first.
 *
 * @module
 */

import { Reader, Writer } from "@anchortls/record";

/**
 * Encodes a Certificate body.
 *
 * @example
 * ```ts
 * import { decodeCertificate, encodeCertificate } from "@anchortls/handshake";
 * decodeCertificate(encodeCertificate([new Uint8Array([0x30, 0])])).length; // 1
 * ```
 *
 * @param chain DER certificates, leaf first; empty when a client has none to send.
 * @returns The body bytes.
 */
export function encodeCertificate(chain: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(4096);
  w.vector24((list) => {
    for (const der of chain) list.vector24((c) => c.bytes(der));
  });
  return w.finish();
}

/**
 * Decodes a Certificate body.
 *
 * @param body The body bytes.
 * @returns DER certificates in wire order (views into `body`).
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes or an empty entry.
 */
export function decodeCertificate(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body);
  const list = r.sub(r.u24());
  r.expectEnd("Certificate");
  const chain: Uint8Array[] = [];
  while (list.remaining > 0) chain.push(list.vector24(1));
  return chain;
}
