/**
 * Record content types and protocol versions (RFC 5246 §6.2.1, RFC 6347 §4.1).
 *
 * @module
 */

/** The record content types TLS 1.2 and DTLS 1.2 carry. */
export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
} as const;

/** A record content type as it appears on the wire. */
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/**
 * Tells whether a byte is one of the four content types we accept.
 *
 * @param type The byte from a record header.
 * @returns True for change_cipher_spec, alert, handshake and application_data.
 */
export function isContentType(type: number): type is ContentType {
  return type >= 20 && type <= 23;
}

/** Protocol version numbers on the wire. */
export const ProtocolVersion = {
  /** TLS 1.2 (3,3). */
  tls12: 0x0303,
  /** DTLS 1.2 (254,253): the one's complement of 1.2. */
  dtls12: 0xfefd,
  /** DTLS 1.0 (254,255): allowed in a DTLS server's HelloVerifyRequest record. */
  dtls10: 0xfeff,
} as const;
