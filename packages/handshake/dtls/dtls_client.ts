/**
 * The sans-IO DTLS 1.2 client (RFC 6347): the TLS {@linkcode ClientHandshake} state machine
 * under a DTLS record layer with epochs, 48-bit sequence numbers, a replay window per epoch,
 * flights fragmented to the path MTU and packed into datagrams, reassembly, and
 * retransmission on a timer and on the peer's retransmissions.
 *
 * It owns no socket and no clock. The driver calls the `handle*` inputs with the time, then
 * drains `pollTransmit()` (datagrams to send, in order) and `pollEvent()`, and calls
 * `handleTimeout(now)` when the time from `pollTimeout()` has come. Calls must not overlap:
 * await each before the next.
 *
 * @module
 */

import {
  AlertDescription,
  AlertLevel,
  ContentType,
  decodeInnerPlaintext,
  DTLS_HEADER_LENGTH,
  DTLS_SEQUENCE_LIMIT,
  encodeDtlsRecord,
  encodeInnerPlaintext,
  NullProtector,
  ProtocolVersion,
  type RecordProtector,
  ReplayWindow,
  SequenceCounter,
  splitDatagram,
  TLS12_CID,
} from "@anchortls/record";
import { alertFor } from "../alert_mapping.ts";
import { AlertPolicy } from "../alert_policy.ts";
import type { ClientEvent } from "../client_event.ts";
import type { HandshakeInfo } from "../handshake_types.ts";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  type HandshakeAction,
} from "../client_handshake.ts";
import { decodeAlert, encodeAlert } from "../messages/alert_message.ts";
import { DtlsHandshakeFraming } from "./dtls_framing.ts";
import {
  DEFAULT_DTLS_MTU,
  fragmentSpans,
  maxHandshakeFragmentLength,
  packDatagrams,
} from "./fragmenter.ts";
import {
  type FlightEntry,
  FlightTracker,
  type FlightTrackerOptions,
  planFlightRecords,
} from "./flight.ts";
import {
  decodeDtlsHandshakeRecord,
  type DtlsHandshakeFragment,
  encodeDtlsHandshakeMessage,
} from "./handshake_header.ts";
import { DtlsReassembler } from "./reassembler.ts";
import {
  handshakeMessageTrace,
  MAX_TRACED_FRAGMENTS,
  type TracedFragment,
  type TraceOptions,
} from "../trace.ts";

/** Most plaintext bytes in one record (RFC 6347 §4.1.1, as TLS). */
const MAX_PLAINTEXT = 1 << 14;

/** Configuration of one {@linkcode DtlsClientCore}. */
export interface DtlsClientConfig
  extends Omit<ClientHandshakeConfig, "framing" | "version">, TraceOptions {
  /**
   * Most bytes of payload one datagram may carry: flights are fragmented to it and
   * application writes are limited by it. @default {DEFAULT_DTLS_MTU}
   */
  readonly mtu?: number;
  /** Retransmission timer and handshake deadline. @default {1 s doubling to 60 s, 60 s deadline} */
  readonly retransmit?: FlightTrackerOptions;
}

/** What {@linkcode DtlsClientCore.pollEvent} returns: the cores' one event vocabulary. */
export type DtlsClientEvent = ClientEvent;

/** Counters of a {@linkcode DtlsClientCore}. */
export interface DtlsClientStats {
  /** Datagrams handed to `handleDatagram`. */
  readonly datagramsReceived: number;
  /** Datagrams handed out by `pollTransmit`. */
  readonly datagramsSent: number;
  /** Flight resends, on timer expiry and on the peer's retransmissions together. */
  readonly retransmissions: number;
  /** Flight resends on timer expiry. */
  readonly timerRetransmissions: number;
  /** Flight resends because the peer retransmitted the flight ours answers. */
  readonly peerRetransmissions: number;
  /**
   * Records dropped silently: malformed, of an unknown epoch, failing authentication, or not
   * acceptable in the current state (RFC 6347 §4.1.2.7).
   */
  readonly dropped: number;
  /** Records dropped because the replay window had seen their sequence number. */
  readonly replayed: number;
  /**
   * Handshake fragments the reassembler dropped: too far ahead of the expected message, or
   * beyond its buffer. Counted apart from `dropped`, which counts whole records.
   */
  readonly fragmentsDropped: number;
  /** Application data records delivered. */
  readonly delivered: number;
}

