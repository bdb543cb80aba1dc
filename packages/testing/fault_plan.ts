/**
 * Seeded decisions about what happens to each datagram on a faulty path: dropped,
 * duplicated, held back behind the next one, or delayed. Shared by the real UDP proxy and the
 * in-memory channel, so a scenario means the same in both.
 *
 * Each direction draws from its own generator, derived from the seed and the direction, and
 * every datagram consumes the same number of draws whatever is decided. The n-th datagram of
 * a direction therefore meets the same fate for a given seed however the two directions
 * interleave in time.
 *
 * @module
 */

import { SeededRandom } from "./seeded_random.ts";

/** Which way a datagram travels. */
export type FaultDirection = "toServer" | "toClient";

/** Probabilities (0..1) of each fault for one direction, and the delay range. */
export interface FaultRates {
  /** Chance a datagram is lost. @default {0} */
  drop?: number;
  /** Chance a datagram that is not lost arrives twice. @default {0} */
  duplicate?: number;
  /** Chance a datagram is held back and delivered after the next one. @default {0} */
  reorder?: number;
  /** Chance a datagram is delayed by a time drawn from `delayMs`. @default {0} */
  delay?: number;
  /** Smallest and largest delay in milliseconds. @default {[10, 100]} */
  delayMs?: readonly [number, number];
}

/** The fate of one datagram. */
export interface FaultDecision {
  /** Lost: nothing else applies. */
  readonly drop: boolean;
  /** Delivered twice, both copies together. */
  readonly duplicate: boolean;
  /** Held back until the next datagram of the same direction has gone. */
  readonly reorder: boolean;
  /** Extra delay in milliseconds (0 when not delayed). */
  readonly delayMs: number;
}

/** What happened on one direction. */
export interface FaultCounters {
  /** Datagrams that entered the path. */
  received: number;
  /** Copies that left it (duplicates count twice). */
  delivered: number;
  /** Lost on purpose. */
  dropped: number;
  /** Sent twice. */
  duplicated: number;
  /** Held back behind a later datagram. */
  reordered: number;
  /** Delayed. */
  delayed: number;
  /** Turned away because a bound of the run (datagram count, time) was reached. */
  overLimit: number;
}

/** Counters for both directions. */
export interface FaultStats {
  /** Client to server. */
  readonly toServer: FaultCounters;
  /** Server to client. */
  readonly toClient: FaultCounters;
}

/** Options of a fault plan: the seed and the rates per direction. */
export interface FaultPlanOptions {
  /** Seed of the scenario; print it when a test fails. */
  seed: number;
  /** Faults on the way to the server. @default {{}} */
  toServer?: FaultRates;
  /** Faults on the way to the client. @default {{}} */
  toClient?: FaultRates;
}

/** Creates a zeroed set of counters. @returns Counters, all 0. */
export function emptyFaultCounters(): FaultCounters {
  return {
    received: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    overLimit: 0,
  };
}

function checkRates(rates: FaultRates, direction: FaultDirection): Required<FaultRates> {
  const full = {
    drop: rates.drop ?? 0,
    duplicate: rates.duplicate ?? 0,
    reorder: rates.reorder ?? 0,
    delay: rates.delay ?? 0,
    delayMs: rates.delayMs ?? [10, 100] as const,
  };
  for (const [name, p] of Object.entries(full)) {
    if (typeof p === "number" && !(p >= 0 && p <= 1)) {
      throw new RangeError(`${direction}.${name} rate ${p} outside 0..1`);
    }
  }
  const [min, max] = full.delayMs;
  if (!(min >= 0 && max >= min)) {
    throw new RangeError(`${direction}.delayMs [${min}, ${max}] is not a range`);
  }
  return full;
}

