/**
 * The two-byte alert message (RFC 5246 §7.2).
 *
 * @module
 */

import { type AlertLevel, Reader } from "@anchortls/record";

/** An alert as carried in an alert record. */
export interface AlertMessage {
  /** warning (1) or fatal (2); other values are kept as read. */
  readonly level: AlertLevel | number;
  /** The description code. */
  readonly description: number;
}

/**
 * Encodes an alert.
 *
 * @example
 * ```ts
 * import { encodeAlert } from "@anchortls/handshake";
 * encodeAlert({ level: 2, description: 40 }); // Uint8Array [2, 40]
 * ```
 *
 * @param alert The alert.
 * @returns Two bytes.
 */
export function encodeAlert(alert: AlertMessage): Uint8Array {
  return Uint8Array.of(alert.level, alert.description);
}

/**
 * Decodes an alert record's content: exactly two bytes (we never pack several alerts in one
 * record, and RFC 5246 §6.2.1 lets us refuse fragmented alerts).
 *
 * @param bytes The record content.
 * @returns The alert.
 * @throws {TlsAlertError} `decode_error` when the length is not 2.
 */
export function decodeAlert(bytes: Uint8Array): AlertMessage {
  const r = new Reader(bytes);
  const level = r.u8();
  const description = r.u8();
  r.expectEnd("alert");
  return { level, description };
}
