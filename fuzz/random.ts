/**
 * A small seeded generator (SplitMix32), so every fuzz run is reproducible from its seed.
 *
 * Kept apart from `SeededRandom` in `@anchortls/testing` (mulberry32, float draws):
 * the mutators need raw 32-bit draws, bounded picks and byte fills, and printed `--seed` replays
 * and the files `capture_corpus.ts` writes depend on this exact sequence.
 *
 * @module
 */

/** Seeded pseudo-random numbers; never use for anything secret. */
export class SeededRandom {
  #state: number;

  /**
   * Creates a generator.
   *
   * @param seed Any 32-bit integer.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * The next 32-bit value.
   *
   * @returns An unsigned 32-bit integer.
   */
  next32(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /**
   * A value in `0 … n-1`.
   *
   * @param n The bound (≥ 1).
   * @returns The value.
   */
  below(n: number): number {
    return n <= 1 ? 0 : this.next32() % n;
  }

  /**
   * One element of `items`.
   *
   * @param items A non-empty array.
   * @returns The pick.
   */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /**
   * Random bytes.
   *
   * @param length How many.
   * @returns The bytes.
   */
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.next32() & 0xff);
  }
}
