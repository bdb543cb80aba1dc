/**
 * ServerKeyExchange for ECDHE (RFC 8422 §5.4): the server's ephemeral public key on a named
 * curve, signed together with both hello randoms. ClientKeyExchange for ECDHE (§5.7) carries
 * ours back.
 *
 * @module
 */

import { AlertDescription, Reader, TlsAlertError, Writer } from "@anchortls/record";

/** ECCurveType.named_curve (RFC 8422 §5.4); explicit curves are deprecated and refused. */
const NAMED_CURVE = 3;

/** An ECDHE ServerKeyExchange. */
export interface EcdheServerKeyExchange {
  /** The named group of the server's key share. */
  readonly group: number;
  /** The server's ephemeral public key, as carried (uncompressed point, or 32 bytes of X25519). */
  readonly publicKey: Uint8Array;
  /** The signature scheme (RFC 5246 §7.4.1.4.1 SignatureAndHashAlgorithm). */
  readonly scheme: number;
  /** The signature over client_random ‖ server_random ‖ ServerECDHParams. */
  readonly signature: Uint8Array;
}

/**
 * The ServerECDHParams bytes (curve_type, named_curve, public key): what the signature covers
 * after the two randoms, and the first part of the message.
 *
 * @param group The named group.
 * @param publicKey The public key.
 * @returns The encoded parameters.
 */
export function encodeEcdhParams(group: number, publicKey: Uint8Array): Uint8Array {
  return new Writer(4 + publicKey.length).u8(NAMED_CURVE).u16(group)
    .vector8((v) => v.bytes(publicKey)).finish();
}

/**
 * Encodes an ECDHE ServerKeyExchange body.
 *
 * @example
 * ```ts
 * import { encodeServerKeyExchange } from "@anchortls/handshake";
 * encodeServerKeyExchange({
 *   group: 0x001d,
 *   publicKey: new Uint8Array(32),
 *   scheme: 0x0403,
 *   signature: new Uint8Array(70),
 * }).length; // 4 + 32 + 4 + 70
 * ```
 *
 * @param message The message.
 * @returns The body bytes.
 */
export function encodeServerKeyExchange(message: EcdheServerKeyExchange): Uint8Array {
  const params = encodeEcdhParams(message.group, message.publicKey);
  return new Writer(params.length + 4 + message.signature.length).bytes(params)
    .u16(message.scheme).vector16((v) => v.bytes(message.signature)).finish();
}

/**
 * Decodes an ECDHE ServerKeyExchange body; the key and the signature are checked by the caller.
 *
 * @param body The body bytes.
 * @returns The message, and the signed ServerECDHParams bytes.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes, `illegal_parameter`
 *   for a curve type other than named_curve.
 */
export function decodeServerKeyExchange(
  body: Uint8Array,
): EcdheServerKeyExchange & { readonly params: Uint8Array } {
  const r = new Reader(body);
  const curveType = r.u8();
  if (curveType !== NAMED_CURVE) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `ServerKeyExchange curve type ${curveType}; only named_curve (3) is allowed`,
    );
  }
  const group = r.u16();
  const publicKey = r.vector8(1);
  const params = body.subarray(0, r.offset);
  const scheme = r.u16();
  const signature = r.vector16(1);
  r.expectEnd("ServerKeyExchange");
  return { group, publicKey, params, scheme, signature };
}

/**
 * Encodes an ECDHE ClientKeyExchange body: our public key as a u8 vector (RFC 8422 §5.7).
 *
 * @param publicKey Our ephemeral public key.
 * @returns The body bytes.
 */
export function encodeEcdhClientKeyExchange(publicKey: Uint8Array): Uint8Array {
  return new Writer(publicKey.length + 1).vector8((v) => v.bytes(publicKey)).finish();
}

/**
 * Decodes an ECDHE ClientKeyExchange body.
 *
 * @param body The body bytes.
 * @returns The client's public key.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeEcdhClientKeyExchange(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const publicKey = r.vector8(1);
  r.expectEnd("ClientKeyExchange");
  return publicKey;
}
