/**
 * DER target: `DerReader` walking every element of arbitrary bytes, entering constructed ones
 * and decoding primitive universal ones with the typed readers (BOOLEAN, INTEGER, BIT STRING,
 * OID, strings, times). Oracles: the elements of each level tile their parent exactly (raw
 * bytes back to back, header + contents = raw); refusals are `DerError`s with an offset inside
 * the input.
 *
 * @module
 */

import {
  decodeBitString,
  decodeOid,
  decodeString,
  DerError,
  DerReader,
  TagClass,
  UniversalTag,
} from "@anchortls/x509";
import { check, type FuzzTarget } from "../target.ts";

const stringTags = new Set<number>([
  UniversalTag.utf8String,
  UniversalTag.numericString,
  UniversalTag.printableString,
  UniversalTag.teletexString,
  UniversalTag.ia5String,
  UniversalTag.visibleString,
  UniversalTag.universalString,
  UniversalTag.bmpString,
]);

/** Reads one primitive universal element with its typed reader; returns what it was. */
function readTyped(reader: DerReader, tagNumber: number): string {
  switch (tagNumber) {
    case UniversalTag.boolean:
      reader.readBoolean();
      return "boolean";
    case UniversalTag.integer:
      reader.readIntegerBytes();
      return "integer";
    case UniversalTag.null:
      reader.readNull();
      return "null";
    case UniversalTag.utcTime:
    case UniversalTag.generalizedTime:
      check(!Number.isNaN(reader.readTime().getTime()), "time decoded to NaN");
      return "time";
  }
  const el = reader.read();
  if (tagNumber === UniversalTag.bitString) {
    const bits = decodeBitString(el);
    check(bits.unusedBits <= 7 && bits.bytes.length === el.length - 1, "bad BIT STRING view");
    return "bit string";
  }
  if (tagNumber === UniversalTag.oid) {
    check(/^\d+(\.\d+)+$/.test(decodeOid(el)), "OID text is not dotted decimal");
    return "oid";
  }
  if (stringTags.has(tagNumber)) {
    decodeString(el);
    return "string";
  }
  return "other";
}

/** Walks a level; returns the labels met and checks that the elements tile it. */
function walk(reader: DerReader, bytes: Uint8Array, labels: Set<string>): void {
  let at = 0;
  while (!reader.atEnd) {
    const tag = reader.peekTag()!;
    if (!tag.constructed && tag.tagClass === TagClass.universal) {
      const before = reader.offset;
      labels.add(readTyped(reader, tag.tagNumber));
      check(reader.offset > before, "a typed read did not advance");
      at += reader.offset - before;
      continue;
    }
    const el = reader.read();
    check(el.raw.length === el.contentsOffset - el.offset + el.length, "header + contents ≠ raw");
    check(el.raw.every((b, i) => b === bytes[at + i]), "elements do not tile their parent");
    at += el.raw.length;
    if (el.constructed) {
      labels.add(`constructed ${el.tagClass}`);
      walk(reader.enter(el), el.contents, labels);
    } else {
      labels.add(`primitive ${el.tagClass}`);
    }
  }
  check(at === bytes.length, "elements do not cover their parent");
}

const target: FuzzTarget = {
  name: "der",
  corpus: "der",
  run(input) {
    const labels = new Set<string>();
    try {
      walk(new DerReader(input), input, labels);
    } catch (error) {
      if (error instanceof DerError) {
        check(error.offset >= 0 && error.offset <= input.length, "DerError offset outside");
      }
      throw error;
    }
    return [...labels].sort().join();
  },
  expected: (error) => error instanceof DerError,
};

export default target;
