/**
 * The elliptic-curve groups of ECDHE key agreement (RFC 8422 §5.1.1, RFC 8446 §4.2.7 code
 * points) and the check of a peer's public key before any secret is computed with it.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { p256, p384 } from "@noble/curves/nist.js";

/** Named group code points we offer in supported_groups. */
export const NamedGroup = {
  secp256r1: 0x0017,
  secp384r1: 0x0018,
  x25519: 0x001d,
} as const;

/** A named group code point; unknown ones from a peer stay plain numbers. */
export type NamedGroup = number;

/** The groups offered by default, preferred first (as OpenSSL, rustls and Go order them). */
export const DEFAULT_GROUPS: readonly number[] = [
  NamedGroup.x25519,
  NamedGroup.secp256r1,
  NamedGroup.secp384r1,
];

const groupNames: ReadonlyMap<number, string> = new Map(
  Object.entries(NamedGroup).map(([name, code]) => [code, name]),
);

/**
 * Names a group code point.
 *
 * @example
 * ```ts
 * import { namedGroupName } from "@anchortls/handshake";
 * namedGroupName(0x001d); // "x25519"
 * ```
 *
 * @param group The code point.
 * @returns Its name, or `0x....` when unknown.
 */
export function namedGroupName(group: number): string {
  return groupNames.get(group) ?? `0x${group.toString(16).padStart(4, "0")}`;
}

/** The public key length of each group, in the one form we offer (uncompressed, RFC 8422 §5.1.2). */
const publicKeyLengths: ReadonlyMap<number, number> = new Map([
  [NamedGroup.x25519, 32],
  [NamedGroup.secp256r1, 65],
  [NamedGroup.secp384r1, 97],
]);

/**
 * Checks a peer's ECDHE public key: its length, the uncompressed form (the only one in our
 * ec_point_formats), and for the NIST curves that the point is on the curve (an invalid-curve
 * point would leak our ephemeral scalar bit by bit). Any 32 bytes are an X25519 key (RFC
 * 7748 §5); its all-zero shared secret is refused where the secret is computed.
 *
 * @example
 * ```ts
 * import { checkPublicKey, NamedGroup } from "@anchortls/handshake";
 * checkPublicKey(NamedGroup.x25519, new Uint8Array(32).fill(9));
 * ```
 *
 * @param group The group the key is for.
 * @param publicKey The key as the message carries it.
 * @throws {TlsAlertError} `illegal_parameter` for a key of a group we do not speak, the wrong
 *   length or form, or a point not on the curve.
 */
export function checkPublicKey(group: number, publicKey: Uint8Array): void {
  const length = publicKeyLengths.get(group);
  const name = namedGroupName(group);
  if (length === undefined) {
    throw new TlsAlertError(AlertDescription.illegal_parameter, `group ${name} is not supported`);
  }
  if (publicKey.length !== length) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `${name} public key of ${publicKey.length} bytes, expected ${length}`,
    );
  }
  if (group === NamedGroup.x25519) return;
  if (publicKey[0] !== 0x04) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `${name} point not in the uncompressed form we offered (first byte 0x${
        publicKey[0]!.toString(16).padStart(2, "0")
      })`,
    );
  }
  try {
    (group === NamedGroup.secp256r1 ? p256 : p384).Point.fromBytes(publicKey).assertValidity();
  } catch {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `${name} point is not on the curve`,
    );
  }
}
