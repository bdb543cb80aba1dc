/**
 * TLS alert codes (RFC 5246 §7.2, RFC 5746, RFC 7366, RFC 8446 §6) and the one error type that
 * carries them across the whole stack.
 *
 * @module
 */

/** Alert levels (RFC 5246 §7.2). */
export const AlertLevel = {
  warning: 1,
  fatal: 2,
} as const;

/** An alert level as it appears on the wire. */
export type AlertLevel = (typeof AlertLevel)[keyof typeof AlertLevel];

/** Alert descriptions used by TLS 1.2 and DTLS 1.2. */
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  user_canceled: 90,
  no_renegotiation: 100,
  unsupported_extension: 110,
  /** RFC 4279 §2: the server knows no PSK by the identity the client gave. */
  unknown_psk_identity: 115,
  no_application_protocol: 120,
} as const;

/** An alert description code; unknown codes from a peer are kept as plain numbers. */
export type AlertDescription = number;

const alertNames: ReadonlyMap<number, string> = new Map(
  Object.entries(AlertDescription).map(([name, code]) => [code, name]),
);

/**
 * Names an alert description code, or prints it as a number when it is not one we know.
 *
 * @example Naming a code
 * ```ts
 * import { alertName } from "@anchortls/record";
 * alertName(20); // "bad_record_mac"
 * ```
 *
 * @param description The alert description code.
 * @returns Its RFC name, or `alert(N)`.
 */
export function alertName(description: number): string {
  return alertNames.get(description) ?? `alert(${description})`;
}

/** Options for {@linkcode TlsAlertError}. */
export interface TlsAlertErrorOptions extends ErrorOptions {
  /** The alert level. @default {AlertLevel.fatal} */
  level?: AlertLevel;
  /** True when the peer sent the alert, false when we raise it. @default {false} */
  fromPeer?: boolean;
}

/**
 * A TLS alert, raised locally (and then sent to the peer) or received from the peer.
 *
 * The message names what went wrong; it never contains key material.
 *
 * @example Raising a decode error
 * ```ts
 * import { AlertDescription, TlsAlertError } from "@anchortls/record";
 * const err = new TlsAlertError(AlertDescription.decode_error, "record length field out of range");
 * err.description; // 50
 * ```
 */
export class TlsAlertError extends Error {
  /** The alert description code (RFC 5246 §7.2). */
  readonly description: AlertDescription;
  /** The alert level. */
  readonly level: AlertLevel;
  /** True when the peer sent this alert. */
  readonly fromPeer: boolean;

  /**
   * Creates an alert error.
   *
   * @param description The alert description code.
   * @param message What was wrong, without secrets.
   * @param options Level, origin and cause.
   */
  constructor(description: AlertDescription, message?: string, options: TlsAlertErrorOptions = {}) {
    const name = alertName(description);
    const origin = options.fromPeer ? "peer sent" : "local";
    super(`${origin} ${name}${message ? `: ${message}` : ""}`, options);
    this.name = "TlsAlertError";
    this.description = description;
    this.level = options.level ?? AlertLevel.fatal;
    this.fromPeer = options.fromPeer ?? false;
  }
}
