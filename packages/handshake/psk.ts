/**
 * Pre-shared-key key exchange (RFC 4279 §2, RFC 5489 §2): the messages and the premaster.
 * The server proves it knows the key only by its Finished; there is no certificate.
 *
 * @module
 */

import {
  AlertDescription,
  type CipherSuite,
  PskCipherSuites,
  Reader,
  TlsAlertError,
  Writer,
} from "@anchortls/record";
import { sha256 } from "@noble/hashes/sha2.js";

/** A pre-shared key and the identity the server knows it by. */
export interface PskCredentials {
  /** The PSK identity (RFC 4279 §5.1: UTF-8 text for a string), at most 128 bytes sent. */
  readonly identity: string | Uint8Array;
  /** The key, 1..64 bytes here (RFC 4279 §5.3 asks up to 64 octets be supported). */
  readonly key: Uint8Array;
}

/**
 * The identity's bytes, with the lengths checked.
 *
 * @param credentials The PSK.
 * @returns The identity as sent.
 * @throws {TypeError} For an identity over 128 bytes or a key not of 1..64 bytes.
 */
export function pskIdentityBytes(credentials: PskCredentials): Uint8Array {
  const identity = typeof credentials.identity === "string"
    ? new TextEncoder().encode(credentials.identity)
    : credentials.identity;
  // RFC 4279 §5.3: identities of up to 128 octets must be supported; more may not be.
  if (identity.length > 128) throw new TypeError("psk identity over 128 bytes");
  if (credentials.key.length === 0 || credentials.key.length > 64) {
    throw new TypeError("psk key must be 1..64 bytes");
  }
  return identity;
}

/**
 * The PSK suites offered by default when a PSK is configured, forward-secret first, then
 * CoAP's mandatory CCM_8 (RFC 7925 §4.2) and the other plain PSK suites.
 */
export const DEFAULT_PSK_SUITES: readonly CipherSuite[] = [
  PskCipherSuites.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
  PskCipherSuites.TLS_PSK_WITH_AES_128_CCM_8,
  PskCipherSuites.TLS_PSK_WITH_AES_128_GCM_SHA256,
  PskCipherSuites.TLS_PSK_WITH_AES_128_CBC_SHA256,
];

/** Whether a suite's key exchange is by pre-shared key. */
export function isPskSuite(suite: CipherSuite): boolean {
  return suite.keyExchange === "psk" || suite.keyExchange === "ecdhe_psk";
}

/** What a PSK ServerKeyExchange carries. */
export interface PskServerKeyExchange {
  /** The server's psk_identity_hint (may be empty). */
  readonly hint: Uint8Array;
  /** ECDHE_PSK: the server's unsigned key share (RFC 5489 §2). */
  readonly share?: { readonly group: number; readonly publicKey: Uint8Array };
}

/**
 * Decodes a PSK ServerKeyExchange: the hint, and for ECDHE_PSK the ServerECDHParams.
 *
 * @param body The body.
 * @param ecdhe Whether the suite is ECDHE_PSK.
 * @returns The hint and share.
 * @throws {TlsAlertError} `decode_error` for malformed bytes, `illegal_parameter` for a curve
 *   type other than named_curve.
 */
export function decodePskServerKeyExchange(
  body: Uint8Array,
  ecdhe: boolean,
): PskServerKeyExchange {
  const r = new Reader(body);
  const hint = r.vector16();
  if (!ecdhe) {
    r.expectEnd("ServerKeyExchange");
    return { hint };
  }
  const curveType = r.u8();
  if (curveType !== 3) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `ServerKeyExchange curve type ${curveType}; only named_curve (3) is allowed`,
    );
  }
  const group = r.u16();
  const publicKey = r.vector8(1);
  r.expectEnd("ServerKeyExchange");
  return { hint, share: { group, publicKey } };
}

/**
 * Encodes a PSK ClientKeyExchange: the identity, and for ECDHE_PSK our public key.
 *
 * @param identity The identity bytes.
 * @param publicKey ECDHE_PSK: our ephemeral public key.
 * @returns The body.
 */
export function encodePskClientKeyExchange(
  identity: Uint8Array,
  publicKey?: Uint8Array,
): Uint8Array {
  const w = new Writer(identity.length + 3 + (publicKey?.length ?? 0))
    .vector16((v) => v.bytes(identity));
  if (publicKey) w.vector8((v) => v.bytes(publicKey));
  return w.finish();
}

/**
 * The PSK premaster (RFC 4279 §2): other_secret (N zero bytes for plain PSK, the ECDH shared
 * secret for ECDHE_PSK, RFC 5489 §2) and the key, each with a 2-byte length.
 *
 * @param key The PSK.
 * @param otherSecret The ECDH secret, or undefined for plain PSK.
 * @returns The premaster bytes; the caller wipes them.
 */
export function pskPremasterBytes(key: Uint8Array, otherSecret?: Uint8Array): Uint8Array {
  const other = otherSecret ?? new Uint8Array(key.length);
  const out = new Uint8Array(4 + other.length + key.length);
  out[0] = other.length >> 8;
  out[1] = other.length & 0xff;
  out.set(other, 2);
  out[2 + other.length] = key.length >> 8;
  out[3 + other.length] = key.length & 0xff;
  out.set(key, 4 + other.length);
  return out;
}

/**
 * A digest of a PSK and its identity, binding a session to the key it was made with (a
 * rotated key must not resume the old key's sessions).
 *
 * @param credentials The PSK.
 * @returns Hex SHA-256 over a label, the identity and the key.
 */
export function pskDigest(credentials: PskCredentials): string {
  const identity = pskIdentityBytes(credentials);
  const label = new TextEncoder().encode("anchortls psk binding");
  const input = new Uint8Array(label.length + 2 + identity.length + credentials.key.length);
  input.set(label);
  input[label.length] = identity.length >> 8;
  input[label.length + 1] = identity.length & 0xff;
  input.set(identity, label.length + 2);
  input.set(credentials.key, label.length + 2 + identity.length);
  const digest = sha256(input).toHex();
  input.fill(0);
  return digest;
}
