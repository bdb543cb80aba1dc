/**
 * The one error type of the serial link: every failure to move a command and its answer ends in
 * a {@linkcode LinkError} whose `kind` says what went wrong.
 *
 * @module
 */

/**
 * What went wrong on the link.
 *
 * - `timeout`: nothing (or nothing usable) arrived before the command's deadline.
 * - `nack`: the chip (or the I2C adapter) refused the command.
 * - `framing`: the bytes that arrived do not form the expected message: garbage, a torn or
 *   over-long frame, an unexpected tag, trailing bytes after a response.
 * - `closed`: the link or the transport was closed.
 * - `size`: the command is too large to send.
 */
export type LinkErrorKind = "timeout" | "nack" | "framing" | "closed" | "size";

/** Options for {@linkcode LinkError}. */
export interface LinkErrorOptions extends ErrorOptions {
  /** The command (APDU or link message) the error concerns, if any. */
  command?: Uint8Array;
  /**
   * Whether the transport reset the chip successfully after the failure, so that the link is
   * known to be in sync again. @default {false}
   */
  resynchronised?: boolean;
}

/**
 * A failure on the link to the chip.
 *
 * @example Telling a timeout from a refusal
 * ```ts
 * import { LinkError } from "@anchortls/transport-serial";
 * const err = new LinkError("nack", "chip sent NACK", { command: new Uint8Array([0, 0xa4, 4, 0]) });
 * err.kind; // "nack"
 * ```
 */
export class LinkError extends Error {
  /** What went wrong. */
  readonly kind: LinkErrorKind;
  /** The details, without the kind and the command summary. */
  readonly reason: string;
  /** The command the error concerns (a copy), if any. */
  readonly command: Uint8Array | undefined;
  /** Whether a Reset brought the link back in sync after the failure. */
  readonly resynchronised: boolean;

  /**
   * Creates a link error.
   *
   * @param kind What went wrong.
   * @param message Details; APDU bytes are summarised by their header only.
   * @param options The command concerned, resync status and cause.
   */
  constructor(kind: LinkErrorKind, message: string, options: LinkErrorOptions = {}) {
    const header = options.command ? ` (command ${describeCommand(options.command)})` : "";
    super(`${kind}: ${message}${header}`, options);
    this.name = "LinkError";
    this.kind = kind;
    this.reason = message;
    this.command = options.command?.slice();
    this.resynchronised = options.resynchronised ?? false;
  }
}

/**
 * Names a command by its first four bytes only: APDU data may hold PINs or key material, which
 * must never reach an error message.
 */
function describeCommand(command: Uint8Array): string {
  return `${command.subarray(0, 4).toHex()}…, ${command.length} bytes`;
}