/**
 * Decides the fate of each datagram from a seed.
 *
 * @example Half the datagrams lost, reproducibly
 * ```ts
 * import { FaultPlanner } from "./fault_plan.ts";
 * const plan = new FaultPlanner({ seed: 1, toServer: { drop: 0.5 } });
 * const again = new FaultPlanner({ seed: 1, toServer: { drop: 0.5 } });
 * plan.decide("toServer").drop === again.decide("toServer").drop; // true
 * ```
 */
export class FaultPlanner {
  /** The seed this plan was made from. */
  readonly seed: number;
  readonly #rates: Record<FaultDirection, Required<FaultRates>>;
  readonly #random: Record<FaultDirection, SeededRandom>;

  /**
   * Creates a plan.
   *
   * @param options Seed and rates.
   * @throws {RangeError} When a rate is outside 0..1 or the delay range is inverted.
   */
  constructor(options: FaultPlanOptions) {
    this.seed = options.seed;
    this.#rates = {
      toServer: checkRates(options.toServer ?? {}, "toServer"),
      toClient: checkRates(options.toClient ?? {}, "toClient"),
    };
    // Distinct constant salts keep the two directions' streams unrelated.
    this.#random = {
      toServer: new SeededRandom(options.seed ^ 0x5eed0001),
      toClient: new SeededRandom(options.seed ^ 0x5eed0002),
    };
  }

  /**
   * Draws the fate of the next datagram in a direction.
   *
   * @param direction Which way it travels.
   * @returns What to do with it.
   */
  decide(direction: FaultDirection): FaultDecision {
    const rates = this.#rates[direction];
    const random = this.#random[direction];
    const drop = random.next() < rates.drop;
    const duplicate = random.next() < rates.duplicate;
    const reorder = random.next() < rates.reorder;
    const delayed = random.next() < rates.delay;
    const [min, max] = rates.delayMs;
    const delayMs = Math.round(min + random.next() * (max - min));
    if (drop) return { drop, duplicate: false, reorder: false, delayMs: 0 };
    return { drop, duplicate, reorder, delayMs: delayed ? delayMs : 0 };
  }
}

/** A test step failed under a fault scenario; the message names the seed to replay it. */
export class FaultScenarioError extends Error {
  /** The seed of the failing scenario. */
  readonly seed: number;

  /**
   * Creates the error.
   *
   * @param seed The scenario's seed.
   * @param message What failed, with the seed and counters already in it.
   * @param options The original failure as `cause`.
   */
  constructor(seed: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FaultScenarioError";
    this.seed = seed;
  }
}

/**
 * Runs a test step and, if it fails, fails again naming the seed (and what the faults did),
 * so the scenario can be replayed.
 *
 * @example Tagging a failure with its seed
 * ```ts
 * import { withFaultSeed } from "./fault_plan.ts";
 * await withFaultSeed(17, () => 1 + 1); // 2
 * ```
 *
 * @param seed The scenario's seed.
 * @param step The test step.
 * @param describe Adds the fault counters to the message when given.
 * @returns What the step returns.
 * @throws {FaultScenarioError} With the original error as `cause`.
 */
export async function withFaultSeed<T>(
  seed: number,
  step: () => T | Promise<T>,
  describe?: () => string,
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const detail = describe ? ` (${describe()})` : "";
    throw new FaultScenarioError(seed, `fault seed ${seed}${detail}: ${reason}`, { cause: err });
  }
}

/**
 * Prints counters in one line for failure messages.
 *
 * @param stats Counters of both directions.
 * @returns E.g. `toServer 10 in/8 out (2 dropped, …) | toClient …`.
 */
export function formatFaultStats(stats: FaultStats): string {
  const one = (c: FaultCounters): string =>
    `${c.received} in/${c.delivered} out (${c.dropped} dropped, ${c.duplicated} duplicated, ` +
    `${c.reordered} reordered, ${c.delayed} delayed, ${c.overLimit} over limit)`;
  return `toServer ${one(stats.toServer)} | toClient ${one(stats.toClient)}`;
}
