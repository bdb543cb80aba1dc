/**
 * A UDP socket connected to one peer, as Web Streams of whole datagrams: the link DTLS runs on.
 *
 * Built on `node:dgram`, not `Deno.listenDatagram`: in Deno 2.9 the latter still needs the
 * `--unstable-net` flag, and a library must not make its users run with unstable flags.
 * `node:dgram` needs no flag, only `--allow-net`.
 *
 * UDP has no back-pressure: when the reader falls behind by more than `maxQueuedDatagrams`,
 * further datagrams are dropped and counted, exactly as a full socket buffer would drop them;
 * DTLS retransmission recovers from that.
 *
 * @module
 */

import dgram from "node:dgram";
import { lookup } from "node:dns/promises";

/** Most bytes of payload a UDP datagram over IPv4 can carry. */
export const MAX_UDP_PAYLOAD = 65_507;

/** Default number of received datagrams held for a slow reader before new ones are dropped. */
export const DEFAULT_MAX_QUEUED_DATAGRAMS = 256;

/** A host and port. */
export interface UdpAddress {
  /** The numeric address (IPv4 dotted or IPv6). */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
}

/** Counters of a {@linkcode DatagramLink}. */
export interface DatagramLinkStats {
  /** Datagrams from the peer handed to the readable side. */
  readonly received: number;
  /** Datagrams sent. */
  readonly sent: number;
  /** Datagrams dropped because they came from another address than the peer's. */
  readonly foreignDropped: number;
  /** Datagrams dropped because the reader was `maxQueuedDatagrams` behind. */
  readonly overflowDropped: number;
}

/** A UDP socket connected to one peer. */
export interface DatagramLink {
  /** One chunk per datagram received from the peer; closes when the link is closed. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Each chunk written goes out as one datagram; closing or aborting it closes the link. */
  readonly writable: WritableStream<Uint8Array>;
  /** Our bound address. */
  readonly localAddress: UdpAddress;
  /** The peer's address, as resolved. */
  readonly remoteAddress: UdpAddress;
  /** What the link has done so far. */
  readonly stats: DatagramLinkStats;
  /**
   * Sends one datagram.
   *
   * @param datagram The payload, at most {@linkcode MAX_UDP_PAYLOAD} bytes.
   * @returns Resolves once the datagram is handed to the operating system.
   */
  send(datagram: Uint8Array): Promise<void>;
  /** Closes the socket and both streams; calling it again does nothing. @returns Resolves once closed. */
  close(): Promise<void>;
}

/** Options for {@linkcode connectUdp}. */
export interface ConnectUdpOptions {
  /** Local address to bind; the wildcard of the peer's address family when left out. */
  localHostname?: string;
  /** Received datagrams held for a slow reader. @default {DEFAULT_MAX_QUEUED_DATAGRAMS} */
  maxQueuedDatagrams?: number;
}

/** A UDP link failed: name resolution, binding, or sending on a closed or broken socket. */
export class DatagramLinkError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options The underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatagramLinkError";
  }
}

function wrap(message: string, cause: unknown): DatagramLinkError {
  const reason = cause instanceof Error ? `: ${cause.message}` : "";
  return new DatagramLinkError(`${message}${reason}`, { cause });
}

/**
 * Opens a UDP socket on an ephemeral port and connects it to one peer; datagrams from any
 * other address are dropped and counted.
 *
 * @example Echoing a datagram off a loopback socket
 * ```ts
 * import dgram from "node:dgram";
 * import { connectUdp } from "@anchortls/client/advanced";
 * const echo = dgram.createSocket("udp4");
 * echo.on("message", (m, from) => echo.send(m, from.port, from.address));
 * await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", resolve));
 * const link = await connectUdp("127.0.0.1", echo.address().port);
 * await link.send(new Uint8Array([1, 2, 3]));
 * const { value } = await link.readable.getReader().read(); // Uint8Array [1, 2, 3]
 * await link.close();
 * echo.close();
 * ```
 *
 * @param hostname The peer's name or address.
 * @param port The peer's UDP port.
 * @param options Local address and receive queue bound.
 * @returns The connected link.
 * @throws {DatagramLinkError} When the name does not resolve or the socket cannot be bound
 *   or connected.
 */
export async function connectUdp(
  hostname: string,
  port: number,
  options: ConnectUdpOptions = {},
): Promise<DatagramLink> {
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
    throw new RangeError(`port ${port} outside 1..65535`);
  }
  const maxQueued = options.maxQueuedDatagrams ?? DEFAULT_MAX_QUEUED_DATAGRAMS;
  if (!Number.isInteger(maxQueued) || maxQueued < 1) {
    throw new RangeError(`maxQueuedDatagrams ${maxQueued} must be a positive integer`);
  }
  let peer: { address: string; family: number };
  try {
    peer = await lookup(hostname);
  } catch (err) {
    throw wrap(`cannot resolve ${hostname}`, err);
  }
  const socket = dgram.createSocket(peer.family === 6 ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(
        { port: 0, ...(options.localHostname ? { address: options.localHostname } : {}) },
        () => {
          socket.off("error", reject);
          resolve();
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, peer.address, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    socket.close();
    throw wrap(`cannot open a UDP socket to ${hostname}:${port}`, err);
  }
  return new NodeDatagramLink(socket, { hostname: peer.address, port }, maxQueued);
}

class NodeDatagramLink implements DatagramLink {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly localAddress: UdpAddress;
  readonly remoteAddress: UdpAddress;
  readonly #socket: dgram.Socket;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed: Promise<void> | undefined;
  #received = 0;
  #sent = 0;
  #foreignDropped = 0;
  #overflowDropped = 0;

  constructor(socket: dgram.Socket, remote: UdpAddress, maxQueued: number) {
    this.#socket = socket;
    this.remoteAddress = remote;
    const local = socket.address();
    this.localAddress = { hostname: local.address, port: local.port };
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => this.close(),
      },
      new CountQueuingStrategy({ highWaterMark: maxQueued }),
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.send(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
    socket.on("message", (message: Uint8Array, from: dgram.RemoteInfo) => {
      if (this.#closed !== undefined) return;
      if (from.address !== remote.hostname || from.port !== remote.port) {
        this.#foreignDropped++;
        return;
      }
      if ((this.#controller.desiredSize ?? 0) <= 0) {
        this.#overflowDropped++;
        return;
      }
      this.#received++;
      this.#controller.enqueue(new Uint8Array(message));
    });
    socket.on("error", (err: unknown) => {
      if (this.#closed !== undefined) return;
      this.#controller.error(wrap("UDP socket failed", err));
      void this.close();
    });
  }

  get stats(): DatagramLinkStats {
    return {
      received: this.#received,
      sent: this.#sent,
      foreignDropped: this.#foreignDropped,
      overflowDropped: this.#overflowDropped,
    };
  }

  send(datagram: Uint8Array): Promise<void> {
    if (this.#closed !== undefined) {
      return Promise.reject(new DatagramLinkError("send on a closed UDP link"));
    }
    if (datagram.length > MAX_UDP_PAYLOAD) {
      return Promise.reject(
        new RangeError(`a datagram of ${datagram.length} bytes exceeds ${MAX_UDP_PAYLOAD}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#socket.send(datagram, (err: unknown) => {
        if (err) {
          reject(wrap("UDP send failed", err));
        } else {
          this.#sent++;
          resolve();
        }
      });
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      try {
        this.#controller.close();
      } catch {
        // Already closed or errored by the reader's side: nothing left to close.
      }
      this.#socket.close(() => resolve());
    });
    return this.#closed;
  }
}
