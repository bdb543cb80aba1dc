/**
 * An in-memory, sans-IO faulty path between a client and a server core, driven by a fake
 * clock: the same seeded faults as the UDP proxy, for tests that run in well under a second.
 *
 * Nothing here sleeps. The test loop sends what each side produced, asks `pollTimeout()` for
 * the next delivery, moves its {@linkcode FakeClock} to the earliest of that and the cores'
 * own timeouts, and hands each side what `deliver(now)` returns.
 *
 * @module
 */

import {
  emptyFaultCounters,
  type FaultCounters,
  type FaultDirection,
  FaultPlanner,
  type FaultPlanOptions,
  type FaultStats,
  formatFaultStats,
} from "./fault_plan.ts";

/** Default one-way latency of the in-memory path. */
export const DEFAULT_CHANNEL_LATENCY_MS = 5;

/** Default longest time a held-back datagram waits for a datagram to overtake it. */
export const DEFAULT_REORDER_HOLD_MS = 100;

/** Default bound on datagrams a channel accepts, so a runaway test ends. */
export const DEFAULT_MAX_DATAGRAMS = 100_000;

/** Options for {@linkcode LossyChannel}. */
export interface LossyChannelOptions extends FaultPlanOptions {
  /** One-way latency of every datagram. @default {DEFAULT_CHANNEL_LATENCY_MS} */
  latencyMs?: number;
  /** Longest a held-back datagram waits to be overtaken. @default {DEFAULT_REORDER_HOLD_MS} */
  reorderHoldMs?: number;
  /** Datagrams accepted in all; later ones are turned away. @default {DEFAULT_MAX_DATAGRAMS} */
  maxDatagrams?: number;
}

/** A datagram coming out of the channel. */
export interface ChannelDelivery {
  /** Which way it travelled: `toServer` goes to the server side. */
  readonly direction: FaultDirection;
  /** Its bytes (a copy of what was sent). */
  readonly datagram: Uint8Array;
  /** When it arrives. */
  readonly at: number;
}

interface InFlight {
  readonly direction: FaultDirection;
  readonly datagram: Uint8Array;
  at: number;
  order: number;
}

/**
 * A time controlled by the test.
 *
 * @example Moving time forward
 * ```ts
 * import { FakeClock } from "./lossy_channel.ts";
 * const clock = new FakeClock();
 * clock.advance(1000);
 * clock.now; // 1000
 * ```
 */
export class FakeClock {
  #now: number;

  /**
   * Creates a clock.
   *
   * @param start The starting time in milliseconds.
   */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current time in milliseconds. */
  get now(): number {
    return this.#now;
  }

