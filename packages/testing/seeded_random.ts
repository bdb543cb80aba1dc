/**
 * A small seeded pseudo-random generator for reproducible fault scenarios in tests. Not for
 * anything secret: it is predictable by design.
 *
 * @module
 */

/**
 * Deterministic random numbers from a 32-bit seed (the mulberry32 generator): the same seed
 * gives the same sequence on every run and machine.
 *
 * @example Two generators with one seed agree
 * ```ts
 * import { SeededRandom } from "./seeded_random.ts";
 * const a = new SeededRandom(7);
 * const b = new SeededRandom(7);
 * a.next() === b.next(); // true
 * ```
 */
export class SeededRandom {
  #state: number;

  /**
   * Creates a generator.
   *
   * @param seed Any integer; only its low 32 bits count.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * Draws the next number.
   *
   * @returns A number in [0, 1).
   */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Draws an integer.
   *
   * @param min Smallest value. @param max Largest value (inclusive).
   * @returns An integer in [min, max].
   */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}
