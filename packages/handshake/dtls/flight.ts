/**
 * Our last DTLS flight and the rules of when to send it again (RFC 6347 §4.2.4).
 *
 * A flight is kept as messages, not as records: each retransmission is fragmented and sealed
 * anew, so every record gets a fresh sequence number, as the replay window on the other side
 * requires (§4.2.4: "the same message_seq, but new record sequence numbers").
 *
 * It is sent again when
 * - its timer expires (doubling timeout, see {@linkcode RetransmitTimer}), or
 * - the peer retransmits the flight ours answered, which means ours was lost. A retransmitted
 *   message of the flight the peer is sending now is not such a sign and is ignored, and
 *   resends the peer asks for come at most once per `peerRetransmitMinGapMs`, so a peer flight
 *   of several records triggers one resend, not several.
 *
 * When the handshake completes on our flight (we sent the last one: the client in an
 * abbreviated handshake) the flight is held for twice the MSL to answer a peer that missed
 * it; when it completes on the peer's flight (a full handshake), ours is dropped at once and
 * the peer's retransmissions of its final flight are ignored.
 *
 * @module
 */

import { ContentType } from "@anchortls/record";
import { fragmentHandshakeMessage, maxHandshakeFragmentLength } from "./fragmenter.ts";
import type { DtlsHandshakeMessage } from "./handshake_header.ts";
import { type RetransmitOptions, RetransmitTimer } from "./retransmit_timer.ts";

/** How long a final flight is held after the handshake: twice TCP's 2-minute MSL. */
export const DEFAULT_FINAL_FLIGHT_HOLD_MS = 240_000;

/** One item of a flight, in sending order. */
export type FlightEntry =
  /** A handshake message, sent in the given epoch. */
  | { readonly kind: "handshake"; readonly epoch: number; readonly message: DtlsHandshakeMessage }
  /** A ChangeCipherSpec record (one byte, 1), sent in the epoch before the switch. */
  | { readonly kind: "change_cipher_spec"; readonly epoch: number };

/** One record to seal and send; the record layer gives it the next sequence number of its epoch. */
export interface PlannedRecord {
  /** Record content type: handshake (22) or change_cipher_spec (20). */
  readonly contentType: number;
  /** Epoch whose protector seals it. */
  readonly epoch: number;
  /** The record plaintext. */
  readonly plaintext: Uint8Array;
}

/** Options for {@linkcode planFlightRecords}. */
export interface FlightRecordOptions {
  /** Most bytes of payload one datagram may carry. */
  mtu: number;
  /** The `maxExpansion` of the protector that seals records of an epoch. */
  expansion: (epoch: number) => number;
}

const changeCipherSpecBody = new Uint8Array([1]);

/**
 * Turns a flight into the records that carry it, each handshake message fragmented so its
 * records fit the MTU once sealed.
 *
 * @example Planning a ClientHello flight
 * ```ts
 * import { planFlightRecords } from "@anchortls/handshake/dtls";
 * const records = planFlightRecords(
 *   [{ kind: "handshake", epoch: 0, message: { msgType: 1, messageSeq: 0, body: new Uint8Array(1500) } }],
 *   { mtu: 1200, expansion: () => 0 },
 * );
 * records.length; // 2
 * ```
 *
 * @param entries The flight, in sending order.
 * @param options MTU and per-epoch protector expansion.
 * @returns The records, in sending order.
 * @throws {RangeError} When the MTU is too small for a handshake fragment.
 */
export function planFlightRecords(
  entries: readonly FlightEntry[],
  options: FlightRecordOptions,
): PlannedRecord[] {
  const records: PlannedRecord[] = [];
  for (const entry of entries) {
    if (entry.kind === "change_cipher_spec") {
      records.push({
        contentType: ContentType.change_cipher_spec,
        epoch: entry.epoch,
        plaintext: changeCipherSpecBody,
      });
      continue;
    }
    const max = maxHandshakeFragmentLength(options.mtu, options.expansion(entry.epoch));
    for (const plaintext of fragmentHandshakeMessage(entry.message, max)) {
      records.push({ contentType: ContentType.handshake, epoch: entry.epoch, plaintext });
    }
  }
  return records;
}