/** Where the connection stands. */
export type DtlsClientState = "idle" | "handshaking" | "connected" | "closed" | "failed";

interface WriteEpoch {
  readonly protector: RecordProtector;
  readonly sequence: SequenceCounter;
  /** Most plaintext bytes per record (a negotiated max_fragment_length or record_size_limit). */
  readonly maxPlaintext: number;
  /** The peer's Connection ID: this epoch's records are tls12_cid records carrying it. */
  readonly cid?: Uint8Array;
}

interface ReadEpoch {
  readonly protector: RecordProtector;
  readonly window: ReplayWindow;
  /** Our Connection ID: this epoch takes only tls12_cid records carrying it. */
  readonly cid?: Uint8Array;
}

/** The fragments of one incoming message seen so far, kept only while tracing. */
interface FragmentsSeen {
  readonly fragments: TracedFragment[];
  count: number;
}

const VERSION = ProtocolVersion.dtls12;

function recordSequence(epoch: number, sequenceNumber: bigint): bigint {
  return (BigInt(epoch) << 48n) | sequenceNumber;
}

/**
 * A DTLS 1.2 client connection as a state machine.
 *
 * @example Driving it over any datagram transport
 * ```ts ignore
 * import { DtlsClientCore } from "@anchortls/handshake/dtls";
 * const dtls = new DtlsClientCore({ provider, trustAnchors, serverName: "localhost" });
 * await dtls.start(Date.now());
 * for (const d of dtls.pollTransmit()) socket.send(d);
 * // on each datagram: await dtls.handleDatagram(datagram, Date.now()), then drain
 * // pollTransmit() and pollEvent(); at pollTimeout(): await dtls.handleTimeout(Date.now()).
 * ```
 */
export class DtlsClientCore {
  readonly #config: DtlsClientConfig;
  readonly #mtu: number;
  readonly #framing = new DtlsHandshakeFraming();
  readonly #handshake: ClientHandshake;
  readonly #reassembler = new DtlsReassembler();
  readonly #alertPolicy = new AlertPolicy();
  readonly #writeEpochs = new Map<number, WriteEpoch>();
  readonly #readEpochs = new Map<number, ReadEpoch>();
  readonly #outbox: Uint8Array[] = [];
  readonly #events: DtlsClientEvent[] = [];
  readonly #trace: TraceOptions["onHandshakeMessage"];
  /** Per incoming message_seq, while tracing: the fragments that built it. */
  readonly #fragmentsSeen = new Map<number, FragmentsSeen>();
  #flights: FlightTracker | undefined;
  #state: DtlsClientState = "idle";
  #writeEpoch = 0;
  #readEpoch = 0;
  #datagramsReceived = 0;
  #datagramsSent = 0;
  #dropped = 0;
  #replayed = 0;
  #fragmentsDropped = 0;
  #delivered = 0;

