/**
 * Byte counters on the examples' transports. The message-by-message trace comes from the
 * library's own hook (`onHandshakeMessage`), not from reading the wire.
 *
 * @module
 */

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

/**
 * Wraps a byte transport so every chunk is counted.
 *
 * @param transport The real transport.
 * @param counters Incremented as bytes pass.
 * @returns A transport with the same behaviour.
 */
export function observeTransport(transport: ByteTransport, counters: WireCounters): ByteTransport {
  const see = (direction: Direction, chunk: Uint8Array) => {
    counters[direction === "client" ? "sent" : "received"] += chunk.length;
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
