/**
 * CertificateRequest (RFC 5246 §7.4.4).
 *
 * @module
 */

import { Reader, Writer } from "@anchortls/record";
import { readU16List } from "./u16_list.ts";

/** ClientCertificateType values (RFC 5246 §7.4.4, RFC 8422 §5.5). */
export const ClientCertificateType = {
  rsa_sign: 1,
  ecdsa_sign: 64,
} as const;

/** A CertificateRequest. */
export interface CertificateRequest {
  /** Certificate types the server accepts. */
  readonly certificateTypes: readonly number[];
  /** Signature schemes the server accepts in CertificateVerify. */
  readonly signatureSchemes: readonly number[];
  /** DER distinguished names of acceptable CAs; may be empty. */
  readonly certificateAuthorities: readonly Uint8Array[];
}

/**
 * Encodes a CertificateRequest body.
 *
 * @param request The message.
 * @returns The body bytes.
 */
export function encodeCertificateRequest(request: CertificateRequest): Uint8Array {
  const w = new Writer(256);
  w.vector8((v) => {
    for (const t of request.certificateTypes) v.u8(t);
  });
  w.vector16((v) => {
    for (const s of request.signatureSchemes) v.u16(s);
  });
  w.vector16((v) => {
    for (const dn of request.certificateAuthorities) v.vector16((d) => d.bytes(dn));
  });
  return w.finish();
}

/**
 * Decodes a CertificateRequest body.
 *
 * @example
 * ```ts
 * import { decodeCertificateRequest, encodeCertificateRequest } from "@anchortls/handshake";
 * const body = encodeCertificateRequest({
 *   certificateTypes: [1],
 *   signatureSchemes: [0x0401],
 *   certificateAuthorities: [],
 * });
 * decodeCertificateRequest(body).signatureSchemes; // [1025]
 * ```
 *
 * @param body The body bytes.
 * @returns The message.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new Reader(body);
  const certificateTypes = [...r.vector8(1)];
  const signatureSchemes = readU16List(r.vector16(2, 0xfffe), "supported_signature_algorithms");
  const cas = r.sub(r.u16());
  r.expectEnd("CertificateRequest");
  const certificateAuthorities: Uint8Array[] = [];
  while (cas.remaining > 0) certificateAuthorities.push(cas.vector16(1));
  return { certificateTypes, signatureSchemes, certificateAuthorities };
}
