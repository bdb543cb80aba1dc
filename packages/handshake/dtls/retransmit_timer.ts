/**
 * The DTLS flight retransmission timer (RFC 6347 §4.2.4, §4.2.4.1) and the overall handshake
 * deadline, as pure state driven by the `now` its caller passes in.
 *
 * Nothing here reads a clock or sets a timer: the driver asks `pollTimeout()` when to wake
 * up next, sleeps until then (or until a datagram arrives) and calls `handleTimeout(now)`.
 * Times are milliseconds on any monotonic scale the driver likes.
 *
 * @module
 */

import { HandshakeTimeoutError } from "../handshake_timeout.ts";

/** Default first retransmission timeout: 1 s (RFC 6347 §4.2.4.1). */
export const DEFAULT_INITIAL_RETRANSMIT_MS = 1_000;

/** Default cap of the doubling timeout: 60 s, RFC 6298's maximum. */
export const DEFAULT_MAX_RETRANSMIT_MS = 60_000;

/**
 * Default time a whole handshake may take: 60 s, as GnuTLS's DTLS default, so a device learns
 * within a minute that nobody answers; the flight goes out at 0, 1, 3, 7, 15 and 31 s. Longer
 * outages need a longer `handshakeTimeoutMs`.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 60_000;

/** Options for {@linkcode RetransmitTimer}. */
export interface RetransmitOptions {
  /** First timeout of a flight. @default {DEFAULT_INITIAL_RETRANSMIT_MS} */
  initialTimeoutMs?: number;
  /** Cap of the doubling timeout. @default {DEFAULT_MAX_RETRANSMIT_MS} */
  maxTimeoutMs?: number;
  /** Time from the start of the handshake after which it fails. @default {DEFAULT_HANDSHAKE_TIMEOUT_MS} */
  handshakeTimeoutMs?: number;
}

/** Options for {@linkcode DtlsHandshakeTimeoutError}. */
export interface DtlsHandshakeTimeoutErrorOptions extends ErrorOptions {
  /** Milliseconds since the handshake started. */
  elapsedMs: number;
  /** Flights retransmitted on timer expiry before giving up. */
  retransmissions: number;
  /** What the client was waiting for. */
  waitingFor?: string | undefined;
  /** Whether the ClientHello offered PSK suites. */
  pskOffered?: boolean | undefined;
}

/**
 * The handshake did not finish before its deadline: the peer is unreachable, silent or
 * losing every answer. This is a local timeout, so no alert goes to the peer.
 *
 * @example Telling a timeout apart from an alert
 * ```ts
 * import { DtlsHandshakeTimeoutError } from "@anchortls/handshake/dtls";
 * const err = new DtlsHandshakeTimeoutError({ elapsedMs: 60_000, retransmissions: 5 });
 * err instanceof DtlsHandshakeTimeoutError; // true
 * err.retransmissions; // 5
 * ```
 */
export class DtlsHandshakeTimeoutError extends HandshakeTimeoutError {
  /** Flights retransmitted on timer expiry before giving up. */
  readonly retransmissions: number;

  /**
   * Creates the error.
   *
   * @param options Elapsed time, retransmission count and an optional cause.
   */
  constructor(options: DtlsHandshakeTimeoutErrorOptions) {
    super(
      options.elapsedMs,
      `DTLS handshake timed out after ${options.elapsedMs} ms and ${options.retransmissions} retransmissions`,
      options,
    );
    this.name = "DtlsHandshakeTimeoutError";
    this.retransmissions = options.retransmissions;
  }
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}

/**
 * Times the retransmission of our current flight and the handshake as a whole.
 *
 * Call `start(now)` each time a new flight goes out, `stop()` when the peer's next flight has
 * arrived, `restart(now)` after resending because the peer retransmitted, and
 * `handleTimeout(now)` whenever the time from `pollTimeout()` has come. Each expiry doubles
 * the timeout up to its cap; the backed-off value is kept until a flight gets through without
 * any retransmission, and then falls back to the initial one (RFC 6347 §4.2.4.1).
 *
 * @example Driving the timer with a fake clock
 * ```ts
 * import { RetransmitTimer } from "@anchortls/handshake/dtls";
 * const timer = new RetransmitTimer(0);
 * timer.start(0);
 * timer.pollTimeout(); // 1000
 * timer.handleTimeout(1000); // true: resend the flight
 * timer.pollTimeout(); // 3000
 * timer.stop();
 * timer.finish();
 * timer.pollTimeout(); // undefined
 * ```
 */
