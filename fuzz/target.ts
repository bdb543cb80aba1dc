/**
 * What a fuzz target is: one file in `fuzz/targets/` default-exports a {@linkcode FuzzTarget}.
 *
 * @module
 */

/** One decoder under fuzzing. */
export interface FuzzTarget {
  /** The name used on the command line and for `fuzz/regressions/<name>/`. */
  readonly name: string;
  /** Folder under `fuzz/corpus/` holding the seed inputs (targets may share one). */
  readonly corpus: string;
  /**
   * Feeds one input to the code under test and checks what it did. It throws when the code
   * fails, whether with one of its own typed errors or with an oracle violation.
   *
   * @param input The bytes.
   * @returns A short label for the outcome (e.g. which branch), used to keep inputs that reach
   * new outcomes in the working set.
   */
  run(input: Uint8Array): string;
  /**
   * Whether an error thrown by {@linkcode FuzzTarget.run} is the code's documented, typed way
   * of refusing bad input. Anything else is a crash.
   *
   * @param error What `run` threw.
   * @returns True for an expected refusal.
   */
  expected(error: unknown): boolean;
  /** Longest input to try. @default {4096} */
  readonly maxInputLength?: number;
}

/** Thrown by a target when the code under test returned something it must never return. */
export class OracleViolation extends Error {
  /**
   * Creates the error.
   *
   * @param message What was wrong.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OracleViolation";
  }
}

/**
 * Throws an {@linkcode OracleViolation} unless `condition` holds.
 *
 * @param condition What must be true.
 * @param message What it means when it is not.
 */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new OracleViolation(message);
}

/**
 * Whether two byte arrays hold the same bytes.
 *
 * @param a One array.
 * @param b The other.
 * @returns True when equal.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
