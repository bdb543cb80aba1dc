/**
 * Distinguished names (RFC 5280 §4.1.2.4) and their RFC 4514 string form.
 *
 * @module
 */

import { decodeString, type DerElement, DerError, type DerReader } from "./der.ts";
import { attributeShortNames } from "./oid.ts";

/** One attribute of a relative distinguished name. */
export interface Attribute {
  /** Attribute type OID, e.g. `2.5.4.3` for commonName. */
  readonly type: string;
  /** The value as text, or undefined when it is not a string type. */
  readonly value: string | undefined;
  /** The whole DER-encoded value element. */
  readonly rawValue: Uint8Array;
}

/**
 * An X.501 Name: a sequence of relative distinguished names, most significant first.
 *
 * @example Printing a subject
 * ```ts
 * import { parseCertificate, parsePem } from "@anchortls/x509";
 * const pem = await Deno.readTextFile(new URL("./testdata/leaf.pem", import.meta.url));
 * const cert = parseCertificate(parsePem(pem)[0]!);
 * cert.subject.toString(); // "CN=localhost,O=anchortls test"
 * ```
 */
export class DistinguishedName {
  /** The DER encoding of the whole Name. */
  readonly der: Uint8Array;
  /** RDNs in encoded order (most significant first); each holds one or more attributes. */
  readonly rdns: readonly (readonly Attribute[])[];
  #text: string | undefined;
  #key: string | undefined;

  /**
   * Wraps an already decoded name.
   *
   * @param der The DER encoding of the Name.
   * @param rdns The decoded RDNs.
   */
  constructor(der: Uint8Array, rdns: readonly (readonly Attribute[])[]) {
    this.der = der;
    this.rdns = rdns;
  }

  /**
   * Values of every attribute of a type, in encoded order.
   *
   * @param type An attribute type OID.
   * @returns The text values.
   */
  values(type: string): string[] {
    const out: string[] = [];
    for (const rdn of this.rdns) {
      for (const a of rdn) if (a.type === type && a.value !== undefined) out.push(a.value);
    }
    return out;
  }

  /** The common name(s), for display only; never used for host checks. */
  get commonName(): string | undefined {
    return this.values("2.5.4.3").at(-1);
  }

  /**
   * A comparison key: attribute types with case-folded, space-collapsed values (a subset of
   * RFC 5280 §7.1's matching rules).
   *
   * @returns The key.
   */
  matchKey(): string {
    this.#key ??= JSON.stringify(
      this.rdns.map((rdn) =>
        rdn.map((a) => [
          a.type,
          a.value === undefined
            ? a.rawValue.toHex()
            : a.value.trim().replace(/\s+/g, " ").toLowerCase(),
        ]).sort()
      ),
    );
    return this.#key;
  }

  /**
   * True when both names are the same name.
   *
   * @param other Another name.
   * @returns Whether they match.
   */
  equals(other: DistinguishedName): boolean {
    return bytesEqual(this.der, other.der) || this.matchKey() === other.matchKey();
  }

  /**
   * The RFC 4514 string: RDNs last-first, joined by `,`, multi-valued RDNs by `+`.
   *
   * @returns The string form, e.g. `CN=localhost,O=anchortls test`.
   */
  toString(): string {
    this.#text ??= [...this.rdns].reverse().map((rdn) =>
      rdn.map((a) => `${attributeShortNames.get(a.type) ?? a.type}=${formatValue(a)}`).join("+")
    ).join(",");
    return this.#text;
  }
}

function formatValue(a: Attribute): string {
  if (a.value === undefined) return "#" + a.rawValue.toHex();
  let s = a.value.replace(/[\\"+,;<>]/g, (c) => "\\" + c).replace(/\0/g, "\\00");
  if (s.startsWith(" ") || s.startsWith("#")) s = "\\" + s;
  if (s.endsWith(" ") && s.length > 1) s = s.slice(0, -1) + "\\ ";
  return s;
}

/**
 * Reads a Name.
 *
 * @param reader Positioned at the Name SEQUENCE.
 * @returns The name.
 */
export function readName(reader: DerReader): DistinguishedName {
  const el = reader.expect(0, true, 16, "Name");
  return nameFromElement(el, reader.enter(el));
}

/**
 * Decodes a Name whose SEQUENCE has already been read.
 *
 * @param el The Name element.
 * @param seq A reader over its contents.
 * @returns The name.
 */
export function nameFromElement(el: DerElement, seq: DerReader): DistinguishedName {
  const rdns: Attribute[][] = [];
  while (!seq.atEnd) {
    const at = seq.offset;
    const set = seq.readSet();
    const rdn: Attribute[] = [];
    while (!set.atEnd) {
      const atv = set.readSequence();
      const type = atv.readOid();
      const value = atv.read();
      atv.expectEnd();
      rdn.push({ type, value: decodeString(value), rawValue: value.raw });
    }
    if (rdn.length === 0) throw new DerError("empty RDN", at);
    rdns.push(rdn);
  }
  return new DistinguishedName(el.raw, rdns);
}

/**
 * Compares two byte arrays.
 *
 * @param a First.
 * @param b Second.
 * @returns Whether they are equal.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
