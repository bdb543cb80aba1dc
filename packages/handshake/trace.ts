/**
 * What the connection cores tell a trace observer about each handshake message and
 * ChangeCipherSpec as it goes out or comes in: type, size and, in DTLS, its message_seq, epoch
 * and fragments. Never a message's contents, so a trace is safe to log (OpenSSL's
 * `SSL_set_msg_callback` hands out the bytes; this hook deliberately does not).
 *
 * @module
 */

import { handshakeTypeName } from "./messages/handshake_type.ts";

/** Which way a traced message went. */
export type TraceDirection = "sent" | "received";

/** One DTLS handshake fragment: where its bytes sit in the message body. */
export interface TracedFragment {
  /** fragment_offset. */
  readonly offset: number;
  /** fragment_length. */
  readonly length: number;
}

/** What DTLS adds to a traced message. */
export interface DtlsMessageTrace {
  /** The message's message_seq (RFC 6347 §4.2.2). */
  readonly messageSeq: number;
  /** The epoch of the records that carried it. */
  readonly epoch: number;
  /**
   * The fragments it was sent in, or (received) the fragments that arrived before it was
   * whole, duplicates and overlaps included, at most {@linkcode MAX_TRACED_FRAGMENTS}.
   */
  readonly fragments: readonly TracedFragment[];
  /** How many fragments there were in all; above `fragments.length` when the list is capped. */
  readonly fragmentCount: number;
  /** True when this is a resend of a flight (on the timer or the peer's retransmission). */
  readonly retransmission: boolean;
}

/** A handshake message, by type and size. */
export interface HandshakeMessageTrace {
  /** A handshake message. */
  readonly kind: "handshake";
  /** Sent by us or received from the server. */
  readonly direction: TraceDirection;
  /** The handshake type (RFC 5246 §7.4), e.g. 1 for ClientHello. */
  readonly msgType: number;
  /** The type's name, e.g. `"client_hello"`. */
  readonly name: string;
  /** The body's length in bytes, without the handshake header. */
  readonly length: number;
  /** True when it travelled under record protection (Finished, and anything after). */
  readonly encrypted: boolean;
  /** DTLS only: message_seq, epoch and fragments. */
  readonly dtls?: DtlsMessageTrace;
}

/** A ChangeCipherSpec: the records after it are protected. */
export interface ChangeCipherSpecTrace {
  /** A ChangeCipherSpec record. */
  readonly kind: "change_cipher_spec";
  /** Sent by us or received from the server. */
  readonly direction: TraceDirection;
  /** DTLS only: the epoch it was sent in, and whether this is a resend. */
  readonly dtls?: { readonly epoch: number; readonly retransmission: boolean };
}

/** One traced item, as passed to {@linkcode TraceOptions.onHandshakeMessage}. */
export type HandshakeTrace = HandshakeMessageTrace | ChangeCipherSpecTrace;

/** Most fragments listed per traced DTLS message: a peer cannot grow a trace without bound. */
export const MAX_TRACED_FRAGMENTS = 64;

/** The trace hook both cores take. */
export interface TraceOptions {
  /**
   * Told of every handshake message and ChangeCipherSpec as it is sent (once it is queued) or
   * received (once it is whole, before it is acted on), in order. It gets types and sizes
   * only, never contents. It runs inside the connection: it must return quickly, and what it
   * throws fails the connection.
   */
  readonly onHandshakeMessage?: (message: HandshakeTrace) => void;
}

/**
 * One line for a traced item, as the examples' `--verbose` prints it.
 *
 * @example
 * ```ts
 * import { describeTrace } from "@anchortls/handshake";
 * describeTrace({
 *   kind: "handshake", direction: "received", msgType: 2, name: "server_hello",
 *   length: 85, encrypted: false,
 * }); // "← server_hello (85 bytes)"
 * ```
 *
 * @param item What the hook was given.
 * @returns An arrow for the direction, the name, the size and any DTLS detail.
 */
export function describeTrace(item: HandshakeTrace): string {
  const arrow = item.direction === "sent" ? "→" : "←";
  if (item.kind === "change_cipher_spec") {
    const again = item.dtls?.retransmission ? ", resent" : "";
    return `${arrow} change_cipher_spec (protection on from here${again})`;
  }
  const notes = [`${item.length} bytes`];
  if (item.encrypted) notes.push("encrypted");
  const dtls = item.dtls;
  if (dtls) {
    notes.push(`seq ${dtls.messageSeq}`, `epoch ${dtls.epoch}`);
    if (dtls.fragmentCount > 1) {
      const listed = dtls.fragments.map((f) => `${f.offset}+${f.length}`).join(" ");
      const more = dtls.fragmentCount > dtls.fragments.length
        ? ` …${dtls.fragmentCount - dtls.fragments.length} more`
        : "";
      notes.push(`${dtls.fragmentCount} fragments: ${listed}${more}`);
    }
    if (dtls.retransmission) notes.push("resent");
  }
  return `${arrow} ${item.name} (${notes.join(", ")})`;
}

/**
 * The record of a handshake message for the hook.
 *
 * @param direction Sent or received.
 * @param msgType Its type.
 * @param length Its body length.
 * @param encrypted Whether it travelled protected.
 * @param dtls DTLS detail, when DTLS.
 * @returns The trace item.
 */
export function handshakeMessageTrace(
  direction: TraceDirection,
  msgType: number,
  length: number,
  encrypted: boolean,
  dtls?: DtlsMessageTrace,
): HandshakeMessageTrace {
  return {
    kind: "handshake",
    direction,
    msgType,
    name: handshakeTypeName(msgType),
    length,
    encrypted,
    ...(dtls ? { dtls } : {}),
  };
}
