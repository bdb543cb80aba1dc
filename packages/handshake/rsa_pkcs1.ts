/**
 * RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1), the public-key half of the RSA key exchange.
 * Only the public operation is here, so BigInt arithmetic leaks nothing secret about the key;
 * the padding's random bytes come from the caller's generator.
 *
 * @module
 */

import { bigIntByteLength, type RsaPublicNumbers, rsaPublicOperation } from "@anchortls/x509";

/**
 * Encrypts `message` as `EM = 0x00 ‖ 0x02 ‖ PS ‖ 0x00 ‖ M`, `C = EM^e mod n`, where PS is at
 * least 8 random nonzero bytes.
 *
 * @param key The RSA public key (an x509 `PublicKeyInfo` of kind `rsa` fits).
 * @param message The message, at most k − 11 bytes for a k-byte modulus.
 * @param random Source of random bytes; zero bytes are dropped and more are asked for.
 * @returns The ciphertext, exactly k bytes.
 * @throws {RangeError} When the key is below 512 bits or its exponent is even or below 3, or
 * the message is too long.
 */
export function rsaesPkcs1v15Encrypt(
  key: RsaPublicNumbers,
  message: Uint8Array,
  random: (length: number) => Uint8Array,
): Uint8Array {
  const k = bigIntByteLength(key.modulus);
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
  const ciphertext = rsaPublicOperation(key, em);
  em.fill(0);
  if (!ciphertext) throw new RangeError("RSA modulus is smaller than the encoded message");
  return ciphertext;
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
