/**
 * The DTLS connection driver: it owns the UDP link and the clock, feeds the sans-IO
 * `DtlsClientCore`, and exposes application messages as Web Streams of whole datagrams.
 *
 * @module
 */

import type { HandshakeInfo } from "@anchortls/handshake";
import {
  type DtlsClientConfig,
  DtlsClientCore,
  type DtlsClientStats,
} from "@anchortls/handshake/dtls";
import { ConnectionClosedError } from "./errors.ts";
import type { DatagramLink } from "./udp/mod.ts";

/** Counters of a {@linkcode DtlsConnection}. */
export interface DtlsConnectionStats extends DtlsClientStats {
  /** Messages dropped because nobody read `readable` and its queue was full. */
  readonly overflowDropped: number;
}

/** An established (or establishing) DTLS connection. */
export interface DtlsConnection {
  /**
   * Application messages from the server, one chunk per record as it arrived (datagram
   * semantics: loss and reordering are possible, duplicates and replays are not). It ends at
   * the server's close_notify and errors with a `TlsAlertError` for a fatal alert, or with
   * `DtlsHandshakeTimeoutError` when the handshake deadline passes.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Application messages to the server: each write is sent as one record in one datagram,
   * after the handshake. A write longer than `maxMessageLength` is rejected with a
   * `RangeError`, which (as for any failed write) errors this stream; use
   * {@linkcode DtlsConnection.send} to keep going after such a refusal. Closing it closes the
   * connection.
   */
  readonly writable: WritableStream<Uint8Array>;
  /** Settles when the handshake completes or fails. */
  readonly handshake: Promise<HandshakeInfo>;
  /** The largest message one write may carry under the current keys. */
  readonly maxMessageLength: number;
  /** What the connection has done so far (a snapshot). */
  readonly stats: DtlsConnectionStats;
  /**
   * Sends one message as one record in one datagram, after the handshake.
   *
   * @param message At most `maxMessageLength` bytes.
   * @returns Once the datagram is handed to the socket.
   * @throws {RangeError} When the message does not fit one datagram; nothing is sent and the
   *   connection goes on.
   */
  send(message: Uint8Array): Promise<void>;
  /**
   * Sends close_notify (or ends the handshake) and closes the UDP socket; `readable` ends, or
   * errors with `ConnectionClosedError` if the handshake had not completed.
   */
  close(): Promise<void>;
  /** `close()`, for `await using dtls = await connectDtls(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
  /** Our UDP address. */
  readonly localAddr: Deno.NetAddr;
  /** The server's UDP address. */
  readonly remoteAddr: Deno.NetAddr;
}

/** Options for {@linkcode startDtls}. */
export interface StartDtlsOptions extends DtlsClientConfig {
  /** Cancels the handshake; has no effect once it completed. */
  readonly signal?: AbortSignal;
  /** The clock, in ms since the epoch (certificates are checked against it). @default {Date.now} */
  readonly now?: () => number;
  /** Messages held for a reader before more are dropped. @default {256} */
  readonly maxQueuedMessages?: number;
}

/**
 * Runs the DTLS client over an open datagram link (connected to one peer).
 *
 * @example Over a UDP link of your own
 * ```ts ignore
 * import { connectUdp, startDtls } from "@anchortls/client/advanced";
 * const dtls = startDtls(await connectUdp("127.0.0.1", 4433), { provider, trustAnchors });
 * await dtls.handshake;
 * ```
 *
 * @param link The datagram link; the connection owns it from now on.
 * @param options Handshake configuration, MTU, timers, abort signal and clock.
 * @returns The connection; its `handshake` promise reports the outcome.
 */
export function startDtls(link: DatagramLink, options: StartDtlsOptions): DtlsConnection {
  return new Connection(link, options);
}