export class RetransmitTimer {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #startedAt: number;
  readonly #handshakeDeadline: number;
  #timeoutMs: number;
  #flightDeadline: number | undefined;
  #flightRetransmitted = false;
  #retransmissions = 0;
  #finished = false;

  /**
   * Starts the handshake clock.
   *
   * @param now The time the handshake starts.
   * @param options Timeout values.
   * @throws {RangeError} When a timeout is not positive or the cap is below the initial value.
   */
  constructor(now: number, options: RetransmitOptions = {}) {
    this.#initialMs = positive(
      options.initialTimeoutMs ?? DEFAULT_INITIAL_RETRANSMIT_MS,
      "initialTimeoutMs",
    );
    this.#maxMs = positive(options.maxTimeoutMs ?? DEFAULT_MAX_RETRANSMIT_MS, "maxTimeoutMs");
    if (this.#maxMs < this.#initialMs) {
      throw new RangeError(
        `maxTimeoutMs ${this.#maxMs} is below initialTimeoutMs ${this.#initialMs}`,
      );
    }
    this.#startedAt = now;
    this.#handshakeDeadline = now + positive(
      options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      "handshakeTimeoutMs",
    );
    this.#timeoutMs = this.#initialMs;
  }

  /** The timeout the next (re)transmission waits for. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Retransmissions caused by timer expiry so far. */
  get retransmissions(): number {
    return this.#retransmissions;
  }

  /** True while a flight is waiting for the peer's answer. */
  get running(): boolean {
    return this.#flightDeadline !== undefined;
  }

  /**
   * Arms the timer for a flight sent for the first time.
   *
   * @param now When the flight went out.
   */
  start(now: number): void {
    this.#flightRetransmitted = false;
    this.#flightDeadline = now + this.#timeoutMs;
  }

  /**
   * Re-arms the timer with the current timeout after a resend the peer asked for by
   * retransmitting; the timeout does not double, since no timer expired.
   *
   * @param now When the flight went out again.
   */
  restart(now: number): void {
    this.#flightRetransmitted = true;
    this.#flightDeadline = now + this.#timeoutMs;
  }

  /**
   * Disarms the flight timer because the peer's next flight arrived. If our flight got
   * through without a retransmission, the timeout falls back to its initial value.
   */
  stop(): void {
    if (this.#flightDeadline !== undefined && !this.#flightRetransmitted) {
      this.#timeoutMs = this.#initialMs;
    }
    this.#flightDeadline = undefined;
  }

  /** Disarms everything, the handshake deadline included: the handshake is over. */
  finish(): void {
    this.#flightDeadline = undefined;
    this.#finished = true;
  }

  /**
   * Says when the driver must call {@linkcode handleTimeout} next.
   *
   * @returns The earlier of the flight deadline and the handshake deadline, or `undefined`
   *   once the handshake is finished.
   */
  pollTimeout(): number | undefined {
    if (this.#finished) return undefined;
    return Math.min(this.#flightDeadline ?? Infinity, this.#handshakeDeadline);
  }

  /**
   * Acts on the time: fails the handshake past its deadline, and on flight timer expiry
   * doubles the timeout (up to the cap), re-arms and tells the caller to resend.
   *
   * @param now The current time.
   * @param waitingFor What the handshake waits for, named in the timeout error.
   * @param pskOffered Whether the ClientHello offered PSK suites, for the error's hint.
   * @returns True when the caller must retransmit its flight now.
   * @throws {DtlsHandshakeTimeoutError} Once the handshake deadline has passed.
   */
  handleTimeout(now: number, waitingFor?: string, pskOffered?: boolean): boolean {
    if (this.#finished) return false;
    if (now >= this.#handshakeDeadline) {
      this.#flightDeadline = undefined;
      throw new DtlsHandshakeTimeoutError({
        elapsedMs: now - this.#startedAt,
        retransmissions: this.#retransmissions,
        waitingFor,
        pskOffered,
      });
    }
    if (this.#flightDeadline === undefined || now < this.#flightDeadline) return false;
    this.#timeoutMs = Math.min(this.#timeoutMs * 2, this.#maxMs);
    this.#flightDeadline = now + this.#timeoutMs;
    this.#flightRetransmitted = true;
    this.#retransmissions++;
    return true;
  }
}
