/**
 * DTLS anti-replay (RFC 6347 §4.1.2.6): a 64-entry sliding window over the sequence numbers of
 * one epoch.
 *
 * Checking and marking are separate on purpose: a record is checked before its MAC is
 * verified (cheap rejection of duplicates) but marked only after it authenticates, so forged
 * records cannot advance the window and lock out genuine ones.
 *
 * @module
 */

/** How many sequence numbers behind the highest one the window remembers. */
export const REPLAY_WINDOW_SIZE = 64;

/**
 * The replay window of one epoch. Sequence numbers are the 48-bit explicit DTLS numbers.
 *
 * @example Checking, then marking after authentication
 * ```ts
 * import { ReplayWindow } from "@anchortls/record";
 * const w = new ReplayWindow();
 * w.check(5); // true: never seen
 * w.mark(5); // only once the record's MAC verified
 * w.check(5); // false: a replay
 * ```
 */
export class ReplayWindow {
  /** Highest sequence number marked, or -1 before the first. */
  #highest = -1;
  /** Bit i set = (highest - i) was marked. */
  #bits = 0n;

  /** Highest sequence number accepted so far, or -1. */
  get highest(): number {
    return this.#highest;
  }

  /**
   * Tells whether a record with this number may be new.
   *
   * @param sequenceNumber The record's 48-bit sequence number.
   * @returns False for a duplicate or a number too old to tell; true otherwise (also for
   *   numbers far ahead: the MAC, not the window, decides whether those are genuine).
   */
  check(sequenceNumber: number): boolean {
    if (sequenceNumber > this.#highest) return true;
    const age = this.#highest - sequenceNumber;
    if (age >= REPLAY_WINDOW_SIZE) return false;
    return ((this.#bits >> BigInt(age)) & 1n) === 0n;
  }

  /**
   * Records that an authenticated record with this number was received, sliding the window
   * forward when it is the newest.
   *
   * @param sequenceNumber The record's 48-bit sequence number.
   */
  mark(sequenceNumber: number): void {
    if (sequenceNumber > this.#highest) {
      const shift = sequenceNumber - this.#highest;
      this.#bits = shift >= REPLAY_WINDOW_SIZE ? 1n : BigInt.asUintN(
        REPLAY_WINDOW_SIZE,
        (this.#bits << BigInt(shift)) | 1n,
      );
      this.#highest = sequenceNumber;
      return;
    }
    const age = this.#highest - sequenceNumber;
    if (age < REPLAY_WINDOW_SIZE) this.#bits |= 1n << BigInt(age);
  }
}