  /**
   * Prepares a connection; nothing is sent until {@linkcode DtlsClientCore.start}.
   *
   * @param config Handshake options, MTU and retransmission timing.
   * @throws {RangeError} When the MTU cannot carry a handshake fragment.
   * @throws {TypeError} When no cipher suite is offered.
   */
  constructor(config: DtlsClientConfig) {
    this.#config = config;
    this.#mtu = config.mtu ?? DEFAULT_DTLS_MTU;
    this.#trace = config.onHandshakeMessage;
    if (!Number.isSafeInteger(this.#mtu) || this.#mtu < 256 || this.#mtu > 65_507) {
      throw new RangeError(`mtu ${this.#mtu} outside 256..65507`);
    }
    this.#handshake = new ClientHandshake({
      ...config,
      framing: this.#framing,
      version: ProtocolVersion.dtls12,
    });
    const nothing = new NullProtector();
    this.#writeEpochs.set(0, {
      protector: nothing,
      sequence: new SequenceCounter(DTLS_SEQUENCE_LIMIT),
      maxPlaintext: 1 << 14,
    });
    this.#readEpochs.set(0, { protector: nothing, window: new ReplayWindow() });
  }

  /** Where the connection stands. */
  get state(): DtlsClientState {
    return this.#state;
  }

  /** The path MTU flights and writes are cut to. */
  get mtu(): number {
    return this.#mtu;
  }

  /**
   * The largest application message one {@linkcode DtlsClientCore.send} takes: what fits one
   * record in one datagram under the current keys (their largest expansion counted).
   */
  get maxMessageLength(): number {
    const epoch = this.#writeEpochs.get(this.#writeEpoch)!;
    return Math.min(
      this.#mtu - DTLS_HEADER_LENGTH - this.#expansion(this.#writeEpoch),
      epoch.maxPlaintext,
    );
  }

  /** What the connection has done so far. */
  get stats(): DtlsClientStats {
    const flights = this.#flights?.stats;
    const timer = flights?.timerRetransmissions ?? 0;
    const peer = flights?.peerRetransmissions ?? 0;
    return {
      datagramsReceived: this.#datagramsReceived,
      datagramsSent: this.#datagramsSent,
      retransmissions: timer + peer,
      timerRetransmissions: timer,
      peerRetransmissions: peer,
      dropped: this.#dropped,
      replayed: this.#replayed,
      fragmentsDropped: this.#fragmentsDropped,
      delivered: this.#delivered,
    };
  }

  /**
   * Starts the handshake: the first ClientHello goes out and the handshake clock starts.
   *
   * @param now The current time in ms.
   * @returns Once the ClientHello is queued in `pollTransmit()`.
   */
  async start(now: number): Promise<void> {
    if (this.#state !== "idle") throw new TypeError("DTLS connection already started");
    this.#state = "handshaking";
    this.#flights = new FlightTracker(now, this.#config.retransmit);
    try {
      await this.#apply(await this.#handshake.start(now), now);
    } catch (error) {
      await this.#fail(error);
    }
  }

  /**
   * Takes one received datagram. Invalid, replayed and unexpected records are dropped and
   * counted; a fatal problem ends the connection with a `failed` event.
   *
   * @param datagram The datagram's payload.
   * @param now The current time in ms.
   * @returns Once every record in it has been handled.
   */
  async handleDatagram(datagram: Uint8Array, now: number): Promise<void> {
    if (this.#state !== "handshaking" && this.#state !== "connected") return;
    this.#datagramsReceived++;
    const cidLength = this.#config.connectionId?.length;
    const records = splitDatagram(datagram, {
      onInvalid: () => this.#dropped++,
      ...(cidLength ? { cidLength } : {}),
    });
    for (const record of records) {
      if (this.#state !== "handshaking" && this.#state !== "connected") return;
      const epoch = this.#readEpochs.get(record.epoch);
      if (epoch === undefined) {
        // Epoch 1 before the peer's ChangeCipherSpec: lost with it, and recovered by the
        // retransmission that follows.
        this.#dropped++;
        continue;
      }
      // RFC 9146: an epoch with our CID takes only tls12_cid records with it, and only such
      // an epoch takes tls12_cid records at all.
      const withCid = record.type === TLS12_CID;
      if (
        withCid !== (epoch.cid !== undefined) || (withCid && !sameBytes(record.cid!, epoch.cid!))
      ) {
        this.#dropped++;
        continue;
      }
      if (!epoch.window.check(record.sequenceNumber)) {
        this.#replayed++;
        continue;
      }
      let plaintext: Uint8Array;
      let type = record.type;
      try {
        plaintext = await epoch.protector.open({
          type: record.type,
          version: record.version,
          sequence: recordSequence(record.epoch, BigInt(record.sequenceNumber)),
          ...(withCid ? { cid: record.cid! } : {}),
        }, record.fragment);
        if (withCid) ({ type, content: plaintext } = decodeInnerPlaintext(plaintext));
      } catch {
        this.#dropped++;
        continue;
      }
      if (plaintext.length > MAX_PLAINTEXT) {
        // RFC 6347 §4.1.1 keeps TLS's 2^14 limit; like a bad MAC, it is dropped, not fatal.
        this.#dropped++;
        continue;
      }
      let consumed: boolean;
      try {
        consumed = await this.#record(type, record.epoch, plaintext, now);
      } catch (error) {
        await this.#fail(error);
        continue;
      }
      // The window moves only for records that authenticated and were of use (RFC 6347
      // §4.1.2.6): an epoch-0 record has no MAC, so a forged one with a far-ahead sequence
      // number must not push the server's genuine flight out of the window.
      if (consumed) epoch.window.mark(record.sequenceNumber);
      if (consumed && type !== ContentType.alert && plaintext.length > 0) {
        this.#alertPolicy.progress();
      }
    }
  }

  /**
   * Acts on the time: resends the flight when its timer expires and fails the handshake at
   * its deadline.
   *
   * @param now The current time in ms.
   * @returns Once any resend is queued.
   */
  async handleTimeout(now: number): Promise<void> {
    if (this.#state !== "handshaking" || !this.#flights) return;
    try {
      const entries = this.#flights.handleTimeout(
        now,
        this.#handshake.waitingFor,
        this.#handshake.offersPsk,
      );
      if (entries) await this.#transmit(entries, true);
    } catch (error) {
      await this.#fail(error);
    }
  }

  /**
   * Says when {@linkcode DtlsClientCore.handleTimeout} is due.
   *
   * @returns The time in ms, or `undefined` when no timer runs.
   */
  pollTimeout(): number | undefined {
    return this.#state === "handshaking" ? this.#flights?.pollTimeout() : undefined;
  }

  /**
   * Takes the datagrams to send, oldest first.
   *
   * @returns Whole datagram payloads, each at most `mtu` bytes.
   */
  pollTransmit(): Uint8Array[] {
    const out = this.#outbox.splice(0);
    this.#datagramsSent += out.length;
    return out;
  }

  /**
   * Takes the next event.
   *
   * @returns The oldest event not yet taken, or `undefined`.
   */
  pollEvent(): DtlsClientEvent | undefined {
    return this.#events.shift();
  }

  /**
   * Protects one application message as one record in one datagram.
   *
   * @param message The message, at most {@linkcode DtlsClientCore.maxMessageLength} bytes.
   * @returns Once the datagram is queued in `pollTransmit()`.
   * @throws {TypeError} When the connection is not connected.
   * @throws {RangeError} When the message does not fit one datagram.
   */
  async send(message: Uint8Array): Promise<void> {
    if (this.#state !== "connected") {
      throw new TypeError(`cannot send application data while ${this.#state}`);
    }
    const max = this.maxMessageLength;
    if (message.length > max) {
      throw new RangeError(
        `a message of ${message.length} bytes does not fit one datagram: at most ${max} bytes at an MTU of ${this.#mtu}`,
      );
    }
    this.#outbox.push(await this.#seal(ContentType.application_data, this.#writeEpoch, message));
  }

  /**
   * Closes the connection: queues a close_notify (in the current epoch), preceded by a
   * user_canceled warning while the handshake is still running (RFC 5246 §7.2.2), and stops.
   * A handshake that had not completed releases its secret handles.
   *
   * @returns Once the alerts are queued and the handles released.
   */
  async close(): Promise<void> {
    if (this.#state !== "handshaking" && this.#state !== "connected") return;
    const handshaking = this.#state === "handshaking";
    this.#state = "closed";
    this.#flights?.complete(0);
    if (handshaking) {
      await this.#handshake.abort();
      await this.#sendAlert(AlertLevel.warning, AlertDescription.user_canceled);
    }
    await this.#sendAlert(AlertLevel.warning, AlertDescription.close_notify);
    this.#destroyKeys();
  }

  /** Wipes every epoch's record keys: the connection will send and open nothing more. */
  #destroyKeys(): void {
    for (const epoch of this.#writeEpochs.values()) epoch.protector.destroy?.();
    for (const epoch of this.#readEpochs.values()) epoch.protector.destroy?.();
  }

  /** Handles one opened record; false when it was dropped as of no use. */
  async #record(type: number, epoch: number, plaintext: Uint8Array, now: number): Promise<boolean> {
    switch (type) {
      case ContentType.alert:
        return await this.#alert(epoch, plaintext);
      case ContentType.handshake:
        return await this.#handshakeRecord(epoch, plaintext, now);
      case ContentType.change_cipher_spec:
        if (
          this.#state === "handshaking" && epoch === this.#readEpoch &&
          this.#handshake.awaitsChangeCipherSpec
        ) {
          this.#trace?.({
            kind: "change_cipher_spec",
            direction: "received",
            dtls: { epoch, retransmission: false },
          });
          const actions = await this.#handshake.handleChangeCipherSpec(plaintext, now);
          await this.#apply(actions, now);
          return true;
        }
        // A duplicate, or one ahead of the message before it: a retransmission's echo, or
        // reordered, and recovered by the retransmission that follows.
        this.#dropped++;
        return false;
      case ContentType.application_data:
        if (this.#state === "connected" && epoch === this.#readEpoch && epoch > 0) {
          this.#delivered++;
          this.#events.push({ kind: "data", data: plaintext.slice() });
          return true;
        }
        this.#dropped++;
        return false;
      default:
        this.#dropped++;
        return false;
    }
  }

  async #alert(epoch: number, plaintext: Uint8Array): Promise<boolean> {
    if (this.#state === "connected" && epoch < this.#readEpoch) {
      // Unauthenticated once keys are in use: anyone could have sent it.
      this.#dropped++;
      return false;
    }
    let alert;
    try {
      alert = decodeAlert(plaintext);
    } catch {
      // A malformed record is dropped in DTLS, never fatal (RFC 6347 §4.1.2.7).
      this.#dropped++;
      return false;
    }
    const outcome = this.#alertPolicy.received(
      alert.level,
      alert.description,
      this.#state === "handshaking",
      this.#handshake.peerAlertHint(alert.description),
    );
    if (outcome.kind === "ignored") return true;
    if (outcome.kind === "closed") {
      this.#state = "closed";
      this.#events.push({ kind: "closed" });
    } else if (outcome.error.fromPeer) {
      await this.#failed(outcome.error);
    } else {
      await this.#fail(outcome.error);
    }
    this.#destroyKeys();
    return true;
  }

  async #handshakeRecord(epoch: number, plaintext: Uint8Array, now: number): Promise<boolean> {
    let fragments: DtlsHandshakeFragment[];
    try {
      fragments = decodeDtlsHandshakeRecord(plaintext);
    } catch {
      this.#dropped++;
      return false;
    }
    if (epoch < this.#readEpoch) {
      // After the server's ChangeCipherSpec only the new epoch can carry its Finished: an
      // older-epoch handshake record can at most say the server is retransmitting — also once
      // connected, when our flight ended an abbreviated handshake and the server missed it.
      let signal = false;
      for (const fragment of fragments) {
        if (fragment.messageSeq >= this.#reassembler.nextMessageSeq) {
          this.#fragmentsDropped++;
          continue;
        }
        signal = true;
        const entries = this.#flights!.retransmissionSeen(
          fragment.messageSeq,
          now,
          this.#reassembler.nextMessageSeq,
        );
        if (entries) await this.#transmit(entries, true);
      }
      return signal;
    }
    let consumed = false;
    for (const fragment of fragments) {
      const outcome = this.#reassembler.push(fragment);
      if (outcome.kind === "dropped") {
        this.#fragmentsDropped++;
        continue;
      }
      consumed = true;
      if (outcome.kind === "retransmission") {
        // Once connected the tracker holds a flight only if ours was the final one.
        const entries = this.#flights!.retransmissionSeen(
          outcome.messageSeq,
          now,
          this.#reassembler.nextMessageSeq,
        );
        if (entries) await this.#transmit(entries, true);
        continue;
      }
      if (this.#trace) this.#noteFragment(fragment.messageSeq, fragment);
      for (let m = this.#reassembler.next(); m; m = this.#reassembler.next()) {
        if (this.#trace) this.#traceReceived(m.msgType, m.messageSeq, m.body.length, epoch);
        // The reassembled message goes in as it is; only its transcript form is encoded.
        const actions = await this.#handshake.handleMessage({
          type: m.msgType,
          body: m.body,
          transcriptBytes: encodeDtlsHandshakeMessage(m),
        }, now);
        await this.#apply(actions, now);
        if (this.#state !== "handshaking" && this.#state !== "connected") return true;
      }
    }
    return consumed;
  }

  async #apply(actions: readonly HandshakeAction[], now: number): Promise<void> {
    const flight: FlightEntry[] = [];
    let completed: HandshakeInfo | undefined;
    for (const action of actions) {
      switch (action.kind) {
        case "send":
          if (action.message) {
            // The message's parts: the flight fragments and frames them itself.
            flight.push({ kind: "handshake", epoch: this.#writeEpoch, message: action.message });
          } else if (action.contentType === ContentType.change_cipher_spec) {
            flight.push({ kind: "change_cipher_spec", epoch: this.#writeEpoch });
          } else {
            this.#outbox.push(await this.#seal(action.contentType, this.#writeEpoch, action.data));
          }
          break;
        case "install_write":
          this.#writeEpoch++;
          this.#writeEpochs.set(this.#writeEpoch, {
            protector: action.protector,
            sequence: new SequenceCounter(DTLS_SEQUENCE_LIMIT),
            maxPlaintext: action.maxPlaintext,
            ...(action.cid ? { cid: action.cid } : {}),
          });
          break;
        case "install_read":
          this.#readEpoch++;
          this.#readEpochs.set(this.#readEpoch, {
            protector: action.protector,
            window: new ReplayWindow(),
            ...(action.cid ? { cid: action.cid } : {}),
          });
          break;
        case "complete":
          completed = action.info;
          break;
      }
    }
    if (flight.length > 0) {
      // A flight sent with the completion ends the handshake (ours is last in an abbreviated
      // one): no timer, and it is held to answer the server's retransmissions.
      const entries = this.#flights!.send(flight, now, {
        peerNextMessageSeq: this.#reassembler.nextMessageSeq,
        final: completed !== undefined,
      });
      await this.#transmit(entries, false);
    }
    if (completed) {
      this.#state = "connected";
      this.#flights!.complete(now);
      this.#events.push({ kind: "connected", info: completed });
    }
  }

  async #transmit(entries: readonly FlightEntry[], retransmission: boolean): Promise<void> {
    if (this.#trace) this.#traceFlight(entries, retransmission);
    const planned = planFlightRecords(entries, {
      mtu: this.#mtu,
      expansion: (epoch) => this.#expansion(epoch),
    });
    const records: Uint8Array[] = [];
    for (const record of planned) {
      records.push(await this.#seal(record.contentType, record.epoch, record.plaintext));
    }
    this.#outbox.push(...packDatagrams(records, this.#mtu));
  }

  #traceFlight(entries: readonly FlightEntry[], retransmission: boolean): void {
    for (const entry of entries) {
      const { epoch } = entry;
      if (entry.kind === "change_cipher_spec") {
        this.#trace!({
          kind: "change_cipher_spec",
          direction: "sent",
          dtls: { epoch, retransmission },
        });
        continue;
      }
      const { msgType, messageSeq, body } = entry.message;
      const expansion = this.#expansion(epoch);
      const spans = fragmentSpans(body.length, maxHandshakeFragmentLength(this.#mtu, expansion));
      this.#trace!(handshakeMessageTrace("sent", msgType, body.length, epoch > 0, {
        messageSeq,
        epoch,
        fragments: spans.slice(0, MAX_TRACED_FRAGMENTS),
        fragmentCount: spans.length,
        retransmission,
      }));
    }
  }

  #noteFragment(messageSeq: number, fragment: DtlsHandshakeFragment): void {
    let seen = this.#fragmentsSeen.get(messageSeq);
    if (!seen) this.#fragmentsSeen.set(messageSeq, seen = { fragments: [], count: 0 });
    seen.count++;
    if (seen.fragments.length < MAX_TRACED_FRAGMENTS) {
      seen.fragments.push({ offset: fragment.fragmentOffset, length: fragment.body.length });
    }
  }

  #traceReceived(msgType: number, messageSeq: number, length: number, epoch: number): void {
    const seen = this.#fragmentsSeen.get(messageSeq) ?? { fragments: [], count: 0 };
    this.#fragmentsSeen.delete(messageSeq);
    this.#trace!(handshakeMessageTrace("received", msgType, length, epoch > 0, {
      messageSeq,
      epoch,
      fragments: seen.fragments,
      fragmentCount: seen.count,
      retransmission: false,
    }));
  }

  /** What a record of `epoch` adds to its plaintext: the protector's, and a CID's (RFC 9146). */
  #expansion(epoch: number): number {
    const state = this.#writeEpochs.get(epoch)!;
    return state.protector.maxExpansion + (state.cid ? state.cid.length + 1 : 0);
  }

  async #seal(type: number, epoch: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const state = this.#writeEpochs.get(epoch)!;
    const sequence = state.sequence.next();
    const { cid } = state;
    // RFC 9146 §4: with the peer's CID the real type goes inside, and the header says tls12_cid.
    const outerType = cid ? TLS12_CID : type;
    const fragment = await state.protector.seal(
      {
        type: outerType,
        version: VERSION,
        sequence: recordSequence(epoch, sequence),
        ...(cid ? { cid } : {}),
      },
      cid ? encodeInnerPlaintext(plaintext, type) : plaintext,
    );
    return encodeDtlsRecord({
      type: outerType,
      version: VERSION,
      epoch,
      sequenceNumber: Number(sequence),
      ...(cid ? { cid } : {}),
      fragment,
    });
  }

  async #sendAlert(level: number, description: number): Promise<void> {
    try {
      this.#outbox.push(
        await this.#seal(ContentType.alert, this.#writeEpoch, encodeAlert({ level, description })),
      );
    } catch {
      // The keys are gone (a chip that failed): nothing more can be said to the peer.
    }
  }

  /** Ends the connection for an error raised here: the alert it calls for goes out first. */
  async #fail(error: unknown): Promise<void> {
    if (this.#state === "failed" || this.#state === "closed") return;
    // Nothing for a timeout, as for any local give-up that is no protocol fault.
    const alert = alertFor(error);
    await this.#failed(error);
    if (alert) await this.#sendAlert(alert.level, alert.description);
    this.#destroyKeys();
  }

  /** Ends the connection; a handshake cut short releases its secret handles. */
  async #failed(error: unknown): Promise<void> {
    this.#state = "failed";
    this.#flights?.complete(0);
    this.#events.push({ kind: "failed", error });
    await this.#handshake.abort();
  }
}

/** Whether two CIDs are the same bytes (CIDs are public: no constant time needed). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
