/**
 * A message-by-message view of a TLS connection, taken from the bytes on the wire: record
 * types and, while records are in the clear, the handshake messages they carry. The handshake
 * package has no trace hook, so this reads the TLS framing itself (RFC 5246 §6.2, §7.4). It
 * never looks inside protected records, and prints only message names and sizes.
 *
 * @module
 */

import { handshakeTypeName } from "@anchortls/handshake";
import { alertName } from "@anchortls/record";
import type { ByteTransport } from "@anchortls/client/advanced";

/** Which way bytes went. */
export type Direction = "client" | "server";

/** Bytes each way, counted on the transport. */
export interface WireCounters {
  /** Bytes we sent. */
  sent: number;
  /** Bytes we received. */
  received: number;
}

const RECORD_HEADER = 5;
const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/**
 * Follows one direction of a TLS byte stream and describes each record (sans-IO: fed chunks,
 * returns lines).
 */
export class TlsWireFollower {
  readonly #direction: Direction;
  #buffer: Uint8Array = new Uint8Array(0);
  #handshake: Uint8Array = new Uint8Array(0);
  #protected = false;
  #protectedHandshakes = 0;

  /**
   * Starts following one direction.
   *
   * @param direction Who sends the bytes fed here.
   */
  constructor(direction: Direction) {
    this.#direction = direction;
  }

  /**
   * Takes the next chunk of the stream.
   *
   * @param chunk Bytes as they crossed the transport.
   * @returns One line per complete record or handshake message in it.
   */
  push(chunk: Uint8Array): string[] {
    this.#buffer = concat(this.#buffer, chunk);
    const lines: string[] = [];
    while (this.#buffer.length >= RECORD_HEADER) {
      const length = (this.#buffer[3]! << 8) | this.#buffer[4]!;
      if (this.#buffer.length < RECORD_HEADER + length) break;
      const type = this.#buffer[0]!;
      const body = this.#buffer.subarray(RECORD_HEADER, RECORD_HEADER + length);
      lines.push(...this.#record(type, body));
      this.#buffer = this.#buffer.slice(RECORD_HEADER + length);
    }
    return lines.map((line) => `${this.#direction === "client" ? "→" : "←"} ${line}`);
  }

  #record(type: number, body: Uint8Array): string[] {
    switch (type) {
      case CONTENT.changeCipherSpec:
        this.#protected = true;
        return ["ChangeCipherSpec (protection on from here)"];
      case CONTENT.alert:
        if (this.#protected) return [`alert (protected, ${body.length}-byte record)`];
        return [
          body.length === 2
            ? `alert ${body[0] === 2 ? "fatal" : "warning"} ${alertName(body[1]!)}`
            : "alert (malformed)",
        ];
      case CONTENT.applicationData:
        return [`application data (${body.length}-byte record)`];
      case CONTENT.handshake:
        if (this.#protected) {
          // In TLS 1.2 the first protected handshake message each way is Finished.
          const name = this.#protectedHandshakes++ === 0 ? "finished" : "handshake";
          return [`${name} (protected, ${body.length}-byte record)`];
        }
        return this.#handshakeMessages(body);
      default:
        return [`record of unknown type ${type} (${body.length} bytes)`];
    }
  }

  #handshakeMessages(body: Uint8Array): string[] {
    this.#handshake = concat(this.#handshake, body);
    const lines: string[] = [];
    while (this.#handshake.length >= 4) {
      const length = (this.#handshake[1]! << 16) | (this.#handshake[2]! << 8) |
        this.#handshake[3]!;
      if (this.#handshake.length < 4 + length) break;
      lines.push(`${handshakeTypeName(this.#handshake[0]!)} (${length} bytes)`);
      this.#handshake = this.#handshake.slice(4 + length);
    }
    return lines;
  }
}

/**
 * Wraps a byte transport so every chunk is counted and, with `trace`, described.
 *
 * @param transport The real transport.
 * @param counters Incremented as bytes pass.
 * @param trace Receives one line per record or handshake message, or undefined for none.
 * @returns A transport with the same behaviour.
 */
export function observeTransport(
  transport: ByteTransport,
  counters: WireCounters,
  trace: ((line: string) => void) | undefined,
): ByteTransport {
  const follower = { client: new TlsWireFollower("client"), server: new TlsWireFollower("server") };
  const see = (direction: Direction, chunk: Uint8Array) => {
    counters[direction === "client" ? "sent" : "received"] += chunk.length;
    if (trace) { for (const line of follower[direction].push(chunk)) trace(line); }
  };
  return {
    ...observeStreams(transport, see),
    ...(transport.closeWrite ? { closeWrite: () => transport.closeWrite!() } : {}),
    close: () => transport.close(),
  };
}

/**
 * Passes a readable and a writable side through `see`: what is read as from the server, what
 * is written as from the client.
 *
 * @param sides The real streams (of a byte transport or a datagram link).
 * @param see Told of each chunk or datagram, before it is passed on.
 * @returns Streams with the same behaviour.
 */
export function observeStreams(
  sides: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  see: (direction: Direction, chunk: Uint8Array) => void,
): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  // Writes go straight to the real writer, so a write settles only when the transport took
  // the bytes: closeWrite() after the last write must not overtake it.
  const writer = sides.writable.getWriter();
  return {
    readable: sides.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          see("server", chunk);
          controller.enqueue(chunk);
        },
      }),
    ),
    writable: new WritableStream<Uint8Array>({
      async write(chunk) {
        see("client", chunk);
        await writer.write(chunk);
      },
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    }),
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
