/**
 * TLS handshake message framing (RFC 5246 §7.4): the 4-byte header, and a deframer that cuts
 * the handshake content stream into messages however records split or pack them.
 *
 * DTLS frames the same message bodies with a 12-byte header (see `dtls/`); the state machine
 * only sees {@linkcode HandshakeMessage}s, so either framing can feed it.
 *
 * @module
 */

import { AlertDescription, TlsAlertError, Writer } from "@anchortls/record";

/** TLS handshake header length: msg_type(1) length(3). */
export const TLS_HANDSHAKE_HEADER_LENGTH = 4;

/** The largest handshake message we accept; long certificate chains fit. */
export const MAX_HANDSHAKE_MESSAGE_LENGTH = 65_536;

/** One whole handshake message. */
export interface HandshakeMessage {
  /** The handshake type. */
  readonly type: number;
  /** The body, without any header. */
  readonly body: Uint8Array;
  /**
   * The bytes that go into the transcript hash: the TLS header and body; in DTLS, the
   * reassembled message with its 12-byte header (fragment_offset 0, fragment_length = length).
   */
  readonly transcriptBytes: Uint8Array;
}

/**
 * Frames a body with the TLS handshake header.
 *
 * @example
 * ```ts
 * import { encodeTlsHandshake } from "@anchortls/handshake";
 * encodeTlsHandshake(14, new Uint8Array(0)); // Uint8Array [14, 0, 0, 0]
 * ```
 *
 * @param type The handshake type.
 * @param body The message body.
 * @returns The framed message.
 */
export function encodeTlsHandshake(type: number, body: Uint8Array): Uint8Array {
  return new Writer(body.length + TLS_HANDSHAKE_HEADER_LENGTH).u8(type).u24(body.length)
    .bytes(body).finish();
}

/**
 * Cuts the TLS handshake content stream into whole messages.
 *
 * @example Two messages split across three pushes
 * ```ts
 * import { TlsHandshakeDeframer } from "@anchortls/handshake";
 * const d = new TlsHandshakeDeframer();
 * d.push(new Uint8Array([14, 0]));
 * d.push(new Uint8Array([0, 0, 0]));
 * d.next()?.type; // 14
 * d.push(new Uint8Array([0, 0]));
 * d.next()?.type; // 0
 * ```
 */
export class TlsHandshakeDeframer {
  // Received bytes live in #buffer[#start, #end): appending and taking messages move the
  // offsets instead of copying what is left, so a message sent one byte per record, or
  // thousands of tiny messages in one record, costs linear time, not quadratic.
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;
  readonly #maxLength: number;

  /**
   * Creates a deframer.
   *
   * @param maxLength Largest message body accepted.
   */
  constructor(maxLength: number = MAX_HANDSHAKE_MESSAGE_LENGTH) {
    this.#maxLength = maxLength;
  }

  /** True while part of a message is buffered; a key change must not happen then. */
  get hasPartialMessage(): boolean {
    return this.#end > this.#start;
  }

  /**
   * Adds handshake record content.
   *
   * @param bytes The content of one handshake record.
   * @throws {TlsAlertError} `unexpected_message` for an empty record (RFC 5246 §6.2.1).
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      throw new TlsAlertError(AlertDescription.unexpected_message, "empty handshake record");
    }
    const pending = this.#end - this.#start;
    if (this.#end + bytes.length > this.#buffer.length) {
      const needed = pending + bytes.length;
      const target = needed <= this.#buffer.length
        ? this.#buffer
        : new Uint8Array(Math.max(needed, this.#buffer.length * 2, 1024));
      target.set(this.#buffer.subarray(this.#start, this.#end), 0);
      this.#buffer = target;
      this.#start = 0;
      this.#end = pending;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * Takes the next whole message, if one is buffered.
   *
   * @returns The message, or `undefined` when more bytes are needed.
   * @throws {TlsAlertError} `decode_error` when a header announces a body over the limit.
   */
  next(): HandshakeMessage | undefined {
    const b = this.#buffer;
    const at = this.#start;
    if (this.#end - at < TLS_HANDSHAKE_HEADER_LENGTH) return undefined;
    const length = (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    if (length > this.#maxLength) {
      throw new TlsAlertError(
        AlertDescription.decode_error,
        `handshake message of ${length} bytes exceeds ${this.#maxLength}`,
      );
    }
    const end = at + TLS_HANDSHAKE_HEADER_LENGTH + length;
    if (this.#end < end) return undefined;
    const transcriptBytes = b.slice(at, end);
    this.#start = end;
    if (this.#start === this.#end) {
      // Drained, as after the handshake: the buffer that held the server's chain goes.
      this.#start = this.#end = 0;
      this.#buffer = new Uint8Array(0);
    }
    return {
      type: transcriptBytes[0]!,
      body: transcriptBytes.subarray(TLS_HANDSHAKE_HEADER_LENGTH),
      transcriptBytes,
    };
  }
}

/**
 * How our handshake messages are framed on one transport: TLS's 4-byte header, or DTLS's
 * 12-byte header with message_seq (the form DTLS hashes). The client state machine frames its
 * messages for the transcript only through this; incoming messages reach it whole, each core
 * doing its own deframing (TLS) or reassembly (DTLS).
 */
export interface HandshakeFraming {
  /**
   * Frames an outgoing message whole; the result is both sent (a DTLS driver may fragment it)
   * and added to the transcript.
   *
   * @param type The handshake type.
   * @param body The message body.
   * @returns The framed message.
   */
  frame(type: number, body: Uint8Array): Uint8Array;
  /** The number the next framed message gets, from 0 (DTLS's message_seq). */
  readonly nextMessageSeq: number;
}

/**
 * TLS framing: {@linkcode encodeTlsHandshake} with a count of the messages framed.
 *
 * @example
 * ```ts
 * import { TlsHandshakeFraming } from "@anchortls/handshake";
 * const framing = new TlsHandshakeFraming();
 * framing.frame(14, new Uint8Array(0)).length; // 4
 * framing.nextMessageSeq; // 1
 * ```
 */
export class TlsHandshakeFraming implements HandshakeFraming {
  #framed = 0;

  /** How many messages were framed: TLS has no message_seq on the wire, but keeps count. */
  get nextMessageSeq(): number {
    return this.#framed;
  }

  /**
   * Frames with the 4-byte TLS header.
   *
   * @param type The handshake type.
   * @param body The body.
   * @returns The framed message.
   */
  frame(type: number, body: Uint8Array): Uint8Array {
    this.#framed++;
    return encodeTlsHandshake(type, body);
  }
}
