/**
 * Reassembly of incoming DTLS handshake messages from their fragments (RFC 6347 §4.2.3),
 * in message_seq order, with memory held within explicit bounds.
 *
 * Fragments may arrive in any order, overlap or repeat. Messages ahead of the one expected
 * next are buffered, up to a number of messages and a number of bytes; past those bounds
 * they are dropped, which is safe because the peer retransmits its whole flight. Fragments
 * of messages already delivered are reported as a retransmission, the signal that the peer
 * lost our last flight (§4.2.4).
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "@anchortls/record";
import type { DtlsHandshakeFragment, DtlsHandshakeMessage } from "./handshake_header.ts";

/**
 * Default largest message body accepted: 64 KiB holds a certificate chain of several RSA
 * certificates, and nothing in a TLS 1.2 handshake is legitimately larger.
 */
export const DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH = 65_536;

/**
 * Default number of messages past the expected one that are buffered: a server's longest
 * flight (ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone)
 * has five messages, so a whole flight fits behind a lost first message.
 */
export const DEFAULT_MAX_MESSAGES_AHEAD = 8;

/** Default bytes held for messages ahead of the expected one: two full-size messages. */
export const DEFAULT_MAX_BUFFERED_BYTES = 131_072;

/** Options for {@linkcode DtlsReassembler}. */
export interface DtlsReassemblerOptions {
  /** message_seq of the first message expected from the peer. @default {0} */
  nextMessageSeq?: number;
  /**
   * Largest message body accepted; a fragment announcing more is fatal.
   * @default {DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH}
   */
  maxMessageLength?: number;
  /**
   * How many messages past the expected one are buffered; fragments of later ones are dropped.
   * @default {DEFAULT_MAX_MESSAGES_AHEAD}
   */
  maxMessagesAhead?: number;
  /**
   * Bytes that messages past the expected one may hold together (each counts its full
   * announced length from its first fragment on); a fragment that would need more is dropped.
   * The expected message itself is bounded by `maxMessageLength` alone, so a full buffer can
   * never block progress. @default {DEFAULT_MAX_BUFFERED_BYTES}
   */
  maxBufferedBytes?: number;
}

/** What {@linkcode DtlsReassembler.push} did with a fragment. */
export type DtlsFragmentOutcome =
  /** Stored (or already held: a duplicate or overlap); look for messages with `next()`. */
  | { readonly kind: "accepted" }
  /**
   * Belongs to a message already delivered: the peer is retransmitting, so our last flight
   * may have been lost (RFC 6347 §4.2.4).
   */
  | { readonly kind: "retransmission"; readonly messageSeq: number }
  /** Not stored because holding it would pass a bound; the peer's retransmission recovers it. */
  | { readonly kind: "dropped"; readonly reason: "too_far_ahead" | "buffer_full" };

/** One message being put together: its buffer and which of its bytes have arrived. */
class PartialMessage {
  readonly msgType: number;
  readonly body: Uint8Array;
  readonly #received: Uint8Array;
  #missing: number;

  constructor(msgType: number, length: number) {
    this.msgType = msgType;
    this.body = new Uint8Array(length);
    this.#received = new Uint8Array(Math.ceil(length / 8));
    this.#missing = length;
  }

  get complete(): boolean {
    return this.#missing === 0;
  }

