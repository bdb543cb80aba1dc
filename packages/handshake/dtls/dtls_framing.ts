/**
 * The DTLS side of the {@linkcode HandshakeFraming} seam: outgoing messages get the 12-byte
 * DTLS header with consecutive message_seq numbers, and incoming messages arrive already
 * reassembled, so the client state machine and its transcript see the unfragmented form
 * RFC 6347 §4.2.6 hashes.
 *
 * @module
 */

import { AlertDescription, Reader, TlsAlertError } from "@anchortls/record";
import type { HandshakeFraming, HandshakeMessage } from "../messages/framing.ts";
import { encodeDtlsHandshakeMessage, readDtlsHandshakeFragment } from "./handshake_header.ts";

/**
 * DTLS handshake framing for {@linkcode ClientHandshake}: `frame` numbers our messages, and
 * `push` takes one whole reassembled message (12-byte header with fragment_offset 0 and
 * fragment_length = length, then the body), as a `DtlsReassembler` hands them out.
 *
 * @example Framing a ClientHello and reading back a whole message
 * ```ts
 * import { DtlsHandshakeFraming, encodeDtlsHandshakeMessage } from "@anchortls/handshake/dtls";
 * const framing = new DtlsHandshakeFraming();
 * framing.frame(1, new Uint8Array(40)).length; // 52
 * framing.nextMessageSeq; // 1
 * framing.push(encodeDtlsHandshakeMessage({ msgType: 14, messageSeq: 3, body: new Uint8Array(0) }));
 * framing.next()?.type; // 14
 * ```
 */
export class DtlsHandshakeFraming implements HandshakeFraming {
  #nextMessageSeq = 0;
  readonly #queue: HandshakeMessage[] = [];

  /** The message_seq our next message gets. */
  get nextMessageSeq(): number {
    return this.#nextMessageSeq;
  }

  /**
   * Frames a message whole with the next message_seq; the driver fragments it to the MTU.
   *
   * @param type The handshake type.
   * @param body The message body.
   * @returns The 12-byte header and the body.
   */
  frame(type: number, body: Uint8Array): Uint8Array {
    return encodeDtlsHandshakeMessage({
      msgType: type,
      messageSeq: this.#nextMessageSeq++,
      body,
    });
  }

  /**
   * Adds one whole reassembled message.
   *
   * @param bytes The message in its unfragmented form.
   * @throws {TlsAlertError} `decode_error` for a fragment, several messages, or trailing bytes:
   *   reassembly is the driver's job, not this one's.
   */
  push(bytes: Uint8Array): void {
    const reader = new Reader(bytes);
    const fragment = readDtlsHandshakeFragment(reader);
    if (
      reader.remaining !== 0 || fragment.fragmentOffset !== 0 ||
      fragment.body.length !== fragment.length
    ) {
      throw new TlsAlertError(
        AlertDescription.decode_error,
        "DTLS framing takes one whole reassembled handshake message",
      );
    }
    this.#queue.push({ type: fragment.msgType, body: fragment.body, transcriptBytes: bytes });
  }

  /**
   * Takes the next message pushed.
   *
   * @returns The message, or `undefined` when none is waiting.
   */
  next(): HandshakeMessage | undefined {
    return this.#queue.shift();
  }

  /** Always false: messages arrive whole, and partial ones wait in the driver's reassembler. */
  get hasPartialMessage(): boolean {
    return false;
  }
}
