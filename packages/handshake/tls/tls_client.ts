/**
 * The sans-IO TLS 1.2 client connection, the twin of the DTLS core: the
 * {@linkcode ClientHandshake} state machine under a TLS record layer, with every rule that
 * lives around the handshake written here once — record versions, the alert policy, empty
 * records, close_notify, the handshake deadline, truncation, and the alert an error ends in.
 *
 * It owns no socket and no clock. The driver feeds received bytes with `handleBytes`, the end
 * of the stream with `handleEnd`, the time with `handleTimeout` (at `pollTimeout()`), then
 * drains `pollTransmit()` (bytes to write, in order) and `pollEvent()`. `handleBytes` calls
 * must not overlap each other; `send`, `close` and `fail` may come at any time, and their
 * records are sealed in the order of the calls.
 *
 * @module
 */

import {
  AlertDescription,
  AlertLevel,
  concatBytes,
  ContentType,
  type InboundRecord,
  ProtocolVersion,
  TlsAlertError,
  TlsDeframer,
  TlsReadState,
  TlsWriteState,
} from "@anchortls/record";
import { alertFor } from "../alert_mapping.ts";
import { AlertPolicy } from "../alert_policy.ts";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  type HandshakeAction,
} from "../client_handshake.ts";
import type { ClientEvent } from "../client_event.ts";
import { HandshakeTimeoutError } from "../handshake_timeout.ts";
import { decodeAlert, encodeAlert } from "../messages/alert_message.ts";
import { TlsHandshakeDeframer } from "../messages/framing.ts";
import { describeNonTlsReply, SNIFF_LENGTH } from "./not_tls.ts";
import { invalidateSession } from "../session_cache.ts";
import { TruncationError } from "../truncation_error.ts";
import { handshakeMessageTrace, type TraceOptions } from "../trace.ts";

/** How long a TLS handshake may take by default: 60 s, so a trickling server cannot hold it. */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 60_000;

/**
 * Most empty application data records accepted in a row (OpenSSL's MAX_EMPTY_RECORDS): some
 * stacks send one before each record as a CBC countermeasure, an endless stream is an attack.
 * A non-empty record resets the count; one more is `unexpected_message`.
 */
export const MAX_CONSECUTIVE_EMPTY_RECORDS = 32;

// Servers may put an older version in the header of a record that carries an alert about
// the version; from the ServerHello on, every record must say TLS 1.2 (RFC 5246 Appendix E.1).
const HEADER_VERSIONS = [0x0300, 0x0301, 0x0302, 0x0303];

/** Configuration of one {@linkcode TlsClientCore}. */
export interface TlsClientConfig extends ClientHandshakeConfig, TraceOptions {
  /**
   * How long the handshake may take before it fails with a `HandshakeTimeoutError` (no alert
   * is sent); `Infinity` waits for ever.
   * @default {DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS}
   */
  readonly handshakeTimeoutMs?: number;
}

/** What {@linkcode TlsClientCore.pollEvent} returns: the cores' one event vocabulary. */
export type TlsClientEvent = ClientEvent;

/** Where the connection stands. */
export type TlsClientState = "idle" | "handshaking" | "connected" | "closed" | "failed";

/**
 * A TLS 1.2 client connection as a state machine.
 *
 * @example Driving it over any byte transport
 * ```ts ignore
 * import { TlsClientCore } from "@anchortls/handshake/tls";
 * const tls = new TlsClientCore({ provider, trustAnchors, serverName: "localhost" });
 * await tls.start(Date.now());
 * for (const bytes of tls.pollTransmit()) await socket.write(bytes);
 * // on each chunk read: await tls.handleBytes(chunk, Date.now()), then drain
 * // pollTransmit() and pollEvent(); at pollTimeout(): tls.handleTimeout(Date.now()).
 * ```
 */
export class TlsClientCore {
  readonly #handshake: ClientHandshake;
  /** The peer's first bytes, to say what a non-TLS reply looks like. */
  #firstBytes: Uint8Array = new Uint8Array(0);
  #recordsSeen = false;
  /** Incoming handshake messages, cut out of handshake records. */
  readonly #messages = new TlsHandshakeDeframer();
  readonly #timeoutMs: number;
  readonly #trace: TraceOptions["onHandshakeMessage"];
  /** Whether records each way are protected yet, for the trace. */
  #readProtected = false;
  #writeProtected = false;
  readonly #deframer = new TlsDeframer({ versions: HEADER_VERSIONS });
  readonly #read = new TlsReadState();
  readonly #write = new TlsWriteState();
  readonly #alertPolicy = new AlertPolicy();
  readonly #outbox: Uint8Array[] = [];
  readonly #events: TlsClientEvent[] = [];
  #state: TlsClientState = "idle";
  #deadline: number | undefined;
  #emptyRecordsInARow = 0;
  /** Our last alert (close_notify, or a failure's) is queued: nothing more is sent. */
  #writeClosed = false;
  /** Sealing in call order: sequence numbers and the outbox must agree. */
  #sealing: Promise<void> = Promise.resolve();
  #aborting: Promise<void> = Promise.resolve();
  #failing: Promise<void> | undefined;
  #error: unknown;

