/**
 * The TLS connection driver: it owns the transport, the record streams and the clock, feeds
 * the sans-IO `ClientHandshake`, and exposes application data as byte Web Streams.
 *
 * @module
 */

import {
  alertForError,
  AlertPolicy,
  ClientHandshake,
  type ClientHandshakeConfig,
  type HandshakeAction,
  type HandshakeInfo,
  HandshakeTimeoutError,
  invalidateSession,
} from "@anchortls/handshake";
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  type InboundRecord,
  ProtocolVersion,
  RecordReader,
  RecordWriter,
  type RecordWriterInput,
  TlsAlertError,
} from "@anchortls/record";
import { ConnectionClosedError, TruncationError } from "./errors.ts";

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
  /** Sends close_notify (when the handshake finished) and closes the transport. */
  close(): Promise<void>;
}

/** Options for {@linkcode startTls}. */
export interface StartTlsOptions extends ClientHandshakeConfig {
  /** Cancels the handshake; has no effect once it completed. */
  readonly signal?: AbortSignal;
  /**
   * How long the handshake may take before it fails with a `HandshakeTimeoutError` (no alert
   * is sent); `Infinity` waits for ever (then pass a `signal`).
   * @default {DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS}
   */
  readonly handshakeTimeoutMs?: number;
  /** The clock. @default {Date.now} */
  readonly now?: () => number;
  /** Called once with the result when the handshake completes. */
  readonly onHandshake?: (info: HandshakeInfo) => void;
}

/** How long a TLS handshake may take by default: 60 s, so a trickling server cannot hold it. */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 60_000;

// Servers may put an older version in the header of a record that carries an alert about
// the version; everything we accept after that is checked by the handshake itself.
const HEADER_VERSIONS = [0x0300, 0x0301, 0x0302, 0x0303];

/** How long closing waits for queued records to reach a peer that does not read. */
const FLUSH_TIMEOUT_MS = 1000;

export { MAX_CONSECUTIVE_WARNING_ALERTS } from "@anchortls/handshake";

/**
 * Most empty application data records accepted in a row (OpenSSL's MAX_EMPTY_RECORDS): some
 * stacks send one before each record as a CBC countermeasure, an endless stream is an attack.
 * A non-empty record resets the count; one more is `unexpected_message`.
 */
export const MAX_CONSECUTIVE_EMPTY_RECORDS = 32;

