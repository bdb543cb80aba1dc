/**
 * The TLS connection driver: it owns the transport, the Web Streams and the timer, and feeds
 * the sans-IO `TlsClientCore`, where every protocol rule lives.
 *
 * @module
 */

import type { HandshakeInfo } from "@anchortls/handshake";
import {
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
  type TlsClientConfig,
  TlsClientCore,
  type TlsClientEvent,
} from "@anchortls/handshake/tls";
import { ConnectionClosedError } from "./errors.ts";

/** A reliable, ordered byte transport (a TCP connection, a serial link, a test pipe). */
export interface ByteTransport {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  /** Ends our direction only (TCP half-close), if the transport can. */
  closeWrite?(): Promise<void> | void;
  /** Releases the transport in both directions. */
  close(): Promise<void> | void;
  /** Our end's address, when the transport has one (a `Deno.TcpConn` does). */
  readonly localAddr?: Deno.Addr;
  /** The peer's address, when the transport has one. */
  readonly remoteAddr?: Deno.Addr;
}

/** An established (or establishing) TLS connection. */
export interface TlsConnection {
  /**
   * Application data from the server, as a byte stream. Reading it is what drives the socket:
   * nothing is read from the network while nobody reads here. It ends at the server's
   * close_notify and errors with {@linkcode TruncationError} when the transport ends without
   * one, or with a `TlsAlertError` for an alert (`fromPeer` tells whose).
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Application data to the server; writes wait for the handshake, then for the transport.
   * Closing it sends close_notify and half-closes the transport.
   */
  readonly writable: WritableStream<Uint8Array>;
  /** Settles when the handshake completes or fails. */
  readonly handshake: Promise<HandshakeInfo>;
  /** Our end's address (for `connectTls`, the local TCP address). */
  readonly localAddr: Deno.Addr | undefined;
  /** The server's address (for `connectTls`, the TCP peer). */
  readonly remoteAddr: Deno.Addr | undefined;
  /**
   * Sends close_notify and half-closes the transport, as `Deno.TlsConn.closeWrite()` does:
   * `readable` goes on until the server closes. Later writes reject with
   * `ConnectionClosedError`.
   */
  closeWrite(): Promise<void>;
  /**
   * Sends close_notify (when the handshake finished) and closes the transport. Later writes
   * reject with `ConnectionClosedError`.
   */
  close(): Promise<void>;
  /** `close()`, for `await using tls = await connectTls(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@linkcode startTls}. */
export interface StartTlsOptions extends TlsClientConfig {
  /** Cancels the handshake; has no effect once it completed. */
  readonly signal?: AbortSignal;
  /** The clock. @default {Date.now} */
  readonly now?: () => number;
  /** Called once with the result when the handshake completes. */
  readonly onHandshake?: (info: HandshakeInfo) => void;
}

export { DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS };
export { MAX_CONSECUTIVE_EMPTY_RECORDS } from "@anchortls/handshake/tls";
export { MAX_CONSECUTIVE_WARNING_ALERTS } from "@anchortls/handshake";

/** How long closing waits for queued records to reach a peer that does not read. */
const FLUSH_TIMEOUT_MS = 1000;

/**
 * Runs the TLS client over an already open byte transport.
 *
 * @example Over a TCP connection of your own
 * ```ts ignore
 * import { startTls } from "@anchortls/client/advanced";
 * const tcp = await Deno.connect({ hostname: "127.0.0.1", port: 4433 });
 * const tls = startTls(tcp, { provider, trustAnchors, serverName: "localhost" });
 * await tls.handshake;
 * ```
 *
 * @param transport The byte transport; the connection owns it from now on.
 * @param options Handshake configuration, abort signal and clock.
 * @returns The connection; its `handshake` promise reports the outcome.
 */
export function startTls(transport: ByteTransport, options: StartTlsOptions): TlsConnection {
  return new Connection(transport, options);
}

class Connection implements TlsConnection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly handshake: Promise<HandshakeInfo>;
  readonly localAddr: Deno.Addr | undefined;
  readonly remoteAddr: Deno.Addr | undefined;
  readonly #transport: ByteTransport;
  readonly #core: TlsClientCore;
  readonly #input: ReadableStreamDefaultReader<Uint8Array>;
  readonly #output: WritableStreamDefaultWriter<Uint8Array>;
  readonly #now: () => number;
  /** The last write to the transport; writes complete in order. */
  #written: Promise<void> = Promise.resolve();
  /** The first failed transport write, reported when reading finds nothing better. */
  #writeError: unknown;
  #failure: unknown;
  #writeClosed = false;
  /** The caller closed it: writes get the closed error, whatever the handshake did. */
  #closedByCaller = false;
  #closed = false;
  #handshakeSettled = false;