/** Options for {@linkcode FlightTracker}. */
export interface FlightTrackerOptions extends RetransmitOptions {
  /**
   * Least time between two resends asked for by the peer's retransmissions.
   * @default {initialTimeoutMs / 2}
   */
  peerRetransmitMinGapMs?: number;
  /** How long a final flight is held after the handshake. @default {DEFAULT_FINAL_FLIGHT_HOLD_MS} */
  finalFlightHoldMs?: number;
}

/** Options for {@linkcode FlightTracker.send}. */
export interface SendFlightOptions {
  /**
   * The peer's next message_seq (the reassembler's `nextMessageSeq`) when this flight goes
   * out: messages below it belong to the flight ours answers, and seeing one again means ours
   * was lost.
   */
  peerNextMessageSeq: number;
  /**
   * True when no answer is expected because this flight ends the handshake: no timer runs;
   * after {@linkcode FlightTracker.complete} it is held to answer the peer's retransmissions.
   * @default {false}
   */
  final?: boolean;
}

/** Counters of what a {@linkcode FlightTracker} did. */
export interface FlightStats {
  /** Flights sent for the first time. */
  readonly flights: number;
  /** Resends on timer expiry. */
  readonly timerRetransmissions: number;
  /** Resends because the peer retransmitted the flight ours answers. */
  readonly peerRetransmissions: number;
  /** Peer retransmissions that caused no resend (too soon after the last, or not a sign of loss). */
  readonly ignoredPeerRetransmissions: number;
}

/**
 * Holds our last flight and decides when it goes out again.
 *
 * Inputs: `send` (a new flight), `retransmissionSeen` (the reassembler reported a message
 * the peer sent before), `handleTimeout` (the time from `pollTimeout()` has come), `complete`
 * (the handshake is over). Each input that calls for a (re)send returns the flight's entries;
 * turn them into records with {@linkcode planFlightRecords}, seal each with the next sequence
 * number of its epoch, and send them packed with `packDatagrams`.
 *
 * @example A ClientHello lost once, then answered
 * ```ts
 * import { FlightTracker } from "@anchortls/handshake/dtls";
 * const hello = { msgType: 1, messageSeq: 0, body: new Uint8Array(60) };
 * const flights = new FlightTracker(0);
 * flights.send([{ kind: "handshake", epoch: 0, message: hello }], 0, { peerNextMessageSeq: 0 });
 * flights.pollTimeout(); // 1000
 * flights.handleTimeout(1000)?.length; // 1: send the ClientHello again
 * flights.complete(1500);
 * flights.stats.timerRetransmissions; // 1
 * ```
 */
export class FlightTracker {
  readonly #timer: RetransmitTimer;
  readonly #minGapMs: number;
  readonly #holdMs: number;
  #entries: readonly FlightEntry[] | undefined;
  #peerNextMessageSeq = 0;
  #final = false;
  #lastSentAt = -Infinity;
  #holdUntil: number | undefined;
  #flights = 0;
  #timerRetransmissions = 0;
  #peerRetransmissions = 0;
  #ignoredPeerRetransmissions = 0;

