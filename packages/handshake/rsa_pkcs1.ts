/**
 * RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1), the public-key half of the RSA key exchange.
 * Only the public operation is here, so BigInt arithmetic leaks nothing secret about the key;
 * the padding's random bytes come from the caller's generator.
 *
 * @module
 */

/** The RSA public key numbers. */
export interface RsaPublicNumbers {
  /** The modulus n. */
  readonly modulus: bigint;
  /** The public exponent e. */
  readonly exponent: bigint;
}

/**
 * Encrypts `message` as `EM = 0x00 ‖ 0x02 ‖ PS ‖ 0x00 ‖ M`, `C = EM^e mod n`, where PS is at
 * least 8 random nonzero bytes.
 *
 * @param key The RSA public key.
 * @param message The message, at most k − 11 bytes for a k-byte modulus.
 * @param random Source of random bytes.
 * @returns The ciphertext, exactly k bytes.
 */
export function rsaesPkcs1v15Encrypt(
  key: RsaPublicNumbers,
  message: Uint8Array,
  random: (length: number) => Uint8Array,
): Uint8Array {
  const k = byteLength(key.modulus);
  if (k < 64 || key.exponent < 3n || key.exponent % 2n === 0n) {
    throw new RangeError("RSA public key is too small or malformed");
  }
  if (message.length > k - 11) {
    throw new RangeError(`message of ${message.length} bytes is too long for a ${k}-byte modulus`);
  }
  const em = new Uint8Array(k);
  em[1] = 0x02;
  const psLength = k - message.length - 3;
  em.set(nonzeroRandom(psLength, random), 2);
  em.set(message, k - message.length);
  const m = toBigInt(em);
  em.fill(0);
  if (m >= key.modulus) throw new RangeError("RSA modulus is smaller than the encoded message");
  return fromBigInt(modPow(m, key.exponent, key.modulus), k);
}

function nonzeroRandom(length: number, random: (length: number) => Uint8Array): Uint8Array {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    for (const b of random(length - filled + 8)) {
      if (b !== 0 && filled < length) out[filled++] = b;
    }
  }
  return out;
}

function byteLength(n: bigint): number {
  return Math.ceil(n.toString(16).length / 2);
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + bytes.toHex());
}

function fromBigInt(n: bigint, length: number): Uint8Array {
  return Uint8Array.fromHex(n.toString(16).padStart(length * 2, "0"));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
