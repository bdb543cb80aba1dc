/**
 * PEM (RFC 7468) certificate blocks.
 *
 * @module
 */

const block = /-----BEGIN CERTIFICATE-----\r?\n?([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/**
 * Extracts the DER of every `CERTIFICATE` block; text around the blocks and other block
 * types (keys, CRLs) are ignored.
 *
 * @example Reading a bundle
 * ```ts
 * import { parsePem } from "@anchortls/x509";
 * const pem = await Deno.readTextFile(new URL("./testdata/chain.pem", import.meta.url));
 * parsePem(pem).length; // 2
 * ```
 *
 * @param text PEM text.
 * @returns The DER bytes of each certificate, in order.
 * @throws {SyntaxError} When a block's base64 is invalid.
 */
export function parsePem(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(block)) {
    const b64 = m[1]!.replace(/\s+/g, "");
    out.push(Uint8Array.fromBase64(b64));
  }
  return out;
}

/**
 * Encodes DER certificates as PEM.
 *
 * @example Round trip
 * ```ts
 * import { parsePem, toPem } from "@anchortls/x509";
 * const der = new Uint8Array([0x30, 0x00]);
 * parsePem(toPem([der]))[0]; // Uint8Array [0x30, 0x00]
 * ```
 *
 * @param ders DER certificates.
 * @returns PEM text with 64-character lines.
 */
export function toPem(ders: readonly Uint8Array[]): string {
  return ders.map((der) => {
    const lines = der.toBase64().match(/.{1,64}/g) ?? [];
    return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
  }).join("");
}
