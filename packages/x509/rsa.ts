/**
 * RSA integer primitives (RFC 8017 §4–5) with BigInt: big-endian bytes to and from integers,
 * modular exponentiation and the public-key operation. Signature checks here and the key
 * exchange's encryption in `@anchortls/handshake` both build on them. Only public-key work
 * belongs here: BigInt arithmetic is not constant time.
 *
 * @module
 */

/** The numbers of an RSA public key. */
export interface RsaPublicNumbers {
  /** The modulus n. */
  readonly modulus: bigint;
  /** The public exponent e. */
  readonly exponent: bigint;
}

/**
 * Converts big-endian unsigned bytes to a bigint (OS2IP, RFC 8017 §4.2).
 *
 * @example
 * ```ts
 * import { bytesToBigInt } from "@anchortls/x509";
 * bytesToBigInt(new Uint8Array([0x01, 0x00])); // 256n
 * ```
 *
 * @param bytes The bytes.
 * @returns The value.
 */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + bytes.toHex());
}

/**
 * Converts a non-negative bigint to exactly `length` big-endian bytes (I2OSP, RFC 8017 §4.1),
 * or to as few as it needs.
 *
 * @example
 * ```ts
 * import { bigIntToBytes } from "@anchortls/x509";
 * bigIntToBytes(256n, 3); // Uint8Array [0x00, 0x01, 0x00]
 * bigIntToBytes(256n); // Uint8Array [0x01, 0x00]
 * ```
 *
 * @param value The value, below 256^length.
 * @param length The output length in bytes. @default {bigIntByteLength(value)}
 * @returns The bytes.
 * @throws {RangeError} When the value is negative or does not fit.
 */
export function bigIntToBytes(value: bigint, length: number = bigIntByteLength(value)): Uint8Array {
  const hex = value.toString(16);
  if (value < 0n || hex.length > length * 2) {
    throw new RangeError(`integer does not fit in ${length} bytes`);
  }
  return Uint8Array.fromHex(hex.padStart(length * 2, "0"));
}

/**
 * The number of bytes a non-negative bigint needs, e.g. k for an RSA modulus.
 *
 * @example
 * ```ts
 * import { bigIntByteLength } from "@anchortls/x509";
 * bigIntByteLength(0x10000n); // 3
 * ```
 *
 * @param value The value.
 * @returns Its length in bytes.
 */
export function bigIntByteLength(value: bigint): number {
  return Math.ceil(value.toString(16).length / 2);
}

/**
 * Computes `base^exponent mod modulus`.
 *
 * @example
 * ```ts
 * import { modPow } from "@anchortls/x509";
 * modPow(4n, 13n, 497n); // 445n
 * ```
 *
 * @param base The base.
 * @param exponent A non-negative exponent.
 * @param modulus The modulus.
 * @returns The power.
 */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    e >>= 1n;
    if (e > 0n) b = (b * b) % modulus;
  }
  return result;
}

/**
 * The RSA public-key operation RSAEP / RSAVP1 (RFC 8017 §5.1.1, §5.2.2): `input^e mod n` as
 * k bytes, k being the modulus length. Callers check the input length their scheme requires.
 *
 * @example Raw RSA with the textbook key n = 3233, e = 17
 * ```ts
 * import { rsaPublicOperation } from "@anchortls/x509";
 * rsaPublicOperation({ modulus: 3233n, exponent: 17n }, new Uint8Array([0x00, 0x41])); // [0x0a, 0xe6]
 * ```
 *
 * @param key The public key.
 * @param input The message or signature representative, big-endian.
 * @returns The result, exactly k bytes, or undefined when the input is not below the modulus.
 */
export function rsaPublicOperation(
  key: RsaPublicNumbers,
  input: Uint8Array,
): Uint8Array | undefined {
  const value = bytesToBigInt(input);
  if (value >= key.modulus) return undefined;
  return bigIntToBytes(modPow(value, key.exponent, key.modulus), bigIntByteLength(key.modulus));
}
