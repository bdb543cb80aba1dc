/**
 * Hello extensions (RFC 5246 §7.4.1.4): the list codec and the code points we use.
 *
 * @module
 */

import { AlertDescription, type Reader, TlsAlertError, type Writer } from "@anchortls/record";

/** Extension code points we send or recognise. */
export const ExtensionType = {
  server_name: 0,
  max_fragment_length: 1,
  supported_groups: 10,
  ec_point_formats: 11,
  signature_algorithms: 13,
  application_layer_protocol_negotiation: 16,
  encrypt_then_mac: 22,
  extended_master_secret: 23,
  record_size_limit: 28,
  session_ticket: 35,
  /** RFC 9146: the Connection ID the sender wants to receive records with (DTLS 1.2). */
  connection_id: 54,
  renegotiation_info: 0xff01,
} as const;

/** One extension as it is on the wire. */
export interface Extension {
  /** The extension's code point. */
  readonly type: number;
  /** Its body, uninterpreted. */
  readonly data: Uint8Array;
}

/**
 * Reads an extension block (a u16-prefixed list) that may be absent when a hello ends without
 * one. Duplicate types are an `illegal_parameter` (RFC 5246 §7.4.1.4).
 *
 * @param reader Positioned after the fixed hello fields.
 * @returns The extensions, in wire order.
 */
export function readExtensions(reader: Reader): Extension[] {
  if (reader.remaining === 0) return [];
  const list = reader.sub(reader.u16());
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (list.remaining > 0) {
    const type = list.u16();
    const data = list.vector16();
    if (seen.has(type)) {
      throw new TlsAlertError(AlertDescription.illegal_parameter, `duplicate extension ${type}`);
    }
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

/**
 * Writes an extension block; writes nothing at all for an empty list, as RFC 5246 allows.
 *
 * @param writer Where to write.
 * @param extensions The extensions, in order.
 */
export function writeExtensions(writer: Writer, extensions: readonly Extension[]): void {
  if (extensions.length === 0) return;
  writer.vector16((w) => {
    for (const ext of extensions) w.u16(ext.type).vector16((v) => v.bytes(ext.data));
  });
}
