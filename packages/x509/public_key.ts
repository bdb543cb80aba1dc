/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): RSA keys (RFC 8017 A.1.1) and EC keys on P-256
 * and P-384 (RFC 5480).
 *
 * @module
 */

import { decodeBitString, DerError, DerReader, TagClass } from "./der.ts";
import { bytesToBigInt } from "./rsa.ts";
import { Oid } from "./oid.ts";

/** A subject public key we can use, or one we only carry along. */
export type PublicKeyInfo =
  | {
    readonly kind: "rsa";
    readonly modulus: bigint;
    readonly exponent: bigint;
    readonly bits: number;
    readonly spki: Uint8Array;
  }
  | {
    readonly kind: "ec";
    readonly curve: "P-256" | "P-384";
    readonly point: Uint8Array;
    readonly spki: Uint8Array;
  }
  | { readonly kind: "unsupported"; readonly algorithm: string; readonly spki: Uint8Array };

const curves: ReadonlyMap<string, { curve: "P-256" | "P-384"; size: number }> = new Map([
  [Oid.prime256v1, { curve: "P-256", size: 32 }],
  [Oid.secp384r1, { curve: "P-384", size: 48 }],
]);

/** Bit length of a minimal non-negative INTEGER encoding. */
function bitLength(bytes: Uint8Array): number {
  const skip = bytes[0] === 0 ? 1 : 0;
  const top = bytes[skip] ?? 0;
  return (bytes.length - skip - 1) * 8 + (32 - Math.clz32(top));
}

/**
 * Reads a SubjectPublicKeyInfo.
 *
 * @param reader Positioned at the SubjectPublicKeyInfo SEQUENCE.
 * @returns The key.
 */
export function readPublicKeyInfo(reader: DerReader): PublicKeyInfo {
  const el = reader.expect(TagClass.universal, true, 16, "SubjectPublicKeyInfo");
  const seq = reader.enter(el);
  const spki = el.raw;
  const alg = seq.readSequence();
  const algorithm = alg.readOid();
  const keyAt = seq.offset;
  if (algorithm === Oid.rsaEncryption) {
    alg.readNull();
    alg.expectEnd();
    const keyEl = seq.expect(TagClass.universal, false, 3, "BIT STRING");
    seq.expectEnd();
    const key = decodeBitString(keyEl);
    if (key.unusedBits) throw new DerError("RSA key BIT STRING has unused bits", keyAt);
    const outer = new DerReader(key.bytes, keyEl.contentsOffset + 1, 3);
    const rsa = outer.readSequence();
    outer.expectEnd();
    const modAt = rsa.offset;
    const modulusBytes = rsa.readIntegerBytes();
    if (modulusBytes[0]! & 0x80) throw new DerError("negative RSA modulus", modAt);
    const modulus = bytesToBigInt(modulusBytes);
    const expAt = rsa.offset;
    const exponent = rsa.readUnsignedBigInt();
    rsa.expectEnd();
    if (modulus === 0n || (modulus & 1n) === 0n) throw new DerError("bad RSA modulus", modAt);
    if (exponent < 3n || (exponent & 1n) === 0n || exponent >= modulus) {
      throw new DerError("bad RSA exponent", expAt);
    }
    return { kind: "rsa", modulus, exponent, bits: bitLength(modulusBytes), spki };
  }
  if (algorithm === Oid.ecPublicKey && alg.nextIs(TagClass.universal, 6)) {
    const curveOid = alg.readOid();
    alg.expectEnd();
    const key = seq.readBitString();
    seq.expectEnd();
    const known = curves.get(curveOid);
    if (!known) return { kind: "unsupported", algorithm: `${algorithm}/${curveOid}`, spki };
    if (key.unusedBits || key.bytes.length !== 1 + 2 * known.size || key.bytes[0] !== 0x04) {
      throw new DerError(`${known.curve} point must be uncompressed`, keyAt);
    }
    return { kind: "ec", curve: known.curve, point: key.bytes, spki };
  }
  seq.readBitString();
  seq.expectEnd();
  return { kind: "unsupported", algorithm, spki };
}
