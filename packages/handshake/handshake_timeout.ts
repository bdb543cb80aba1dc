/**
 * The one error for a handshake that ran out of time, TLS or DTLS: a local timeout, so no
 * alert goes to the peer.
 *
 * @module
 */

/**
 * The handshake did not finish before its deadline: the peer is unreachable, silent, or
 * trickling bytes too slowly. No alert is sent for it.
 *
 * @example Telling a timeout apart from an alert
 * ```ts
 * import { HandshakeTimeoutError } from "@anchortls/handshake";
 * const err = new HandshakeTimeoutError(30_000);
 * err.elapsedMs; // 30000
 * ```
 */
export class HandshakeTimeoutError extends Error {
  /** Milliseconds since the handshake started. */
  readonly elapsedMs: number;
  /** What the client was waiting for from the server when time ran out, if known. */
  readonly waitingFor: string | undefined;

  /**
   * Creates the error.
   *
   * @param elapsedMs Milliseconds since the handshake started.
   * @param message Details. @default {"handshake timed out after N ms"}
   * @param options The cause, and the stage it was waiting in.
   */
  constructor(elapsedMs: number, message?: string, options?: HandshakeTimeoutErrorOptions) {
    const waitingFor = options?.waitingFor;
    super(
      (message ?? `handshake timed out after ${elapsedMs} ms`) +
        (waitingFor
          ? ` while waiting for the server's ${waitingFor}${
            stageHint(waitingFor, options?.pskOffered ?? false)
          }`
          : ""),
      options,
    );
    this.name = "HandshakeTimeoutError";
    this.elapsedMs = elapsedMs;
    this.waitingFor = waitingFor;
  }
}

/** Options for {@linkcode HandshakeTimeoutError}. */
export interface HandshakeTimeoutErrorOptions extends ErrorOptions {
  /** What the client was waiting for (a state's `expecting`, e.g. "ServerHello"). */
  readonly waitingFor?: string | undefined;
  /** Whether the ClientHello offered PSK suites. @default {false} */
  readonly pskOffered?: boolean | undefined;
}

/** The first answer never came: the likely causes, which differ from a stall later on. */
function stageHint(waitingFor: string, pskOffered: boolean): string {
  if (!waitingFor.startsWith("ServerHello")) return "";
  return " (no answer to our ClientHello: is a (D)TLS server listening on that port?" +
    (pskOffered
      ? ")"
      : " A PSK-only server, as many CoAP servers are, ignores a ClientHello without PSK suites: give it a `psk`.)");
}
