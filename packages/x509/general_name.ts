/**
 * GeneralName (RFC 5280 §4.2.1.6), as used by subjectAltName, authorityKeyIdentifier and
 * nameConstraints.
 *
 * @module
 */

import { decodeIa5, type DerElement, DerError, type DerReader, TagClass } from "./der.ts";
import { type DistinguishedName, readName } from "./name.ts";

/** A GeneralName: the forms we interpret, and any other kept raw. */
export type GeneralName =
  | { readonly type: "dns"; readonly value: string }
  | { readonly type: "ip"; readonly value: Uint8Array }
  | { readonly type: "email"; readonly value: string }
  | { readonly type: "uri"; readonly value: string }
  | { readonly type: "directory"; readonly value: DistinguishedName }
  | { readonly type: "other"; readonly tag: number; readonly raw: Uint8Array };

/**
 * Decodes one GeneralName element.
 *
 * @param el The element (context-specific tag).
 * @param parent The reader it came from, for nesting.
 * @param ipLengths Allowed iPAddress content lengths: 4/16 in names, 8/32 in constraints.
 * @returns The name.
 */
export function decodeGeneralName(
  el: DerElement,
  parent: DerReader,
  ipLengths: readonly number[] = [4, 16],
): GeneralName {
  if (el.tagClass !== TagClass.contextSpecific) {
    throw new DerError("GeneralName must be context-specific", el.offset);
  }
  const primitive = (): void => {
    if (el.constructed) throw new DerError("GeneralName must be primitive", el.offset);
  };
  switch (el.tagNumber) {
    case 1:
      primitive();
      return { type: "email", value: decodeIa5(el) };
    case 2:
      primitive();
      return { type: "dns", value: decodeIa5(el) };
    case 4: {
      if (!el.constructed) throw new DerError("directoryName must be constructed", el.offset);
      const r = parent.enter(el);
      const name = readName(r);
      r.expectEnd();
      return { type: "directory", value: name };
    }
    case 6:
      primitive();
      return { type: "uri", value: decodeIa5(el) };
    case 7:
      primitive();
      if (!ipLengths.includes(el.contents.length)) {
        throw new DerError("bad iPAddress length", el.offset);
      }
      return { type: "ip", value: el.contents };
    default:
      return { type: "other", tag: el.tagNumber, raw: el.raw };
  }
}

/**
 * Reads a GeneralNames SEQUENCE (at least one name).
 *
 * @param seq A reader over the SEQUENCE contents.
 * @returns The names.
 */
export function readGeneralNames(seq: DerReader): GeneralName[] {
  const at = seq.offset;
  const names: GeneralName[] = [];
  while (!seq.atEnd) names.push(decodeGeneralName(seq.read(), seq));
  if (names.length === 0) throw new DerError("empty GeneralNames", at);
  return names;
}
