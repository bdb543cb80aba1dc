/**
 * The test servers' half of RSA key exchange: RSAES-PKCS1-v1_5 decryption with BigInt, so a
 * test server needs no RSA private-key operation of the code under test. Test code only: it is
 * neither constant-time nor checked beyond the padding's first two bytes.
 *
 * @module
 */

/**
 * Decrypts an RSAES-PKCS1-v1_5 ciphertext (a ClientKeyExchange's encrypted premaster).
 *
 * @example
 * ```ts ignore
 * const premaster = await rsaDecrypt(keyPem, encryptedPremaster);
 * ```
 *
 * @param keyPem The server's PKCS#8 private key, PEM.
 * @param ciphertext The ciphertext.
 * @returns The plaintext.
 * @throws {Error} When the padding is not PKCS#1 v1.5 type 2.
 */
export async function rsaDecrypt(keyPem: string, ciphertext: Uint8Array): Promise<Uint8Array> {
  const der = Uint8Array.fromBase64(keyPem.replace(/-----[^-]+-----|\s+/g, ""));
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "RSA-OAEP", hash: "SHA-256" },
    true,
    ["decrypt"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const big = (s: string) =>
    BigInt("0x" + Uint8Array.fromBase64(s, { alphabet: "base64url" }).toHex());
  const n = big(jwk.n!);
  const d = big(jwk.d!);
  let result = 1n;
  let b = BigInt("0x" + ciphertext.toHex()) % n;
  for (let e = d; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % n;
    b = (b * b) % n;
  }
  const k = Math.ceil(n.toString(16).length / 2);
  const em = Uint8Array.fromHex(result.toString(16).padStart(k * 2, "0"));
  if (em[0] !== 0 || em[1] !== 2) throw new Error("bad PKCS#1 v1.5 padding");
  const sep = em.indexOf(0, 2);
  return em.slice(sep + 1);
}