class Connection implements DtlsConnection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly handshake: Promise<HandshakeInfo>;
  readonly #link: DatagramLink;
  readonly #core: DtlsClientCore;
  readonly #now: () => number;
  readonly #handshakeResult = Promise.withResolvers<HandshakeInfo>();
  readonly #signal: AbortSignal | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #queue: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failure: unknown;
  #done = false;
  #readableOpen = true;
  #overflowDropped = 0;
  #connected = false;
  #closing: Promise<void> | undefined;

  constructor(link: DatagramLink, options: StartDtlsOptions) {
    this.#link = link;
    this.#now = options.now ?? Date.now;
    this.#core = new DtlsClientCore(options);
    this.handshake = this.#handshakeResult.promise;
    this.handshake.catch(() => {});
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => {
          this.#readableOpen = false;
        },
      },
      new CountQueuingStrategy({ highWaterMark: options.maxQueuedMessages ?? 256 }),
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.send(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort);
    void this.#step(() => this.#core.start(this.#now()));
    void this.#receive();
  }

  get maxMessageLength(): number {
    return this.#core.maxMessageLength;
  }

  get stats(): DtlsConnectionStats {
    return { ...this.#core.stats, overflowDropped: this.#overflowDropped };
  }

  get localAddr(): Deno.NetAddr {
    return { transport: "udp", ...this.#link.localAddress };
  }

  get remoteAddr(): Deno.NetAddr {
    return { transport: "udp", ...this.#link.remoteAddress };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async send(message: Uint8Array): Promise<void> {
    if (this.#closing) {
      throw new ConnectionClosedError("DTLS connection is closed: send after close");
    }
    await this.handshake;
    if (this.#done) throw this.#failure ?? new ConnectionClosedError("DTLS connection is closed");
    await this.#step(() => this.#core.send(message), true);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#endCore();
      this.#finish(
        this.#connected
          ? undefined
          : new ConnectionClosedError("DTLS connection closed before the handshake completed"),
      );
      await this.#link.close();
    })();
    return this.#closing;
  }

  readonly #onAbort = (): void => {
    if (this.#done || this.#core.state !== "handshaking") return;
    this.#finish(this.#signal!.reason);
    void this.close();
  };

  async #receive(): Promise<void> {
    const reader = this.#link.readable.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#done) break;
        await this.#step(() => this.#core.handleDatagram(value, this.#now()));
      }
    } catch (error) {
      this.#finish(error);
      void this.close().catch(() => {});
    } finally {
      reader.releaseLock();
    }
  }

  /**
   * Closes the core after the inputs before it, also once the streams have ended, so a
   * handshake cut short releases its secret handles; the alerts it queues go out while the
   * link still takes them.
   */
  #endCore(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      await this.#core.close();
      for (const datagram of this.#core.pollTransmit()) await this.#link.send(datagram);
    }).catch(() => {});
    return this.#queue;
  }

  /**
   * Runs one core input after the ones before it, then sends what it produced and passes on
   * its events. With `rethrow`, the input's own error reaches the caller (a write too large).
   */
  #step(input: () => Promise<void>, rethrow = false): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#done && !rethrow) return;
      await input();
      await this.#flush();
    });
    this.#queue = run.catch((error) => {
      if (!rethrow) this.#finish(error);
    });
    return rethrow ? run : this.#queue;
  }

  async #flush(): Promise<void> {
    for (const datagram of this.#core.pollTransmit()) await this.#link.send(datagram);
    for (let event = this.#core.pollEvent(); event; event = this.#core.pollEvent()) {
      switch (event.kind) {
        case "connected":
          this.#connected = true;
          this.#handshakeResult.resolve(event.info);
          this.#signal?.removeEventListener("abort", this.#onAbort);
          break;
        case "data":
          if (!this.#readableOpen) break;
          if ((this.#controller.desiredSize ?? 0) <= 0) this.#overflowDropped++;
          else this.#controller.enqueue(event.data);
          break;
        case "closed":
          this.#finish(undefined);
          void this.#link.close();
          break;
        case "failed":
          this.#finish(event.error);
          void this.#link.close();
          break;
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const at = this.#core.pollTimeout();
    if (at === undefined || this.#done) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#step(() => this.#core.handleTimeout(this.#now()));
    }, Math.max(0, at - this.#now()));
  }

  /** Ends the streams once: cleanly for `undefined`, else with the error. */
  #finish(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#failure = error;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
    if (!this.#connected) void this.#endCore();
    this.#handshakeResult.reject(error ?? new ConnectionClosedError());
    if (this.#readableOpen) {
      this.#readableOpen = false;
      try {
        if (error === undefined) this.#controller.close();
        else this.#controller.error(error);
      } catch {
        // The reader already cancelled it.
      }
    }
  }
}