  /**
   * Moves time forward.
   *
   * @param ms Milliseconds to add; must not be negative.
   * @returns The new time.
   */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock back by ${ms} ms`);
    this.#now += ms;
    return this.#now;
  }

  /**
   * Moves time forward to a given moment; a moment in the past leaves it unchanged.
   *
   * @param time The moment.
   * @returns The new time.
   */
  advanceTo(time: number): number {
    this.#now = Math.max(this.#now, time);
    return this.#now;
  }
}

/**
 * A seeded lossy, duplicating, reordering, delaying path held in memory.
 *
 * @example One datagram each way, the one to the server lost
 * ```ts
 * import { LossyChannel } from "./lossy_channel.ts";
 * const channel = new LossyChannel({ seed: 3, toServer: { drop: 1 } });
 * channel.send("toServer", new Uint8Array([1]), 0);
 * channel.send("toClient", new Uint8Array([2]), 0);
 * const at = channel.pollTimeout()!; // 5: the latency
 * channel.deliver(at).map((d) => d.direction); // ["toClient"]
 * ```
 */
export class LossyChannel {
  readonly #planner: FaultPlanner;
  readonly #latencyMs: number;
  readonly #holdMs: number;
  readonly #maxDatagrams: number;
  readonly #queue: InFlight[] = [];
  readonly #held: Record<FaultDirection, InFlight | undefined> = {
    toServer: undefined,
    toClient: undefined,
  };
  readonly #counters: Record<FaultDirection, FaultCounters> = {
    toServer: emptyFaultCounters(),
    toClient: emptyFaultCounters(),
  };
  #order = 0;
  #accepted = 0;

  /**
   * Creates a channel.
   *
   * @param options Seed, rates per direction, latency and bounds.
   * @throws {RangeError} When a rate or time is out of range.
   */
  constructor(options: LossyChannelOptions) {
    this.#planner = new FaultPlanner(options);
    this.#latencyMs = options.latencyMs ?? DEFAULT_CHANNEL_LATENCY_MS;
    this.#holdMs = options.reorderHoldMs ?? DEFAULT_REORDER_HOLD_MS;
    this.#maxDatagrams = options.maxDatagrams ?? DEFAULT_MAX_DATAGRAMS;
    if (!(this.#latencyMs >= 0) || !(this.#holdMs >= 0) || !(this.#maxDatagrams >= 0)) {
      throw new RangeError("latencyMs, reorderHoldMs and maxDatagrams must not be negative");
    }
  }

  /** The seed of this channel's faults. */
  get seed(): number {
    return this.#planner.seed;
  }

  /** What the faults did so far, per direction (a snapshot). */
  get stats(): FaultStats {
    return { toServer: { ...this.#counters.toServer }, toClient: { ...this.#counters.toClient } };
  }

  /** Datagrams still travelling. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Puts a datagram on the path.
   *
   * @param direction Which way it goes.
   * @param datagram Its bytes (copied).
   * @param now When it is sent.
   */
  send(direction: FaultDirection, datagram: Uint8Array, now: number): void {
    const counters = this.#counters[direction];
    if (this.#accepted >= this.#maxDatagrams) {
      counters.overLimit++;
      return;
    }
    this.#accepted++;
    counters.received++;
    const decision = this.#planner.decide(direction);
    const held = this.#held[direction];
    this.#held[direction] = undefined;
    const at = now + this.#latencyMs + decision.delayMs;
    if (decision.drop) {
      counters.dropped++;
    } else {
      if (decision.delayMs > 0) counters.delayed++;
      const copies = decision.duplicate ? 2 : 1;
      if (decision.duplicate) counters.duplicated++;
      const first = this.#enqueue(direction, datagram, at, copies);
      if (decision.reorder && held === undefined) {
        counters.reordered++;
        first.at += this.#holdMs;
        this.#held[direction] = first;
      }
    }
    if (held !== undefined && this.#queue.includes(held)) {
      held.at = Math.max(at, now + this.#latencyMs);
      held.order = this.#order++;
    }
  }

  #enqueue(direction: FaultDirection, datagram: Uint8Array, at: number, copies: number): InFlight {
    const bytes = datagram.slice();
    const first: InFlight = { direction, datagram: bytes, at, order: this.#order++ };
    this.#queue.push(first);
    for (let i = 1; i < copies; i++) {
      this.#queue.push({ direction, datagram: bytes.slice(), at, order: this.#order++ });
    }
    this.#counters[direction].delivered += copies;
    return first;
  }

  /**
   * Takes out every datagram that has arrived by `now`.
   *
   * @param now The current time.
   * @returns The arrivals, earliest first.
   */
  deliver(now: number): ChannelDelivery[] {
    this.#queue.sort((a, b) => a.at - b.at || a.order - b.order);
    let n = 0;
    while (n < this.#queue.length && this.#queue[n]!.at <= now) n++;
    const arrived = this.#queue.splice(0, n);
    for (const direction of ["toServer", "toClient"] as const) {
      const held = this.#held[direction];
      if (held !== undefined && arrived.includes(held)) this.#held[direction] = undefined;
    }
    return arrived.map(({ direction, datagram, at }) => ({ direction, datagram, at }));
  }

  /**
   * Says when the next datagram arrives.
   *
   * @returns Its arrival time, or `undefined` when none is travelling.
   */
  pollTimeout(): number | undefined {
    let next: number | undefined;
    for (const item of this.#queue) if (next === undefined || item.at < next) next = item.at;
    return next;
  }

  /**
   * Describes the channel for failure messages.
   *
   * @returns The seed and counters in one line.
   */
  describe(): string {
    return `lossy channel seed ${this.seed}: ${formatFaultStats(this.stats)}`;
  }
}
