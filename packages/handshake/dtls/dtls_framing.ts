/**
 * The DTLS side of the {@linkcode HandshakeFraming} seam: outgoing messages get the 12-byte
 * DTLS header with consecutive message_seq numbers, the unfragmented form RFC 6347 §4.2.6
 * hashes. Incoming messages reach the state machine whole from the core's reassembler.
 *
 * @module
 */

import type { HandshakeFraming } from "../messages/framing.ts";
import { encodeDtlsHandshakeMessage } from "./handshake_header.ts";

/**
 * DTLS handshake framing for {@linkcode ClientHandshake}: `frame` numbers our messages.
 *
 * @example Framing a ClientHello
 * ```ts
 * import { DtlsHandshakeFraming } from "@anchortls/handshake/dtls";
 * const framing = new DtlsHandshakeFraming();
 * framing.frame(1, new Uint8Array(40)).length; // 52
 * framing.nextMessageSeq; // 1
 * ```
 */
export class DtlsHandshakeFraming implements HandshakeFraming {
  #nextMessageSeq = 0;

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
}
