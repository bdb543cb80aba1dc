/**
 * The one error type for APDU failures: bad lengths when encoding, malformed responses, and
 * status words other than success.
 *
 * @module
 */

import { formatStatusWord, statusWordMeaning } from "./status_word.ts";

/** Options for {@linkcode ApduError}. */
export interface ApduErrorOptions extends ErrorOptions {
  /** What was wrong beyond the status word, e.g. which length was out of range. */
  detail?: string;
}

/**
 * An APDU command failed or could not be built or parsed.
 *
 * The message names the command and the status word with its meaning; it never contains
 * command data, because that can be a PIN or key material.
 *
 * @example A refused command
 * ```ts
 * import { ApduError } from "@anchortls/multos-apdu";
 * const err = new ApduError(0x6982, "PSO SIGN");
 * err.message; // "PSO SIGN: 6982 security status not satisfied"
 * ```
 */
export class ApduError extends Error {
  /** The status word the card returned, or `undefined` when none was (codec errors). */
  readonly sw: number | undefined;
  /** Name of the command, e.g. `"VERIFY PIN"` or `"80 2A 9E 9A"`. */
  readonly command: string;

  /**
   * Creates an APDU error.
   *
   * @param sw The status word, or `undefined` when the failure happened before one arrived.
   * @param command Name of the command that failed.
   * @param options Extra detail and cause.
   */
  constructor(sw: number | undefined, command: string, options: ApduErrorOptions = {}) {
    const status = sw === undefined ? "" : ` ${formatStatusWord(sw)} ${statusWordMeaning(sw)}`;
    const detail = options.detail === undefined ? "" : `${status ? "," : ""} ${options.detail}`;
    super(`${command}:${status}${detail}`, options);
    this.name = "ApduError";
    this.sw = sw;
    this.command = command;
  }
}
