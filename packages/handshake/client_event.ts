/**
 * What the TLS and DTLS connection cores tell their drivers, in one vocabulary.
 *
 * @module
 */

import type { HandshakeInfo } from "./handshake_types.ts";

/** Something the driver must pass on, from a core's `pollEvent()`. */
export type ClientEvent =
  /** The handshake completed; application data may flow. */
  | { readonly kind: "connected"; readonly info: HandshakeInfo }
  /** Application data, in order; over DTLS, one record's content: one message. */
  | { readonly kind: "data"; readonly data: Uint8Array }
  /** The peer sent close_notify. */
  | { readonly kind: "closed" }
  /**
   * The connection failed: a fatal alert either way, the handshake deadline, a truncated
   * stream. The alert it calls for, if any, is already queued in `pollTransmit()`.
   */
  | { readonly kind: "failed"; readonly error: unknown };
