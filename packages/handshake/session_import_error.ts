/**
 * The error of `importSession`.
 *
 * @module
 */

/** Why an exported session could not be taken back. */
export type SessionImportErrorReason =
  /** Not an exported session, or a damaged one. */
  | "malformed"
  /** A format version this library does not read. */
  | "version"
  /** Made by another kind of provider (a chip session into software, or the reverse). */
  | "provider"
  /** The chip no longer holds the session's master secret (reset, erased, or replaced). */
  | "lost";

/**
 * An exported session that cannot be resumed from. Resuming is then impossible, not unsafe:
 * the caller does a full handshake.
 *
 * @example
 * ```ts
 * import { SessionImportError } from "@anchortls/handshake";
 * const error = new SessionImportError("lost", "the chip was reset");
 * error.reason; // "lost"
 * ```
 */
export class SessionImportError extends Error {
  /** What was wrong. */
  readonly reason: SessionImportErrorReason;

  /**
   * Makes the error.
   *
   * @param reason What was wrong.
   * @param message Details (never secret bytes).
   * @param options The cause.
   */
  constructor(reason: SessionImportErrorReason, message: string, options?: ErrorOptions) {
    super(`session import: ${reason}: ${message}`, options);
    this.name = "SessionImportError";
    this.reason = reason;
  }
}
