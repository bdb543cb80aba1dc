/**
 * The DTLS 1.2 handshake header (RFC 6347 §4.2.2): msg_type(1) length(3) message_seq(2)
 * fragment_offset(3) fragment_length(3), followed by the fragment's bytes.
 *
 * Every handshake record carries one or more such fragments. A whole message is the special
 * case of one fragment at offset 0 covering the full length, and that unfragmented form is
 * also what goes into the transcript hash (§4.2.6), whatever fragments the message really
 * travelled in.
 *
 * @module
 */

import { AlertDescription, Reader, TlsAlertError, Writer } from "@anchortls/record";

/** Bytes of the DTLS handshake header before each fragment. */
export const DTLS_HANDSHAKE_HEADER_LENGTH = 12;

/** Largest value of the 24-bit length and offset fields. */
const MAX_U24 = 0xffffff;

/** Largest value of the 16-bit message_seq field. */
const MAX_MESSAGE_SEQ = 0xffff;

/** One fragment of a DTLS handshake message as it appears in a handshake record. */
export interface DtlsHandshakeFragment {
  /** HandshakeType of the whole message (e.g. 1 ClientHello, 3 HelloVerifyRequest). */
  readonly msgType: number;
  /** Length of the whole message body, not of this fragment. */
  readonly length: number;
  /** Sequence number of the message within the handshake (§4.2.2). */
  readonly messageSeq: number;
  /** Where `body` starts inside the whole message body. */
  readonly fragmentOffset: number;
  /** The fragment's bytes; fragment_length on the wire is `body.length`. */
  readonly body: Uint8Array;
}

/** A whole DTLS handshake message, reassembled or about to be fragmented. */
export interface DtlsHandshakeMessage {
  /** HandshakeType of the message. */
  readonly msgType: number;
  /** Sequence number of the message within the handshake. */
  readonly messageSeq: number;
  /** The message body (without any header). */
  readonly body: Uint8Array;
}

function illegal(message: string): TlsAlertError {
  return new TlsAlertError(AlertDescription.illegal_parameter, message);
}