/**
 * Runs the TLS client over an already open byte transport.
 *
 * @example Over a TCP connection of your own
 * ```ts ignore
 * import { startTls } from "@anchortls/client";
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
  readonly #transport: ByteTransport;
  readonly #core: ClientHandshake;
  readonly #recordReader = new RecordReader({ versions: HEADER_VERSIONS });
  readonly #records: ReadableStreamDefaultReader<InboundRecord>;
  readonly #out: WritableStreamDefaultWriter<RecordWriterInput>;
  readonly #recordWriter: RecordWriter;
  readonly #now: () => number;
  #failure: unknown;
  #sentCloseNotify = false;
  #writeClosed = false;
  #closed = false;
  #handshakeSettled = false;
  #writeError: unknown;
  #outClosed = false;
  #transportEnded = false;
  readonly #alerts = new AlertPolicy();
  #emptyRecordsInARow = 0;
  readonly #flushed: Promise<void>;

  constructor(transport: ByteTransport, options: StartTlsOptions) {
    this.#transport = transport;
    this.#now = options.now ?? Date.now;
    this.#core = new ClientHandshake(options);
    // Marks the end of the transport, so a record layer failing at that end (a record cut
    // short) is reported as the truncation it is. A bad header among the very last bytes may
    // be reported the same way; its decode_error stays as the cause.
    const endOfTransport = new TransformStream<Uint8Array, Uint8Array>({
      flush: () => {
        this.#transportEnded = true;
      },
    });
    this.#records = transport.readable.pipeThrough(endOfTransport).pipeThrough(this.#recordReader)
      .getReader();
    const recordWriter = new RecordWriter();
    this.#recordWriter = recordWriter;
    this.#flushed = recordWriter.readable.pipeTo(transport.writable, { preventClose: true })
      .catch(() => {});
    this.#out = recordWriter.writable.getWriter();
    this.#out.closed.catch(() => {});

    this.handshake = this.#runHandshake(
      options.signal,
      options.handshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
    ).then((info) => {
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

  async #runHandshake(
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<HandshakeInfo> {
    const aborted = Promise.withResolvers<never>();
    const onAbort = () => aborted.reject(signal!.reason);
    aborted.promise.catch(() => {});
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => aborted.reject(new HandshakeTimeoutError(timeoutMs)), timeoutMs)
      : undefined;
    try {
      signal?.throwIfAborted();
      return await Promise.race([this.#handshakeLoop(), aborted.promise]);
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
    await this.#apply(await this.#core.start(this.#now()));
    for (;;) {
      const record = await this.#read();
      if (!record) {
        throw this.#writeError ?? new TruncationError("connection closed during the handshake");
      }
      if (record.type === ContentType.alert) {
        this.#peerAlert(record.fragment, true);
        continue;
      }
      if (record.type === ContentType.application_data) {
        throw new TlsAlertError(
          AlertDescription.unexpected_message,
          "application data before the handshake finished",
        );
      }
      const info = await this.#apply(
        await this.#core.handle({
          type: record.type as 20 | 22,
          data: record.fragment,
          now: this.#now(),
        }),
      );
      if (info) return info;
    }
  }

  /** Applies the core's actions in order; returns the handshake info when one completes. */
  async #apply(actions: HandshakeAction[]): Promise<HandshakeInfo | undefined> {
    const writes: Promise<void>[] = [];
    let info: HandshakeInfo | undefined;
    let pending: Uint8Array[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      const data = pending.length === 1 ? pending[0]! : concat(pending);
      writes.push(this.#out.write({ type: ContentType.handshake, data }));
      pending = [];
    };
    for (const action of actions) {
      switch (action.kind) {
        case "send":
          if (action.contentType === ContentType.handshake) {
            pending.push(action.data);
          } else {
            flush();
            writes.push(this.#out.write({ type: action.contentType, data: action.data }));
          }
          break;
        case "install_write":
          flush();
          writes.push(
            this.#out.write({ protector: action.protector, maxPlaintext: action.maxPlaintext }),
          );
          break;
        case "install_read":
          this.#recordReader.setProtector(action.protector, action.maxPlaintext);
          break;
        case "complete":
          info = action.info;
          break;
      }
    }
    flush();
    try {
      await Promise.all(writes);
    } catch (error) {
      // A peer that refuses our flight usually says why in an alert and then closes; reading
      // on finds that alert, and the write error is the fallback when there is none.
      if (info || this.#core.isComplete) throw error;
      this.#writeError ??= error;
    }
    return info;
  }

  async #read(): Promise<InboundRecord | undefined> {
    try {
      const { value, done } = await this.#records.read();
      if (done) return undefined;
      // Only a record with content is progress: alternating warnings and empty records
      // must not reset each other's count.
      if (value.type !== ContentType.alert && value.fragment.length > 0) this.#alerts.progress();
      // Older header versions are tolerated only until the ServerHello settled TLS 1.2
      // (RFC 5246 Appendix E.1); from the next record on, every record must say 1.2.
      if (this.#core.versionSettled && value.version !== ProtocolVersion.tls12) {
        throw new TlsAlertError(
          AlertDescription.protocol_version,
          `record version 0x${value.version.toString(16)} after TLS 1.2 was negotiated`,
        );
      }
      return value;
    } catch (error) {
      if (this.#writeError && !(error instanceof TlsAlertError)) throw this.#writeError;
      if (
        this.#transportEnded && error instanceof TlsAlertError && !error.fromPeer &&
        error.description === AlertDescription.decode_error
      ) {
        throw new TruncationError("connection closed inside a record", { cause: error });
      }
      throw error;
    }
  }

  /** Handles an alert record; returns true for close_notify, throws for fatal alerts. */
  /** Applies the alert policy; true when the peer closed, throws when the alert ends us. */
  #peerAlert(fragment: Uint8Array, handshaking: boolean): boolean {
    if (fragment.length !== 2) {
      throw new TlsAlertError(AlertDescription.decode_error, "alert record is not two bytes");
    }
    const outcome = this.#alerts.received(fragment[0]!, fragment[1]!, handshaking);
    if (outcome.kind === "failed") throw outcome.error;
    return outcome.kind === "closed";
  }

  async #pull(controller: ReadableByteStreamController): Promise<void> {
    await this.handshake;
    try {
      for (;;) {
        if (this.#failure) throw this.#failure;
        const record = await this.#read();
        if (!record && this.#closed) {
          controller.close();
          return;
        }
        if (!record) throw new TruncationError();
        switch (record.type) {
          case ContentType.application_data:
            if (record.fragment.length === 0) {
              if (++this.#emptyRecordsInARow > MAX_CONSECUTIVE_EMPTY_RECORDS) {
                throw new TlsAlertError(
                  AlertDescription.unexpected_message,
                  `${this.#emptyRecordsInARow} empty records in a row`,
                );
              }
              continue;
            }
            this.#emptyRecordsInARow = 0;
            // A byte stream takes over the chunk's buffer; the record layer may reuse its own.
            controller.enqueue(record.fragment.slice());
            return;
          case ContentType.alert:
            if (this.#peerAlert(record.fragment, false)) {
              controller.close();
              await this.#onPeerCloseNotify();
              return;
            }
            continue;
          case ContentType.handshake:
            await this.#apply(
              await this.#core.handle({
                type: ContentType.handshake,
                data: record.fragment,
                now: this.#now(),
              }),
            );
            continue;
          default:
            throw new TlsAlertError(
              AlertDescription.unexpected_message,
              "ChangeCipherSpec after the handshake",
            );
        }
      }
    } catch (error) {
      await this.#fail(error);
      throw error;
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    await this.handshake;
    if (this.#failure) throw this.#failure;
    if (this.#writeClosed || this.#closed) throw new ConnectionClosedError();
    try {
      await this.#out.write(chunk);
    } catch (error) {
      await this.#fail(error);
      throw error;
    }
  }

  async #sendCloseNotify(): Promise<void> {
    if (this.#sentCloseNotify || this.#failure || this.#closed) return;
    this.#sentCloseNotify = true;
    await this.#out.write({
      type: ContentType.alert,
      data: Uint8Array.of(AlertLevel.warning, AlertDescription.close_notify),
    }).catch(() => {});
  }

  async #closeWrite(): Promise<void> {
    if (this.#writeClosed) return;
    await this.handshake.catch(() => {});
    await this.#sendCloseNotify();
    this.#writeClosed = true;
    await this.#flush();
    try {
      await this.#transport.closeWrite?.();
    } catch {
      // The peer may already have closed; nothing is lost since close_notify went out.
    }
  }

  /** RFC 5246 §7.2.1: answer close_notify with our own, then stop writing. */
  async #onPeerCloseNotify(): Promise<void> {
    await this.#closeWrite();
  }

  async #fail(error: unknown): Promise<void> {
    if (this.#failure || this.#closed) return;
    this.#failure = error;
    // A peer that ended the stream is told nothing: no alert fits, and internal_error
    // (alertForError's answer to an unknown error) would blame us.
    const description = error instanceof TruncationError ? undefined : alertForError(error);
    const level = description === AlertDescription.user_canceled
      ? AlertLevel.warning
      : AlertLevel.fatal;
    // A fatal alert, sent or received, ends the session too (RFC 5246 §7.2.2).
    const receivedFatal = error instanceof TlsAlertError && error.fromPeer &&
      error.level === AlertLevel.fatal;
    const session = this.#core.activeSession;
    if (session && (receivedFatal || (description !== undefined && level === AlertLevel.fatal))) {
      invalidateSession(session);
    }
    if (description !== undefined && !this.#writeClosed) {
      this.#out.write({ type: ContentType.alert, data: Uint8Array.of(level, description) })
        .catch(() => {});
    }
    await this.#shutdown();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#handshakeSettled) {
      await this.#fail(new DOMException("connection closed during the handshake", "AbortError"));
      return;
    }
    const established = await this.handshake.then(() => true, () => false);
    if (established && !this.#writeClosed) await this.#sendCloseNotify();
    await this.#shutdown();
  }

  /**
   * Ends the record writer and waits until its last records (close_notify, an alert) reached the
   * transport, but not forever: a peer that stopped reading must not keep us from closing.
   */
  async #flush(): Promise<void> {
    if (!this.#outClosed) {
      this.#outClosed = true;
      this.#out.close().catch(() => {});
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#flushed,
      new Promise((resolve) => timer = setTimeout(resolve, FLUSH_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
  }

  async #shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeClosed = true;
    // A handshake cut short (abort, close, a failed transport) gives its secrets back; after
    // completion this does nothing and the session keeps its master secret. Started before
    // the writer closes, awaited after, so nothing the handshake still queues goes out.
    const released = this.#core.abort();
    await this.#flush();
    await this.#records.cancel().catch(() => {});
    // The record keys are not needed any more: wipe them (a flush that timed out left the
    // writer open, so it is told directly).
    this.#recordReader.destroy();
    this.#recordWriter.destroy();
    try {
      await this.#transport.close();
    } catch {
      // Already closed by the peer or by a failed write.
    }
    await released;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
