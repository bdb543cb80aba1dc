/**
 * DTLS 1.2 Connection ID records (RFC 9146): the tls12_cid content type, whose header carries
 * the receiver's CID after the sequence number, whose plaintext is a DTLSInnerPlaintext
 * (content ‖ real type ‖ zeros), and whose MAC or AEAD additional data binds the CID (§5).
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";
import type { RecordContext } from "./protector.ts";

/** The tls12_cid content type (RFC 9146 §3). */
export const TLS12_CID = 25;

/** Longest CID: the extension carries it in a u8 vector (RFC 9146 §3). */
export const MAX_CID_LENGTH = 255;

/**
 * A DTLSInnerPlaintext without padding: the content, then its real content type.
 *
 * @param content The record's content.
 * @param type Its content type.
 * @returns content ‖ type.
 */
export function encodeInnerPlaintext(content: Uint8Array, type: number): Uint8Array {
  const out = new Uint8Array(content.length + 1);
  out.set(content);
  out[content.length] = type;
  return out;
}

/**
 * Reads a DTLSInnerPlaintext: the zeros at the end are padding, the last byte before them the
 * real content type.
 *
 * @param inner The opened plaintext.
 * @returns The real type and the content (a view into `inner`).
 * @throws {TlsAlertError} unexpected_message when it holds nothing but zeros (RFC 9146 §4).
 */
export function decodeInnerPlaintext(inner: Uint8Array): { type: number; content: Uint8Array } {
  let end = inner.length - 1;
  while (end >= 0 && inner[end] === 0) end--;
  if (end < 0) {
    throw new TlsAlertError(AlertDescription.unexpected_message, "DTLSInnerPlaintext has no type");
  }
  return { type: inner[end]!, content: inner.subarray(0, end) };
}

/**
 * What the MAC (before the content) or the AEAD additional data binds of a record. Without a
 * CID, RFC 5246 §6.2.3: seq_num ‖ type ‖ version ‖ length. With one, RFC 9146 §5:
 * seq_num_placeholder (8 × 0xff) ‖ tls12_cid ‖ cid_length ‖ tls12_cid ‖ version ‖ epoch ‖
 * sequence_number ‖ cid ‖ length. A fresh buffer per record, so an engine that reads it later
 * (after an await) reads this record's.
 *
 * @param context Sequence number (epoch ‖ sequence in DTLS), type, version, and the CID.
 * @param length The length field: the content's (MAC-then-encrypt, AEAD) or IV ‖ ciphertext
 *   (Encrypt-then-MAC).
 * @returns The bytes.
 */
export function recordHeaderForMac(context: RecordContext, length: number): Uint8Array {
  const cid = context.cid;
  if (!cid) {
    const bytes = new Uint8Array(13);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt.asUintN(64, context.sequence));
    bytes[8] = context.type;
    view.setUint16(9, context.version);
    view.setUint16(11, length);
    return bytes;
  }
  const bytes = new Uint8Array(23 + cid.length);
  const view = new DataView(bytes.buffer);
  bytes.fill(0xff, 0, 8);
  bytes[8] = TLS12_CID;
  bytes[9] = cid.length;
  bytes[10] = TLS12_CID;
  view.setUint16(11, context.version);
  view.setBigUint64(13, BigInt.asUintN(64, context.sequence));
  bytes.set(cid, 21);
  view.setUint16(21 + cid.length, length);
  return bytes;
}