  /** Copies in the bytes not seen before; bytes already held are kept (first copy wins). */
  add(offset: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const at = offset + i;
      const bit = 1 << (at & 7);
      const slot = at >>> 3;
      if ((this.#received[slot]! & bit) !== 0) continue;
      this.#received[slot]! |= bit;
      this.body[at] = bytes[i]!;
      this.#missing--;
    }
  }
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * Puts incoming handshake fragments back together and hands out whole messages in
 * message_seq order.
 *
 * Feed every fragment of every handshake record to `push`, then call `next()` until it
 * returns `undefined`. The bytes of a pushed fragment are copied, so the record buffer may be
 * reused at once.
 *
 * @example Reassembling a message sent in two fragments, second one first
 * ```ts
 * import { DtlsReassembler } from "@anchortls/handshake/dtls";
 * const reassembler = new DtlsReassembler();
 * const body = new Uint8Array([1, 2, 3, 4]);
 * const part = (fragmentOffset: number, end: number) => ({
 *   msgType: 11, length: 4, messageSeq: 0, fragmentOffset,
 *   body: body.subarray(fragmentOffset, end),
 * });
 * reassembler.push(part(2, 4));
 * reassembler.next(); // undefined: bytes 0..2 are missing
 * reassembler.push(part(0, 2));
 * reassembler.next(); // { msgType: 11, messageSeq: 0, body: Uint8Array [1, 2, 3, 4] }
 * ```
 */
export class DtlsReassembler {
  readonly #maxMessageLength: number;
  readonly #maxMessagesAhead: number;
  readonly #maxBufferedBytes: number;
  readonly #partial = new Map<number, PartialMessage>();
  #nextMessageSeq: number;
  #bufferedAheadBytes = 0;

  /**
   * Creates a reassembler expecting `nextMessageSeq` first.
   *
   * @param options Bounds and the first message_seq expected.
   * @throws {RangeError} When an option is not a non-negative integer.
   */
  constructor(options: DtlsReassemblerOptions = {}) {
    this.#nextMessageSeq = positiveInteger(options.nextMessageSeq ?? 0, "nextMessageSeq");
    this.#maxMessageLength = positiveInteger(
      options.maxMessageLength ?? DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH,
      "maxMessageLength",
    );
    this.#maxMessagesAhead = positiveInteger(
      options.maxMessagesAhead ?? DEFAULT_MAX_MESSAGES_AHEAD,
      "maxMessagesAhead",
    );
    this.#maxBufferedBytes = positiveInteger(
      options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      "maxBufferedBytes",
    );
  }

  /** message_seq of the next message `next()` will return. */
  get nextMessageSeq(): number {
    return this.#nextMessageSeq;
  }

  /** Bytes currently reserved for messages past the expected one. */
  get bufferedAheadBytes(): number {
    return this.#bufferedAheadBytes;
  }

  /**
   * Takes one fragment.
   *
   * @param fragment A fragment as decoded from a handshake record (its offset and length
   *   already checked against each other by the header codec).
   * @returns Whether it was stored, recognised as a retransmission, or dropped.
   * @throws {TlsAlertError} `illegal_parameter` when the fragment announces a message longer
   *   than `maxMessageLength`, or disagrees on type or length with earlier fragments of the
   *   same message.
   */
  push(fragment: DtlsHandshakeFragment): DtlsFragmentOutcome {
    const seq = fragment.messageSeq;
    if (seq < this.#nextMessageSeq) return { kind: "retransmission", messageSeq: seq };
    if (seq > this.#nextMessageSeq + this.#maxMessagesAhead) {
      return { kind: "dropped", reason: "too_far_ahead" };
    }
    if (fragment.length > this.#maxMessageLength) {
      throw new TlsAlertError(
        AlertDescription.illegal_parameter,
        `handshake message ${seq} announces ${fragment.length} bytes, more than the ${this.#maxMessageLength} allowed`,
      );
    }
    let message = this.#partial.get(seq);
    if (message === undefined) {
      const ahead = seq !== this.#nextMessageSeq;
      if (ahead && this.#bufferedAheadBytes + fragment.length > this.#maxBufferedBytes) {
        return { kind: "dropped", reason: "buffer_full" };
      }
      message = new PartialMessage(fragment.msgType, fragment.length);
      this.#partial.set(seq, message);
      if (ahead) this.#bufferedAheadBytes += fragment.length;
    } else if (message.msgType !== fragment.msgType || message.body.length !== fragment.length) {
      throw new TlsAlertError(
        AlertDescription.illegal_parameter,
        `handshake message ${seq} fragments disagree: type ${message.msgType} length ${message.body.length}, then type ${fragment.msgType} length ${fragment.length}`,
      );
    }
    message.add(fragment.fragmentOffset, fragment.body);
    return { kind: "accepted" };
  }

  /**
   * Hands out the expected message once all its bytes are in, and moves on to the next.
   *
   * @returns The message, or `undefined` while it is incomplete.
   */
  next(): DtlsHandshakeMessage | undefined {
    const seq = this.#nextMessageSeq;
    const message = this.#partial.get(seq);
    if (message === undefined || !message.complete) return undefined;
    this.#partial.delete(seq);
    this.#nextMessageSeq = seq + 1;
    const following = this.#partial.get(this.#nextMessageSeq);
    if (following !== undefined) this.#bufferedAheadBytes -= following.body.length;
    return { msgType: message.msgType, messageSeq: seq, body: message.body };
  }
}