function checkFields(fragment: DtlsHandshakeFragment): void {
  const { msgType, length, messageSeq, fragmentOffset, body } = fragment;
  if (!Number.isInteger(msgType) || msgType < 0 || msgType > 0xff) {
    throw new RangeError(`msg_type ${msgType} is not a byte`);
  }
  if (!Number.isInteger(messageSeq) || messageSeq < 0 || messageSeq > MAX_MESSAGE_SEQ) {
    throw new RangeError(`message_seq ${messageSeq} outside 0..${MAX_MESSAGE_SEQ}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_U24) {
    throw new RangeError(`length ${length} outside 0..${MAX_U24}`);
  }
  if (!Number.isInteger(fragmentOffset) || fragmentOffset < 0) {
    throw new RangeError(`fragment_offset ${fragmentOffset} is negative`);
  }
  if (fragmentOffset + body.length > length) {
    throw new RangeError(
      `fragment ${fragmentOffset}+${body.length} runs past the message length ${length}`,
    );
  }
}

/**
 * Appends one handshake fragment (header and bytes) to a writer.
 *
 * @param writer Where the fragment goes.
 * @param fragment The fragment; it must lie within its message's length.
 * @returns The writer.
 * @throws {RangeError} When a field does not fit its wire width or the fragment runs past
 *   the message length: that is a bug of the caller, not of the peer.
 */
export function writeDtlsHandshakeFragment(
  writer: Writer,
  fragment: DtlsHandshakeFragment,
): Writer {
  checkFields(fragment);
  return writer
    .u8(fragment.msgType)
    .u24(fragment.length)
    .u16(fragment.messageSeq)
    .u24(fragment.fragmentOffset)
    .u24(fragment.body.length)
    .bytes(fragment.body);
}

/**
 * Encodes one handshake fragment (header and bytes).
 *
 * @example Encoding the first 3 bytes of a 10-byte ClientHello
 * ```ts
 * import { encodeDtlsHandshakeFragment } from "@anchortls/handshake/dtls";
 * const bytes = encodeDtlsHandshakeFragment({
 *   msgType: 1, length: 10, messageSeq: 0, fragmentOffset: 0, body: new Uint8Array(3),
 * });
 * bytes.length; // 15
 * ```
 *
 * @param fragment The fragment; it must lie within its message's length.
 * @returns The 12-byte header followed by the fragment's bytes.
 * @throws {RangeError} When a field does not fit its wire width.
 */
export function encodeDtlsHandshakeFragment(fragment: DtlsHandshakeFragment): Uint8Array {
  return writeDtlsHandshakeFragment(
    new Writer(DTLS_HANDSHAKE_HEADER_LENGTH + fragment.body.length),
    fragment,
  ).finish();
}

/**
 * Reads one handshake fragment from a reader, checking that it lies within its message.
 *
 * The fragment's bytes are a view into the reader's buffer; copy them before the buffer is
 * reused.
 *
 * @param reader Positioned at a handshake header.
 * @returns The fragment.
 * @throws {TlsAlertError} `decode_error` when the header or the fragment's bytes are cut
 *   short; `illegal_parameter` when the fragment runs past the message length.
 */
export function readDtlsHandshakeFragment(reader: Reader): DtlsHandshakeFragment {
  const msgType = reader.u8();
  const length = reader.u24();
  const messageSeq = reader.u16();
  const fragmentOffset = reader.u24();
  const fragmentLength = reader.u24();
  if (fragmentOffset > length || fragmentLength > length - fragmentOffset) {
    throw illegal(
      `handshake fragment ${fragmentOffset}+${fragmentLength} runs past the message length ${length}`,
    );
  }
  const body = reader.bytes(fragmentLength);
  return { msgType, length, messageSeq, fragmentOffset, body };
}

/**
 * Splits the plaintext of one handshake record into its fragments.
 *
 * A record may carry several fragments back to back (RFC 6347 §4.2.3); it must hold at least
 * one and end exactly after the last.
 *
 * @example Reading back an encoded fragment
 * ```ts
 * import { decodeDtlsHandshakeRecord, encodeDtlsHandshakeFragment } from "@anchortls/handshake/dtls";
 * const record = encodeDtlsHandshakeFragment({
 *   msgType: 14, length: 0, messageSeq: 3, fragmentOffset: 0, body: new Uint8Array(0),
 * });
 * decodeDtlsHandshakeRecord(record)[0]?.msgType; // 14
 * ```
 *
 * @param plaintext The record's plaintext fragment.
 * @returns The handshake fragments, in order; their bytes are views into `plaintext`.
 * @throws {TlsAlertError} `decode_error` for an empty record or a header or fragment cut
 *   short; `illegal_parameter` when a fragment runs past its message length.
 */
export function decodeDtlsHandshakeRecord(plaintext: Uint8Array): DtlsHandshakeFragment[] {
  if (plaintext.length === 0) {
    throw new TlsAlertError(AlertDescription.decode_error, "empty handshake record");
  }
  const reader = new Reader(plaintext);
  const fragments: DtlsHandshakeFragment[] = [];
  while (reader.remaining > 0) fragments.push(readDtlsHandshakeFragment(reader));
  return fragments;
}

/**
 * Encodes a whole message as one unfragmented fragment: offset 0, fragment_length = length.
 *
 * This is the form every handshake message takes in the transcript hash (RFC 6347 §4.2.6),
 * however it was fragmented on the wire; DTLS hashes the full 12-byte header, message_seq
 * included, where TLS hashes a 4-byte one.
 *
 * @example Transcript bytes of a ServerHelloDone
 * ```ts
 * import { encodeDtlsHandshakeMessage } from "@anchortls/handshake/dtls";
 * encodeDtlsHandshakeMessage({ msgType: 14, messageSeq: 2, body: new Uint8Array(0) }).toHex();
 * // "0e0000000002000000000000"
 * ```
 *
 * @param message The message.
 * @returns The 12-byte header followed by the whole body.
 * @throws {RangeError} When a field does not fit its wire width.
 */
export function encodeDtlsHandshakeMessage(message: DtlsHandshakeMessage): Uint8Array {
  return encodeDtlsHandshakeFragment({
    msgType: message.msgType,
    length: message.body.length,
    messageSeq: message.messageSeq,
    fragmentOffset: 0,
    body: message.body,
  });
}
