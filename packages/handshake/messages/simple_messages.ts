/**
 * The small fixed-shape handshake messages: HelloRequest and ServerHelloDone (empty),
 * ClientKeyExchange for RSA, CertificateVerify, Finished and NewSessionTicket.
 *
 * @module
 */

import { AlertDescription, Reader, TlsAlertError, Writer } from "@anchortls/record";
import { VERIFY_DATA_LENGTH } from "../key_schedule.ts";

/**
 * Checks that a message which has no body (HelloRequest, ServerHelloDone) has none.
 *
 * @param body The body bytes.
 * @param what Names the message in the error.
 * @throws {TlsAlertError} `decode_error` when the body is not empty.
 */
export function decodeEmptyMessage(body: Uint8Array, what: string): void {
  new Reader(body).expectEnd(what);
}

/**
 * Encodes an RSA ClientKeyExchange body: the encrypted premaster as a u16 vector.
 *
 * @param encryptedPremaster RSAES-PKCS1-v1_5 ciphertext.
 * @returns The body bytes.
 */
export function encodeClientKeyExchange(encryptedPremaster: Uint8Array): Uint8Array {
  return new Writer(encryptedPremaster.length + 2).vector16((v) => v.bytes(encryptedPremaster))
    .finish();
}

/**
 * Decodes an RSA ClientKeyExchange body.
 *
 * @param body The body bytes.
 * @returns The encrypted premaster.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeClientKeyExchange(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const encrypted = r.vector16(1);
  r.expectEnd("ClientKeyExchange");
  return encrypted;
}

/** A CertificateVerify (RFC 5246 §7.4.8). */
export interface CertificateVerify {
  /** The signature scheme. */
  readonly scheme: number;
  /** The signature. */
  readonly signature: Uint8Array;
}

/**
 * Encodes a CertificateVerify body.
 *
 * @example
 * ```ts
 * import { encodeCertificateVerify } from "@anchortls/handshake";
 * encodeCertificateVerify({ scheme: 0x0401, signature: new Uint8Array(2) }).length; // 6
 * ```
 *
 * @param verify The message.
 * @returns The body bytes.
 */
export function encodeCertificateVerify(verify: CertificateVerify): Uint8Array {
  return new Writer(verify.signature.length + 4).u16(verify.scheme)
    .vector16((v) => v.bytes(verify.signature)).finish();
}

/**
 * Decodes a CertificateVerify body.
 *
 * @param body The body bytes.
 * @returns The message.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeCertificateVerify(body: Uint8Array): CertificateVerify {
  const r = new Reader(body);
  const scheme = r.u16();
  const signature = r.vector16(1);
  r.expectEnd("CertificateVerify");
  return { scheme, signature };
}

/**
 * Decodes a Finished body: exactly 12 bytes of verify_data.
 *
 * @param body The body bytes.
 * @returns The verify_data.
 * @throws {TlsAlertError} `decode_error` when the length is not 12.
 */
export function decodeFinished(body: Uint8Array): Uint8Array {
  if (body.length !== VERIFY_DATA_LENGTH) {
    throw new TlsAlertError(
      AlertDescription.decode_error,
      `Finished: ${body.length} bytes, expected ${VERIFY_DATA_LENGTH}`,
    );
  }
  return body;
}

/** A NewSessionTicket (RFC 5077 §3.3). */
export interface NewSessionTicket {
  /** Lifetime hint in seconds; 0 means unspecified. */
  readonly lifetimeHint: number;
  /** The opaque ticket. */
  readonly ticket: Uint8Array;
}

/**
 * Encodes a NewSessionTicket body.
 *
 * @param message The message.
 * @returns The body bytes.
 */
export function encodeNewSessionTicket(message: NewSessionTicket): Uint8Array {
  return new Writer(message.ticket.length + 6)
    .u16(Math.floor(message.lifetimeHint / 0x10000)).u16(message.lifetimeHint & 0xffff)
    .vector16((v) => v.bytes(message.ticket)).finish();
}

/**
 * Decodes a NewSessionTicket body.
 *
 * @param body The body bytes.
 * @returns The message.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeNewSessionTicket(body: Uint8Array): NewSessionTicket {
  const r = new Reader(body);
  const lifetimeHint = r.u16() * 0x10000 + r.u16();
  const ticket = r.vector16();
  r.expectEnd("NewSessionTicket");
  return { lifetimeHint, ticket };
}
