/**
 * A TCP connection as a {@linkcode ByteLink}, for a serial port exposed over the network by a
 * bridge such as ser2net, or for an emulated chip listening on a port.
 *
 * @module
 */

import type { ByteLink } from "./byte_link.ts";
import { parseLinkUrl } from "./link_address.ts";

/** Where to connect. */
export interface TcpLinkAddress {
  /** Host name or IP address. */
  hostname: string;
  /** TCP port. */
  port: number;
}

/** Wraps an open connection; reads and writes go straight to the socket, so close is prompt. */
export class TcpLink implements ByteLink {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly #conn: Deno.Conn;
  #closing = false;

  /**
   * Takes over a connection (from `Deno.connect` or a listener's `accept`).
   *
   * @param conn The connection; the link closes it.
   */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    const buffer = new Uint8Array(16384);
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let n: number | null;
        try {
          n = await conn.read(buffer);
        } catch (error) {
          if (this.#closing) controller.close();
          else controller.error(error);
          return;
        }
        if (n === null) controller.close();
        else controller.enqueue(buffer.slice(0, n));
      },
      cancel: () => this.close(),
    });
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
      },
    });
  }

  /** Closes the connection; a pending read ends the readable side. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#conn.close();
    }
    return Promise.resolve();
  }
}

/**
 * Connects to a TCP bridge with Nagle's algorithm off (APDU exchanges are small and
 * latency-bound).
 *
 * @example
 * ```ts ignore
 * import { connectTcpLink } from "@anchortls/transport-serial";
 * const link = await connectTcpLink("tcp:127.0.0.1:3333");
 * await link.close();
 * ```
 *
 * @param target `tcp:HOST:PORT`, or host and port.
 * @returns The open link. Needs `--allow-net`.
 * @throws {RangeError} When the string is not a TCP link address.
 */
export async function connectTcpLink(target: string | TcpLinkAddress): Promise<TcpLink> {
  let address = target;
  if (typeof address === "string") {
    const parsed = parseLinkUrl(address);
    if (parsed.kind !== "tcp") throw new RangeError(`"${target}" is not a tcp:HOST:PORT address`);
    address = parsed;
  }
  const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
  conn.setNoDelay(true);
  return new TcpLink(conn);
}