  constructor(transport: ByteTransport, options: StartTlsOptions) {
    this.#transport = transport;
    this.localAddr = transport.localAddr;
    this.remoteAddr = transport.remoteAddr;
    this.#now = options.now ?? Date.now;
    this.#core = new TlsClientCore(options);
    this.#input = transport.readable.getReader();
    this.#output = transport.writable.getWriter();
    this.#output.closed.catch(() => {});
    this.handshake = this.#runHandshake(options.signal).then((info) => {
      this.#handshakeSettled = true;
      options.onHandshake?.(info);
      return info;
    }, (error) => {
      this.#handshakeSettled = true;
      throw error;
    });
    this.handshake.catch(() => {});
    this.readable = new ReadableStream({
      type: "bytes",
      pull: (controller) => this.#pull(controller),
      cancel: () => this.close(),
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => this.#closeWrite(),
      abort: () => this.close(),
    });
  }

  async #runHandshake(signal: AbortSignal | undefined): Promise<HandshakeInfo> {
    const stopped = Promise.withResolvers<never>();
    stopped.promise.catch(() => {});
    const onAbort = () => stopped.reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      signal?.throwIfAborted();
      await this.#core.start(this.#now());
      const deadline = this.#core.pollTimeout();
      if (deadline !== undefined) {
        // The timer is the clock here: when it fires, the deadline has come.
        timer = setTimeout(async () => {
          await this.#core.handleTimeout(deadline);
          if (this.#core.state === "failed") stopped.reject(this.#core.error);
        }, Math.max(0, deadline - this.#now()));
      }
      return await Promise.race([this.#handshakeLoop(), stopped.promise]);
    } catch (error) {
      // When close() or a failure elsewhere ended the connection first, that is the reason the
      // handshake stopped, not the closed-stream error it then ran into.
      const cause = this.#failure ?? error;
      await this.#fail(cause);
      throw cause;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async #handshakeLoop(): Promise<HandshakeInfo> {
    for (;;) {
      this.#transmit().catch((error) => {
        // A peer that refuses our flight usually says why in an alert and then closes;
        // reading on finds that alert, and the write error is the fallback when there is none.
        this.#writeError ??= error;
      });
      const event = this.#core.pollEvent();
      if (event) {
        if (event.kind === "connected") return event.info;
        this.#unexpected(event);
      }
      await this.#receive();
    }
  }

  /** A failure event ends the connection with its error; nothing else comes before connecting. */
  #unexpected(event: TlsClientEvent): never {
    if (event.kind === "failed") throw event.error;
    throw new TypeError(`TLS core event ${event.kind} before the handshake completed`);
  }

  /** Reads once from the transport and hands the bytes (or its end) to the core. */
  async #receive(): Promise<void> {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await this.#input.read();
    } catch (error) {
      throw this.#writeError ?? error;
    }
    if (chunk.done) {
      // Our flight failed to go out and the peer said nothing: that failure is the reason.
      if (this.#writeError) throw this.#writeError;
      await this.#core.handleEnd();
    } else {
      await this.#core.handleBytes(chunk.value, this.#now());
    }
  }

  /** Writes what the core queued, in order; resolves once those bytes are written. */
  #transmit(): Promise<void> {
    for (const bytes of this.#core.pollTransmit()) {
      const written = this.#output.write(bytes);
      // Once one write fails the stream is errored and so is every later one: the last write
      // reports the failure, the earlier ones need no handler of their own.
      written.catch(() => {});
      this.#written = written;
    }
    return this.#written;
  }

  async #pull(controller: ReadableByteStreamController): Promise<void> {
    await this.handshake;
    try {
      for (;;) {
        if (this.#failure) throw this.#failure;
        const event = this.#core.pollEvent();
        if (event?.kind === "data") {
          // A byte stream takes over the chunk's buffer; the record layer may reuse its own.
          controller.enqueue(event.data.slice());
          return;
        }
        if (event?.kind === "closed") {
          controller.close();
          await this.#closeWrite();
          return;
        }
        if (event?.kind === "failed") throw event.error;
        if (this.#closed) {
          controller.close();
          return;
        }
        await this.#receive();
        // What reading queued (our close_notify answer, a renegotiation refusal) goes out; a
        // failed write is reported to the writer's next write, not to the reader.
        this.#transmit().catch(() => {});
      }
    } catch (error) {
      await this.#fail(error);
      throw error;
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (this.#closedByCaller || this.#writeClosed) {
      throw new ConnectionClosedError("TLS connection is closed: write after close");
    }
    await this.handshake;
    if (this.#failure) throw this.#failure;
    if (this.#writeClosed || this.#closed) throw new ConnectionClosedError();
    try {
      await this.#core.send(chunk);
      await this.#transmit();
    } catch (error) {
      await this.#fail(error);
      throw error;
    }
  }

  async #closeWrite(): Promise<void> {
    if (this.#writeClosed) return;
    await this.handshake.catch(() => {});
    if (!this.#failure && !this.#closed) await this.#core.close();
    this.#writeClosed = true;
    await this.#flush();
    try {
      await this.#transport.closeWrite?.();
    } catch {
      // The peer may already have closed; nothing is lost since close_notify went out.
    }
  }

  async #fail(error: unknown): Promise<void> {
    if (this.#failure || this.#closed) return;
    this.#failure = error;
    // When the core failed first this waits for the alert it queued.
    await this.#core.fail(error);
    await this.#shutdown();
  }

  /** {@inheritDoc TlsConnection.closeWrite} */
  closeWrite(): Promise<void> {
    return this.#closeWrite();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.#closedByCaller = true;
    if (this.#closed) return;
    if (!this.#handshakeSettled) {
      await this.#fail(new DOMException("connection closed during the handshake", "AbortError"));
      return;
    }
    const established = await this.handshake.then(() => true, () => false);
    if (established && !this.#writeClosed) await this.#core.close();
    await this.#shutdown();
  }

  /**
   * Waits until the last records (close_notify, an alert) reached the transport, but not
   * forever: a peer that stopped reading must not keep us from closing.
   */
  async #flush(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#transmit().catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, FLUSH_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
  }

  async #shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeClosed = true;
    await this.#flush();
    this.#output.releaseLock();
    await this.#input.cancel().catch(() => {});
    this.#input.releaseLock();
    // A handshake cut short gives its secrets back and the record keys are wiped.
    const released = this.#core.release();
    try {
      await this.#transport.close();
    } catch {
      // Already closed by the peer or by a failed write.
    }
    await released;
  }
}
