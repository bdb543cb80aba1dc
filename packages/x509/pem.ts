/**
 * PEM (RFC 7468) blocks: certificates, and any other label on request.
 *
 * @module
 */

/** Upper-case words: every label in RFC 7468, and nothing a regular expression would read. */
const labelSyntax = /^[A-Z0-9]+(?: [A-Z0-9]+)*$/;

function blockPattern(label: string): RegExp {
  if (!labelSyntax.test(label)) throw new RangeError(`unsupported PEM label "${label}"`);
  return new RegExp(
    `-----BEGIN ${label}-----\\r?\\n?([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`,
    "g",
  );
}

/**
 * Extracts the DER of every block with the given label, `CERTIFICATE` unless told; text
 * around the blocks and blocks with other labels (keys, CRLs) are ignored.
 *
 * @example Reading a bundle
 * ```ts
 * import { parsePem } from "@anchortls/x509";
 * const pem = await Deno.readTextFile(new URL("./testdata/chain.pem", import.meta.url));
 * parsePem(pem).length; // 2
 * ```
 *
 * @example Reading a PKCS#8 key
 * ```ts
 * import { parsePem } from "@anchortls/x509";
 * const pem = await Deno.readTextFile(new URL("./testdata/client.key", import.meta.url));
 * parsePem(pem, "PRIVATE KEY").length; // 1
 * ```
 *
 * @param text PEM text.
 * @param label The label between `BEGIN ` and the dashes: upper-case words, e.g. `PRIVATE KEY`.
 * @returns The DER bytes of each block, in order.
 * @throws {SyntaxError} When a block's base64 is invalid.
 * @throws {RangeError} When the label is not upper-case words.
 */
export function parsePem(text: string, label = "CERTIFICATE"): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(blockPattern(label))) {
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