  /**
   * Prepares a connection; nothing is sent until {@linkcode TlsClientCore.start}.
   *
   * @param config Handshake options and deadline.
   * @throws {TypeError} When no cipher suite is offered.
   */
  constructor(config: TlsClientConfig) {
    this.#handshake = new ClientHandshake(config);
    this.#timeoutMs = config.handshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS;
    this.#trace = config.onHandshakeMessage;
  }

  /** Where the connection stands. */
  get state(): TlsClientState {
    return this.#state;
  }

  /** What the connection failed with, once it has. */
  get error(): unknown {
    return this.#error;
  }

  /**
   * Starts the handshake: the ClientHello is queued and the deadline starts.
   *
   * @param now The current time in ms.
   * @returns Once the ClientHello is queued in `pollTransmit()`.
   */
  async start(now: number): Promise<void> {
    if (this.#state !== "idle") throw new TypeError("TLS connection already started");
    this.#state = "handshaking";
    if (Number.isFinite(this.#timeoutMs)) this.#deadline = now + this.#timeoutMs;
    await this.#guard(async () => this.#apply(await this.#handshake.start(now)));
  }

  /**
   * Takes bytes received from the transport, split anywhere.
   *
   * @param bytes The bytes.
   * @param now The current time in ms.
   * @returns Once every complete record in them has been handled.
   */
  async handleBytes(bytes: Uint8Array, now: number): Promise<void> {
    if (!this.#live) return;
    await this.#guard(async () => {
      if (this.#firstBytes.length < SNIFF_LENGTH) {
        this.#firstBytes = concatBytes([this.#firstBytes, bytes]).subarray(0, SNIFF_LENGTH);
      }
      let framed;
      try {
        this.#deframer.push(bytes);
        framed = this.#deframer.next();
      } catch (error) {
        throw this.#recordsSeen ? error : describeNonTlsReply(error, this.#firstBytes);
      }
      for (; framed; framed = this.#deframer.next()) {
        this.#recordsSeen = true;
        await this.#record(await this.#read.open(framed), now);
        if (!this.#live) return;
      }
    });
  }

  /**
   * Takes the end of the transport's stream: without the peer's close_notify that is a
   * truncation (RFC 5246 §7.2.1).
   *
   * @returns Once the outcome is queued.
   */
  async handleEnd(): Promise<void> {
    if (!this.#live) return;
    const error = this.#deframer.buffered > 0
      ? new TruncationError("connection closed inside a record", {
        cause: new TlsAlertError(
          AlertDescription.decode_error,
          `stream ended inside a record (${this.#deframer.buffered} bytes left)`,
        ),
      })
      : this.#state === "handshaking"
      ? new TruncationError("connection closed during the handshake")
      : new TruncationError();
    await this.fail(error);
  }

  /**
   * Acts on the time: past the deadline, a handshake fails with a `HandshakeTimeoutError`.
   *
   * @param now The current time in ms.
   * @returns Once the outcome is queued.
   */
  async handleTimeout(now: number): Promise<void> {
    if (this.#state !== "handshaking" || this.#deadline === undefined) return;
    if (now >= this.#deadline) {
      await this.fail(
        new HandshakeTimeoutError(this.#timeoutMs, undefined, {
          waitingFor: this.#handshake.waitingFor,
          pskOffered: this.#handshake.offersPsk,
        }),
      );
    }
  }

  /**
   * Says when {@linkcode TlsClientCore.handleTimeout} is due.
   *
   * @returns The time in ms, or `undefined` when no deadline runs.
   */
  pollTimeout(): number | undefined {
    return this.#state === "handshaking" ? this.#deadline : undefined;
  }

  /**
   * Takes the bytes to write, oldest first.
   *
   * @returns Whole records, in order.
   */
  pollTransmit(): Uint8Array[] {
    return this.#outbox.splice(0);
  }

  /**
   * Takes the next event.
   *
   * @returns The oldest event not yet taken, or `undefined`.
   */
  pollEvent(): TlsClientEvent | undefined {
    return this.#events.shift();
  }

  /**
   * Protects application data, in as many records as the negotiated limit needs.
   *
   * @param data The bytes; empty data sends nothing.
   * @returns Once the records are queued in `pollTransmit()`.
   * @throws {TypeError} When the connection is not connected or our close_notify went out.
   */
  async send(data: Uint8Array): Promise<void> {
    if (this.#state !== "connected" && this.#state !== "closed") {
      throw new TypeError(`cannot send application data while ${this.#state}`);
    }
    if (this.#writeClosed) throw new TypeError("cannot send after close_notify");
    await this.#seal(ContentType.application_data, data);
  }

  /**
   * Ends our direction with close_notify; application data may still arrive until the peer's.
   * During the handshake it cancels: the handshake fails with an `AbortError` and user_canceled
   * goes out.
   *
   * @returns Once the alert is queued.
   */
  async close(): Promise<void> {
    if (this.#state === "handshaking" || this.#state === "idle") {
      await this.fail(new DOMException("connection closed during the handshake", "AbortError"));
      return;
    }
    if (this.#state === "failed") return;
    await this.#sendAlert(AlertLevel.warning, AlertDescription.close_notify);
  }

  /**
   * Ends the connection for an error from outside the core (an aborted signal, a failed
   * transport) or inside it: the alert it calls for is queued (user_canceled as a warning,
   * others fatal; none for timeouts and truncation), a fatal alert either way ends the session
   * (RFC 5246 §7.2.2), and a `failed` event is queued.
   *
   * @param error Why. Only the first failure counts; later calls wait for it.
   * @returns Once the alert is queued.
   */
  fail(error: unknown): Promise<void> {
    this.#failing ??= this.#failWith(error);
    return this.#failing;
  }

  async #failWith(error: unknown): Promise<void> {
    this.#state = "failed";
    this.#error = error;
    this.#events.push({ kind: "failed", error });
    const alert = alertFor(error);
    const receivedFatal = error instanceof TlsAlertError && error.fromPeer &&
      error.level === AlertLevel.fatal;
    const session = this.#handshake.activeSession;
    if (session && (receivedFatal || alert?.level === AlertLevel.fatal)) invalidateSession(session);
    // Not awaited here: releasing goes to the provider, which may be busy with the very call
    // that failed; release() waits for it.
    this.#aborting = this.#handshake.abort().catch(() => {});
    if (alert) await this.#sendAlert(alert.level, alert.description);
  }

  /**
   * Gives everything secret back: a handshake cut short releases its handles (after
   * completion the session keeps its master secret), and both directions' record keys are
   * wiped. Nothing can be sealed or opened afterwards.
   *
   * @returns Once the handshake's handles are released.
   */
  async release(): Promise<void> {
    if (this.#state !== "failed" && this.#state !== "closed") this.#state = "closed";
    const aborted = this.#handshake.abort();
    this.#read.destroy();
    this.#write.destroy();
    await Promise.all([aborted, this.#aborting]);
  }

  get #live(): boolean {
    return this.#state === "handshaking" || this.#state === "connected";
  }

  /** Runs a step; what it throws ends the connection with the alert it calls for. */
  async #guard(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      await this.fail(error);
    }
  }

  async #record(record: InboundRecord, now: number): Promise<void> {
    if (this.#handshake.versionSettled && record.version !== ProtocolVersion.tls12) {
      throw new TlsAlertError(
        AlertDescription.protocol_version,
        `record version 0x${record.version.toString(16)} after TLS 1.2 was negotiated`,
      );
    }
    // Only a record with content is progress: alternating warnings and empty records must
    // not reset each other's count.
    if (record.type !== ContentType.alert && record.fragment.length > 0) {
      this.#alertPolicy.progress();
    }
    switch (record.type) {
      case ContentType.alert:
        return await this.#alert(record.fragment);
      case ContentType.application_data:
        return this.#applicationData(record.fragment);
      case ContentType.change_cipher_spec:
        // The keys change between records: never in the middle of a handshake message. The
        // handshake refuses a ChangeCipherSpec it does not expect, after completion too.
        if (this.#messages.hasPartialMessage) {
          throw new TlsAlertError(
            AlertDescription.unexpected_message,
            "ChangeCipherSpec inside a fragmented handshake message",
          );
        }
        this.#trace?.({ kind: "change_cipher_spec", direction: "received" });
        return await this.#apply(
          await this.#handshake.handleChangeCipherSpec(record.fragment, now),
        );
      default:
        // Handshake (the record deframer lets no other type through).
        return await this.#handshakeRecord(record.fragment, now);
    }
  }

  async #handshakeRecord(fragment: Uint8Array, now: number): Promise<void> {
    this.#messages.push(fragment);
    for (let m = this.#messages.next(); m && this.#live; m = this.#messages.next()) {
      this.#trace?.(
        handshakeMessageTrace("received", m.type, m.body.length, this.#readProtected),
      );
      const actions = await this.#handshake.handleMessage(m, now);
      // The server Finished ends the server's flight: part of a further message in the same
      // record is not the start of a renegotiation we would answer, it is a violation, and
      // the handshake does not count as complete.
      if (actions.some((a) => a.kind === "complete") && this.#messages.hasPartialMessage) {
        throw new TlsAlertError(
          AlertDescription.unexpected_message,
          "handshake data after the server Finished",
        );
      }
      await this.#apply(actions);
    }
  }

  #applicationData(fragment: Uint8Array): void {
    if (this.#state !== "connected") {
      throw new TlsAlertError(
        AlertDescription.unexpected_message,
        "application data before the handshake finished",
      );
    }
    if (fragment.length === 0) {
      if (++this.#emptyRecordsInARow > MAX_CONSECUTIVE_EMPTY_RECORDS) {
        throw new TlsAlertError(
          AlertDescription.unexpected_message,
          `${this.#emptyRecordsInARow} empty records in a row`,
        );
      }
      return;
    }
    this.#emptyRecordsInARow = 0;
    this.#events.push({ kind: "data", data: fragment });
  }

  async #alert(fragment: Uint8Array): Promise<void> {
    const alert = decodeAlert(fragment);
    const outcome = this.#alertPolicy.received(
      alert.level,
      alert.description,
      this.#state === "handshaking",
      this.#handshake.peerAlertHint(alert.description),
    );
    if (outcome.kind === "failed") throw outcome.error;
    if (outcome.kind === "closed") {
      this.#state = "closed";
      this.#events.push({ kind: "closed" });
      // RFC 5246 §7.2.1: answer close_notify with our own, then stop writing.
      await this.#sendAlert(AlertLevel.warning, AlertDescription.close_notify);
    }
  }

  /** Applies the handshake's actions in order; its messages are packed into few records. */
  async #apply(actions: readonly HandshakeAction[]): Promise<void> {
    // A connection that failed while the handshake was computing says nothing more from it.
    if (!this.#live) return;
    let pending: Uint8Array[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const data = pending.length === 1 ? pending[0]! : concatBytes(pending);
      pending = [];
      await this.#seal(ContentType.handshake, data);
    };
    for (const action of actions) {
      switch (action.kind) {
        case "send":
          if (action.contentType === ContentType.handshake) {
            pending.push(action.data);
            if (action.message) {
              const { msgType, body } = action.message;
              this.#trace?.(
                handshakeMessageTrace("sent", msgType, body.length, this.#writeProtected),
              );
            }
          } else {
            if (action.contentType === ContentType.change_cipher_spec) {
              this.#trace?.({ kind: "change_cipher_spec", direction: "sent" });
            }
            await flush();
            await this.#seal(action.contentType, action.data);
          }
          break;
        case "install_write": {
          await flush();
          const change = { protector: action.protector, maxPlaintext: action.maxPlaintext };
          await this.#inOrder(() => this.#write.change(change));
          this.#writeProtected = true;
          break;
        }
        case "install_read":
          this.#readProtected = true;
          this.#read.change({ protector: action.protector, maxPlaintext: action.maxPlaintext });
          break;
        case "complete":
          await flush();
          this.#state = "connected";
          this.#deadline = undefined;
          this.#events.push({ kind: "connected", info: action.info });
          break;
      }
    }
    await flush();
  }

  /** Queues our last alert; once one is out, nothing more is sent. */
  async #sendAlert(level: number, description: number): Promise<void> {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    await this.#seal(ContentType.alert, encodeAlert({ level, description })).catch(() => {
      // The keys are gone (a chip that failed): the transport's end is all the peer will see.
    });
  }

  #seal(type: ContentType, data: Uint8Array): Promise<void> {
    return this.#inOrder(() => this.#write.seal({ type, data }, (r) => this.#outbox.push(r)));
  }

  /** Runs a write-state step after every one queued before it. */
  #inOrder(step: () => void | Promise<void>): Promise<void> {
    const done = this.#sealing.then(step);
    this.#sealing = done.catch(() => {});
    return done;
  }
}