  /**
   * Starts the handshake clock.
   *
   * @param now When the handshake starts.
   * @param options Timer values, the resend gap and the final-flight hold time.
   * @throws {RangeError} When a time option is out of range.
   */
  constructor(now: number, options: FlightTrackerOptions = {}) {
    this.#timer = new RetransmitTimer(now, options);
    this.#minGapMs = options.peerRetransmitMinGapMs ?? this.#timer.timeoutMs / 2;
    this.#holdMs = options.finalFlightHoldMs ?? DEFAULT_FINAL_FLIGHT_HOLD_MS;
    if (!(this.#minGapMs >= 0) || !(this.#holdMs >= 0)) {
      throw new RangeError("peerRetransmitMinGapMs and finalFlightHoldMs must not be negative");
    }
  }

  /** What this tracker has done so far. */
  get stats(): FlightStats {
    return {
      flights: this.#flights,
      timerRetransmissions: this.#timerRetransmissions,
      peerRetransmissions: this.#peerRetransmissions,
      ignoredPeerRetransmissions: this.#ignoredPeerRetransmissions,
    };
  }

  /**
   * Records a new flight, which replaces the last one (the peer's answer to it has arrived),
   * and arms the timer unless the flight is final.
   *
   * @param entries The flight, in sending order.
   * @param now When it goes out.
   * @param options Where the peer's answer starts, and whether the flight is final.
   * @returns The entries to send now.
   */
  send(
    entries: readonly FlightEntry[],
    now: number,
    options: SendFlightOptions,
  ): readonly FlightEntry[] {
    this.#timer.stop();
    this.#entries = entries;
    this.#peerNextMessageSeq = options.peerNextMessageSeq;
    this.#final = options.final ?? false;
    this.#lastSentAt = now;
    this.#flights++;
    if (!this.#final) this.#timer.start(now);
    return entries;
  }

  /**
   * Reacts to a fragment of a message the peer had already delivered.
   *
   * @param messageSeq The message_seq the reassembler reported as a retransmission.
   * @param now The current time.
   * @param peerDelivered The message_seq the peer's next new message will have: past where its
   *   answer to our flight starts, that answer has begun, so our flight arrived and an older
   *   message (a late or replayed HelloVerifyRequest) asks for nothing.
   * @returns The entries to resend now, or `undefined` when this is no sign that our flight
   *   was lost, or the flight was resent too recently.
   */
  retransmissionSeen(
    messageSeq: number,
    now: number,
    peerDelivered: number = this.#peerNextMessageSeq,
  ): readonly FlightEntry[] | undefined {
    this.#releaseExpiredHold(now);
    const entries = this.#entries;
    if (
      entries === undefined || messageSeq >= this.#peerNextMessageSeq ||
      peerDelivered > this.#peerNextMessageSeq || now - this.#lastSentAt < this.#minGapMs
    ) {
      this.#ignoredPeerRetransmissions++;
      return undefined;
    }
    this.#lastSentAt = now;
    this.#peerRetransmissions++;
    if (this.#timer.running) this.#timer.restart(now);
    return entries;
  }

  /**
   * Acts on the time: resends on timer expiry, releases a held final flight, and fails the
   * handshake at its deadline.
   *
   * @param now The current time.
   * @param waitingFor What the handshake waits for, named in the timeout error.
   * @param pskOffered Whether the ClientHello offered PSK suites, for the error's hint.
   * @returns The entries to resend now, or `undefined`.
   * @throws {DtlsHandshakeTimeoutError} Once the handshake deadline has passed.
   */
  handleTimeout(
    now: number,
    waitingFor?: string,
    pskOffered?: boolean,
  ): readonly FlightEntry[] | undefined {
    this.#releaseExpiredHold(now);
    if (!this.#timer.handleTimeout(now, waitingFor, pskOffered) || this.#entries === undefined) {
      return undefined;
    }
    this.#lastSentAt = now;
    this.#timerRetransmissions++;
    return this.#entries;
  }

  /**
   * Says when {@linkcode handleTimeout} must be called next.
   *
   * @returns The next retransmission, hold expiry or handshake deadline, or `undefined` when
   *   nothing is pending.
   */
  pollTimeout(): number | undefined {
    return this.#holdUntil ?? this.#timer.pollTimeout();
  }

  /**
   * Drops a held final flight once its hold time is over. Checked on every input, so the
   * driver need not keep a timer running after the handshake for it.
   */
  #releaseExpiredHold(now: number): void {
    if (this.#holdUntil !== undefined && now >= this.#holdUntil) {
      this.#holdUntil = undefined;
      this.#entries = undefined;
    }
  }

  /**
   * Ends the handshake: stops the timers and keeps our flight only if it was final.
   *
   * @param now When the handshake completed.
   */
  complete(now: number): void {
    this.#timer.finish();
    if (this.#final && this.#entries !== undefined) {
      this.#holdUntil = now + this.#holdMs;
    } else {
      this.#entries = undefined;
    }
  }
}
