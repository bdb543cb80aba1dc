/**
 * An in-memory connection for tests: the client's end is a `ByteTransport` for `startTls`,
 * the server's end reads and writes like a `Deno.TcpConn`, so a scripted server runs without a
 * socket. Each direction ends on its writer's `closeWrite()` or either side's `close()`, and a
 * write into a closed direction fails as a write to a reset socket does.
 *
 * @module
 */

import type { ByteTransport } from "@anchortls/client/advanced";

/** The server's end: the part of `Deno.TcpConn` a scripted peer uses. */
export interface PeerConnection {
  /** Reads into `buffer`; `null` at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; rejects once the client has gone. */
  write(bytes: Uint8Array): Promise<number>;
  /** Ends the direction towards the client. */
  closeWrite(): Promise<void>;
  /** Ends both directions. */
  close(): void;
}

/** One direction: bytes queued by the writer until the reader takes them. */
class Direction {
  readonly #chunks: Uint8Array[] = [];
  #wake = Promise.withResolvers<void>();
  /** The writer ended it: the reader sees the end once the queue is empty. */
  #ended = false;
  /** The reader went away: writes fail. */
  #abandoned = false;

  write(bytes: Uint8Array): number {
    if (this.#ended || this.#abandoned) throw new Deno.errors.BrokenPipe("peer closed");
    if (bytes.length > 0) this.#chunks.push(bytes.slice());
    this.#wake.resolve();
    return bytes.length;
  }

  end(): void {
    this.#ended = true;
    this.#wake.resolve();
  }

  abandon(): void {
    this.#abandoned = true;
    this.#chunks.length = 0;
    this.end();
  }

  async read(limit: number): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        if (chunk.length <= limit) return chunk;
        this.#chunks.unshift(chunk.subarray(limit));
        return chunk.subarray(0, limit);
      }
      if (this.#ended) return null;
      await this.#wake.promise;
      this.#wake = Promise.withResolvers<void>();
    }
  }
}

/** Bytes handed to the client per read: two full records, as `connectTls` reads a socket. */
const CLIENT_READ = 2 * (16_384 + 2048 + 5);

/**
 * A connected pair of ends.
 *
 * @returns The client's transport and the server's connection.
 */
export function memoryConnection(): { client: ByteTransport; server: PeerConnection } {
  const toServer = new Direction();
  const toClient = new Direction();
  const client: ByteTransport = {
    readable: new ReadableStream<Uint8Array>({
      async pull(controller) {
        const chunk = await toClient.read(CLIENT_READ);
        if (chunk === null) controller.close();
        else controller.enqueue(chunk.slice());
      },
    }),
    writable: new WritableStream<Uint8Array>({
      write(chunk) {
        toServer.write(chunk);
      },
    }),
    closeWrite: () => toServer.end(),
    close: () => {
      toServer.end();
      toClient.abandon();
    },
  };
  const server: PeerConnection = {
    async read(buffer) {
      const chunk = await toServer.read(buffer.length);
      if (chunk === null) return null;
      buffer.set(chunk);
      return chunk.length;
    },
    write: (bytes) => Promise.resolve().then(() => toClient.write(bytes)),
    closeWrite: () => Promise.resolve(toClient.end()),
    close: () => {
      toClient.end();
      toServer.abandon();
    },
  };
  return { client, server };
}
