/**
 * One chip shared by the parts of a provider: commands run one operation at a time (so an MSE
 * and the PSO it sets up never interleave with another's), and chip randoms come from a pool.
 *
 * @module
 */

import type { TrustCore } from "./trust_core.ts";

/** One GET RANDOM fills the pool with this many bytes (randoms and IVs of a few handshakes). */
const RANDOM_POOL = 240;

/** Exclusive access to one `TrustCore`, and its pooled random generator. */
export class ChipAccess {
  readonly chip: TrustCore;
  #queue: Promise<unknown> = Promise.resolve();
  #pool: Uint8Array = new Uint8Array(0);
  #poolAt = 0;

  constructor(chip: TrustCore) {
    this.chip = chip;
  }

  /** Runs `operation` with the chip to itself. */
  exclusive<T>(operation: (chip: TrustCore) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => operation(this.chip));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Random bytes from the chip's generator, 240 fetched at a time; used bytes are zeroed. */
  async random(length: number): Promise<Uint8Array> {
    if (this.#pool.length - this.#poolAt < length) {
      const fresh = await this.exclusive((chip) => chip.getRandom(Math.max(length, RANDOM_POOL)));
      if (this.#pool.length - this.#poolAt < length) {
        this.#pool = fresh;
        this.#poolAt = 0;
      }
    }
    const out = this.#pool.slice(this.#poolAt, this.#poolAt + length);
    this.#pool.fill(0, this.#poolAt, this.#poolAt + length);
    this.#poolAt += length;
    return out;
  }
}
