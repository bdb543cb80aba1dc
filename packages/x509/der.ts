/**
 * A strict DER reader (ITU-T X.690 §10 on top of the BER rules of §8): definite lengths in
 * minimal form, no trailing bytes, bounded nesting, and the primitive types X.509 needs.
 *
 * @module
 */

import { bytesToBigInt } from "./rsa.ts";

/** Deepest constructed nesting accepted; real certificates stay below 12. */
const MAX_DEPTH = 32;

/** Tag classes (X.690 §8.1.2.2). */
export const TagClass = {
  universal: 0,
  application: 1,
  contextSpecific: 2,
  private: 3,
} as const;

/** A tag class as two bits. */
export type TagClass = (typeof TagClass)[keyof typeof TagClass];

/** Universal tag numbers used in X.509. */
export const UniversalTag = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  null: 5,
  oid: 6,
  utf8String: 12,
  sequence: 16,
  set: 17,
  numericString: 18,
  printableString: 19,
  teletexString: 20,
  ia5String: 22,
  utcTime: 23,
  generalizedTime: 24,
  visibleString: 26,
  universalString: 28,
  bmpString: 30,
} as const;

/**
 * A DER encoding error, with the absolute byte offset where the reader found it.
 *
 * @example Catching a DER error
 * ```ts
 * import { DerError, DerReader } from "@anchortls/x509";
 * try {
 *   new DerReader(new Uint8Array([0x30, 0x80])).readSequence();
 * } catch (e) {
 *   if (e instanceof DerError) e.offset; // 1
 * }
 * ```
 */
export class DerError extends Error {
  /** Offset of the offending byte from the start of the outermost buffer. */
  readonly offset: number;

  /**
   * Creates a DER error.
   *
   * @param message What was wrong.
   * @param offset Absolute byte offset.
   * @param options Cause.
   */
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(`${message} (at byte ${offset})`, options);
    this.name = "DerError";
    this.offset = offset;
  }
}

/** One decoded tag-length-value element; its byte views are made on first use. */
export class DerElement {
  /** Tag class. */
  readonly tagClass: TagClass;
  /** True when the constructed bit is set. */
  readonly constructed: boolean;
  /** Tag number. */
  readonly tagNumber: number;
  /** Absolute offset of the element's first header byte. */
  readonly offset: number;
  /** Absolute offset of the first content byte. */
  readonly contentsOffset: number;
  readonly #bytes: Uint8Array;
  readonly #start: number;
  readonly #contentsStart: number;
  readonly #end: number;

  /**
   * Describes an element of `bytes`; use {@linkcode DerReader.read}.
   *
   * @param bytes The buffer holding the element.
   * @param tag Packed tag: class (2 bits) ‖ constructed (1 bit) ‖ number (29 bits).
   * @param start Index of the first header byte in `bytes`.
   * @param contentsStart Index of the first content byte in `bytes`.
   * @param end Index just past the element in `bytes`.
   * @param base Absolute offset of `bytes[0]`.
   */
  constructor(
    bytes: Uint8Array,
    tag: number,
    start: number,
    contentsStart: number,
    end: number,
    base: number,
  ) {
    this.tagClass = (tag >>> 30) as TagClass;
    this.constructed = ((tag >>> 29) & 1) === 1;
    this.tagNumber = tag & 0x1fffffff;
    this.offset = base + start;
    this.contentsOffset = base + contentsStart;
    this.#bytes = bytes;
    this.#start = start;
    this.#contentsStart = contentsStart;
    this.#end = end;
  }

  /** The content octets (a view, not a copy). */
  get contents(): Uint8Array {
    return this.#bytes.subarray(this.#contentsStart, this.#end);
  }

  /** The whole element, header included (a view). */
  get raw(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  /** Number of content bytes. */
  get length(): number {
    return this.#end - this.#contentsStart;
  }

  /**
   * A reader over the contents, sharing the buffer.
   *
   * @param depth Nesting depth of the new reader.
   * @returns The reader.
   */
  reader(depth: number): DerReader {
    return new DerReader(
      this.#bytes,
      this.offset - this.#start,
      depth,
      this.#contentsStart,
      this.#end,
    );
  }
}

/** A decoded BIT STRING. */
export interface BitString {
  /** The bytes, with the unused low bits of the last byte zero. */
  readonly bytes: Uint8Array;
  /** Number of unused bits in the last byte (0–7). */
  readonly unusedBits: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");
const utf16be = new TextDecoder("utf-16be", { fatal: true });

/**
 * Reads DER elements from a byte slice, never past its end, rejecting every non-DER form.
 *
 * Offsets in errors are absolute, so a nested reader reports where in the certificate it
 * failed.
 *
 * @example Reading an INTEGER inside a SEQUENCE
 * ```ts
 * import { DerReader } from "@anchortls/x509";
 * const outer = new DerReader(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]));
 * const seq = outer.readSequence();
 * outer.expectEnd();
 * seq.readSmallInteger(); // 5
 * seq.expectEnd();
 * ```
 */
export class DerReader {
  readonly #bytes: Uint8Array;
  readonly #base: number;
  readonly #depth: number;
  readonly #end: number;
  #pos: number;
  #lastStart = 0;
  #lastEnd = 0;

  /**
   * Creates a reader over `bytes` (not copied), or over `bytes[start, end)`.
   *
   * @param bytes The DER bytes.
   * @param base Absolute offset of `bytes[0]`, for error messages.
   * @param depth Nesting depth of this reader.
   * @param start Index of the first byte to read.
   * @param end Index just past the last byte to read.
   */
  constructor(bytes: Uint8Array, base = 0, depth = 0, start = 0, end: number = bytes.length) {
    if (depth > MAX_DEPTH) throw new DerError("nesting too deep", base + start);
    this.#bytes = bytes;
    this.#base = base;
    this.#depth = depth;
    this.#pos = start;
    this.#end = end;
  }

  /** True when every byte has been read. */
  get atEnd(): boolean {
    return this.#pos >= this.#end;
  }

  /** Absolute offset of the next byte to read. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** Throws unless every byte has been read. */
  expectEnd(): void {
    if (!this.atEnd) throw new DerError("trailing data", this.offset);
  }

  /**
   * Reads the tag of the next element without consuming it.
   *
   * @returns Class, constructed bit and number, or undefined at the end.
   */
  peekTag(): { tagClass: TagClass; constructed: boolean; tagNumber: number } | undefined {
    if (this.atEnd) return undefined;
    const saved = this.#pos;
    try {
      const packed = this.#readTag();
      return {
        tagClass: (packed >>> 30) as TagClass,
        constructed: ((packed >>> 29) & 1) === 1,
        tagNumber: packed & 0x1fffffff,
      };
    } finally {
      this.#pos = saved;
    }
  }

  /**
   * True when the next element has this class and number.
   *
   * @param tagClass Expected class.
   * @param tagNumber Expected number.
   * @returns Whether the next tag matches.
   */
  nextIs(tagClass: TagClass, tagNumber: number): boolean {
    if (this.#pos >= this.#end) return false;
    const first = this.#bytes[this.#pos]!;
    if ((first & 0x1f) !== 0x1f) return first >> 6 === tagClass && (first & 0x1f) === tagNumber;
    const t = this.peekTag()!;
    return t.tagClass === tagClass && t.tagNumber === tagNumber;
  }

  /** Reads a tag, packed as class (2 bits) ‖ constructed (1 bit) ‖ number (29 bits). */
  #readTag(): number {
    const first = this.#byte("tag");
    const head = ((first >> 5) << 29) >>> 0;
    let tagNumber = first & 0x1f;
    if (tagNumber !== 0x1f) return (head | tagNumber) >>> 0;
    const at = this.offset;
    tagNumber = 0;
    for (let i = 0;; i++) {
      const b = this.#byte("tag");
      if (i === 0 && b === 0x80) throw new DerError("non-minimal tag number", at);
      if (i >= 3) throw new DerError("tag number too large", at);
      tagNumber = (tagNumber << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 0x1f) throw new DerError("non-minimal tag number", at);
    return (head | tagNumber) >>> 0;
  }

  #byte(what: string): number {
    if (this.#pos >= this.#end) throw new DerError(`truncated ${what}`, this.offset);
    return this.#bytes[this.#pos++]!;
  }

  #readLength(): number {
    const at = this.offset;
    const first = this.#byte("length");
    if (first < 0x80) return first;
    if (first === 0x80) throw new DerError("indefinite length", at);
    const n = first & 0x7f;
    if (n > 4) throw new DerError("length too large", at);
    let len = 0;
    for (let i = 0; i < n; i++) {
      const b = this.#byte("length");
      if (i === 0 && b === 0) throw new DerError("non-minimal length", at);
      len = len * 256 + b;
    }
    if (len < 0x80) throw new DerError("non-minimal length", at);
    return len;
  }

  /**
   * Reads any element.
   *
   * @returns The element.
   */
  read(): DerElement {
    const start = this.#pos;
    const tag = this.#readTag();
    const len = this.#readLength();
    const contentsStart = this.#pos;
    if (len > this.#end - contentsStart) {
      throw new DerError(
        `element of ${len} bytes, ${this.#end - contentsStart} left`,
        this.#base + start,
      );
    }
    this.#pos = contentsStart + len;
    return new DerElement(this.#bytes, tag, start, contentsStart, this.#pos, this.#base);
  }

  /**
   * Reads a header that must carry exactly this packed tag and skips the element, leaving
   * its contents window in `#lastStart`/`#lastEnd` (no allocation on the hot path).
   */
  #skipExpected(tag: number, what: string): void {
    const at = this.#pos;
    const got = this.#readTag();
    const len = this.#readLength();
    const start = this.#pos;
    if (got !== tag) {
      this.#pos = at;
      const wrongBit = (got ^ tag) === 1 << 29;
      throw new DerError(
        wrongBit ? `${what} has the wrong constructed bit` : `expected ${what}`,
        this.#base + at,
      );
    }
    if (len > this.#end - start) {
      throw new DerError(`element of ${len} bytes, ${this.#end - start} left`, this.#base + at);
    }
    this.#lastStart = start;
    this.#pos = this.#lastEnd = start + len;
  }

  #enterExpected(tag: number, what: string): DerReader {
    this.#skipExpected(tag, what);
    return new DerReader(this.#bytes, this.#base, this.#depth + 1, this.#lastStart, this.#lastEnd);
  }

  /**
   * Reads an element that must have this class, constructed bit and number.
   *
   * @param tagClass Expected class.
   * @param constructed Expected constructed bit.
   * @param tagNumber Expected number.
   * @param what Name for error messages.
   * @returns The element.
   */
  expect(tagClass: TagClass, constructed: boolean, tagNumber: number, what: string): DerElement {
    const at = this.offset;
    const el = this.read();
    if (el.tagClass !== tagClass || el.tagNumber !== tagNumber) {
      throw new DerError(`expected ${what}`, at);
    }
    if (el.constructed !== constructed) {
      throw new DerError(`${what} has the wrong constructed bit`, at);
    }
    return el;
  }

  /**
   * Opens a reader over the contents of an element.
   *
   * @param el An element read from this reader.
   * @returns A reader one level deeper.
   */
  enter(el: DerElement): DerReader {
    return el.reader(this.#depth + 1);
  }

  /** Reads a SEQUENCE. @returns A reader over its contents. */
  readSequence(): DerReader {
    return this.#enterExpected(
      packTag(TagClass.universal, true, UniversalTag.sequence),
      "SEQUENCE",
    );
  }

  /** Reads a SET. @returns A reader over its contents. */
  readSet(): DerReader {
    return this.#enterExpected(packTag(TagClass.universal, true, UniversalTag.set), "SET");
  }

  /**
   * Reads a constructed context-specific [n] element (EXPLICIT tagging).
   *
   * @param n The tag number.
   * @returns A reader over its contents.
   */
  readExplicit(n: number): DerReader {
    return this.#enterExpected(packTag(TagClass.contextSpecific, true, n), "context tag");
  }

  /** Reads a BOOLEAN (DER: only 00 and FF). @returns The value. */
  readBoolean(): boolean {
    const at = this.#base + this.#pos;
    this.#skipExpected(packTag(TagClass.universal, false, UniversalTag.boolean), "BOOLEAN");
    if (this.#lastEnd - this.#lastStart !== 1) throw new DerError("BOOLEAN must be one byte", at);
    const b = this.#bytes[this.#lastStart]!;
    if (b === 0xff) return true;
    if (b === 0x00) return false;
    throw new DerError("BOOLEAN must be 00 or FF", this.#base + this.#lastStart);
  }

  /** Reads a NULL. */
  readNull(): void {
    const at = this.#base + this.#pos;
    this.#skipExpected(packTag(TagClass.universal, false, UniversalTag.null), "NULL");
    if (this.#lastEnd !== this.#lastStart) throw new DerError("NULL with contents", at);
  }

  /**
   * Reads an INTEGER as its minimal two's-complement content bytes.
   *
   * @returns The content bytes (a view).
   */
  readIntegerBytes(): Uint8Array {
    const at = this.#base + this.#pos;
    this.#skipExpected(packTag(TagClass.universal, false, UniversalTag.integer), "INTEGER");
    const contents = this.#bytes.subarray(this.#lastStart, this.#lastEnd);
    checkInteger(contents, at);
    return contents;
  }

  /** Reads a non-negative INTEGER as a bigint. @returns The value. */
  readUnsignedBigInt(): bigint {
    const at = this.offset;
    const bytes = this.readIntegerBytes();
    if (bytes[0]! & 0x80) throw new DerError("negative INTEGER", at);
    return bytesToBigInt(bytes);
  }

  /** Reads a small non-negative INTEGER (below 2^31). @returns The value. */
  readSmallInteger(): number {
    const at = this.offset;
    const bytes = this.readIntegerBytes();
    if (bytes[0]! & 0x80) throw new DerError("negative INTEGER", at);
    if (bytes.length > 4 || (bytes.length === 4 && bytes[0]! & 0x80)) {
      throw new DerError("INTEGER too large", at);
    }
    let v = 0;
    for (const b of bytes) v = v * 256 + b;
    return v;
  }

  /** Reads a BIT STRING. @returns Its bytes and unused-bit count. */
  readBitString(): BitString {
    return decodeBitString(
      this.expect(TagClass.universal, false, UniversalTag.bitString, "BIT STRING"),
    );
  }

  /** Reads an OCTET STRING. @returns Its contents (a view). */
  readOctetString(): Uint8Array {
    this.#skipExpected(
      packTag(TagClass.universal, false, UniversalTag.octetString),
      "OCTET STRING",
    );
    return this.#bytes.subarray(this.#lastStart, this.#lastEnd);
  }

  /** Reads an OBJECT IDENTIFIER. @returns The dotted-decimal form. */
  readOid(): string {
    this.#skipExpected(packTag(TagClass.universal, false, UniversalTag.oid), "OID");
    return oidFrom(this.#bytes, this.#lastStart, this.#lastEnd, this.#base);
  }

  /** Reads a UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5). @returns The instant. */
  readTime(): Date {
    const at = this.offset;
    const el = this.read();
    if (el.tagClass === TagClass.universal && !el.constructed) {
      if (el.tagNumber === UniversalTag.utcTime) return decodeTime(el, false);
      if (el.tagNumber === UniversalTag.generalizedTime) return decodeTime(el, true);
    }
    throw new DerError("expected UTCTime or GeneralizedTime", at);
  }
}

function checkInteger(bytes: Uint8Array, at: number): void {
  if (bytes.length === 0) throw new DerError("empty INTEGER", at);
  if (
    bytes.length > 1 &&
    ((bytes[0] === 0x00 && (bytes[1]! & 0x80) === 0) ||
      (bytes[0] === 0xff && (bytes[1]! & 0x80) !== 0))
  ) {
    throw new DerError("non-minimal INTEGER", at);
  }
}

/**
 * Decodes a BIT STRING element, requiring unused bits to be zero.
 *
 * @param el The element.
 * @returns Bytes and unused-bit count.
 */
export function decodeBitString(el: DerElement): BitString {
  const c = el.contents;
  if (c.length === 0) throw new DerError("empty BIT STRING", el.offset);
  const unusedBits = c[0]!;
  if (unusedBits > 7) throw new DerError("BIT STRING unused bits above 7", el.contentsOffset);
  if (c.length === 1 && unusedBits !== 0) {
    throw new DerError("empty BIT STRING with unused bits", el.contentsOffset);
  }
  const bytes = c.subarray(1);
  if (unusedBits && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1))) {
    throw new DerError("BIT STRING unused bits not zero", el.contentsOffset);
  }
  return { bytes, unusedBits };
}

/**
 * Decodes an OBJECT IDENTIFIER element to dotted-decimal form.
 *
 * @param el The element.
 * @returns The OID, e.g. `2.5.4.3`.
 */
export function decodeOid(el: DerElement): string {
  return oidFrom(el.contents, 0, el.length, el.contentsOffset);
}

/** Decoded OIDs by a hash of their encoding; certificates repeat a few dozen OIDs. */
const oidCache = new Map<number, { bytes: Uint8Array; text: string }>();
const OID_CACHE_LIMIT = 512;

function oidFrom(bytes: Uint8Array, start: number, end: number, base: number): string {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  const hit = oidCache.get(h);
  if (hit && hit.bytes.length === end - start) {
    let same = true;
    for (let i = start; i < end; i++) {
      if (hit.bytes[i - start] !== bytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return hit.text;
  }
  const text = oidText(bytes, start, end, base);
  if (oidCache.size < OID_CACHE_LIMIT) oidCache.set(h, { bytes: bytes.slice(start, end), text });
  return text;
}

function oidText(bytes: Uint8Array, start: number, end: number, base: number): string {
  if (start === end) throw new DerError("empty OID", base + start - 2);
  let oid = "";
  let v = 0;
  let fresh = true;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (fresh && b === 0x80) throw new DerError("non-minimal OID arc", base + i);
    if (v >= 2 ** 45) throw new DerError("OID arc too large", base + i);
    v = v * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      if (oid === "") {
        const first = v < 40 ? 0 : v < 80 ? 1 : 2;
        oid = `${first}.${v - first * 40}`;
      } else {
        oid += "." + v;
      }
      v = 0;
    }
  }
  if (!fresh) throw new DerError("truncated OID arc", base + end - 1);
  return oid;
}

function packTag(tagClass: TagClass, constructed: boolean, tagNumber: number): number {
  return ((tagClass << 30) | (constructed ? 1 << 29 : 0) | tagNumber) >>> 0;
}

const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * Decodes one of the ASN.1 character string types.
 *
 * @param el The element.
 * @returns The text, or undefined when the element is not a string type.
 */
export function decodeString(el: DerElement): string | undefined {
  if (el.tagClass !== TagClass.universal || el.constructed) return undefined;
  const c = el.contents;
  try {
    switch (el.tagNumber) {
      case UniversalTag.utf8String:
        return isAscii(c) ? ascii(c, el) : utf8.decode(c);
      case UniversalTag.printableString: {
        const s = ascii(c, el);
        if (!printable.test(s)) throw new DerError("bad PrintableString", el.contentsOffset);
        return s;
      }
      case UniversalTag.numericString: {
        const s = ascii(c, el);
        if (!/^[0-9 ]*$/.test(s)) throw new DerError("bad NumericString", el.contentsOffset);
        return s;
      }
      case UniversalTag.ia5String:
      case UniversalTag.visibleString:
        return ascii(c, el);
      case UniversalTag.teletexString:
        return latin1.decode(c);
      case UniversalTag.bmpString:
        if (c.length % 2) throw new DerError("odd BMPString length", el.offset);
        return utf16be.decode(c);
      case UniversalTag.universalString:
        return decodeUtf32(c, el);
      default:
        return undefined;
    }
  } catch (e) {
    if (e instanceof DerError) throw e;
    throw new DerError("invalid string encoding", el.contentsOffset, { cause: e });
  }
}

/**
 * Decodes an IA5String's contents (7-bit ASCII).
 *
 * @param el The element.
 * @returns The text.
 */
export function decodeIa5(el: DerElement): string {
  return ascii(el.contents, el);
}

function isAscii(c: Uint8Array): boolean {
  for (let i = 0; i < c.length; i++) if (c[i]! > 0x7f) return false;
  return true;
}

function ascii(c: Uint8Array, el: DerElement): string {
  for (let i = 0; i < c.length; i++) {
    if (c[i]! > 0x7f) throw new DerError("non-ASCII byte in string", el.contentsOffset + i);
  }
  // Short strings build fastest from char codes; TextDecoder's call cost dominates for them.
  return c.length <= 64
    ? String.fromCharCode.apply(null, c as unknown as number[])
    : latin1.decode(c);
}

function decodeUtf32(c: Uint8Array, el: DerElement): string {
  if (c.length % 4) throw new DerError("UniversalString length not a multiple of 4", el.offset);
  let s = "";
  for (let i = 0; i < c.length; i += 4) {
    const cp = ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw new DerError("bad UniversalString code point", el.contentsOffset + i);
    }
    s += String.fromCodePoint(cp);
  }
  return s;
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function decodeTime(el: DerElement, generalized: boolean): Date {
  const c = el.contents;
  const len = generalized ? 15 : 13;
  if (c.length !== len || c[len - 1] !== 0x5a) {
    throw new DerError(
      `${generalized ? "GeneralizedTime" : "UTCTime"} must be ${
        generalized ? "YYYY" : "YY"
      }MMDDHHMMSSZ`,
      el.offset,
    );
  }
  for (let i = 0; i < len - 1; i++) {
    if (c[i]! < 0x30 || c[i]! > 0x39) {
      throw new DerError("non-digit in time", el.contentsOffset + i);
    }
  }
  const num = (i: number): number => (c[i]! - 0x30) * 10 + c[i + 1]! - 0x30;
  let year: number;
  let i: number;
  if (generalized) {
    year = num(0) * 100 + num(2);
    i = 4;
  } else {
    const yy = num(0);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    i = 2;
  }
  const month = num(i), day = num(i + 2), hour = num(i + 4), minute = num(i + 6);
  const second = num(i + 8);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const maxDay = month === 2 && leap ? 29 : daysInMonth[month - 1] ?? 0;
  if (
    month < 1 || month > 12 || day < 1 || day > maxDay || hour > 23 || minute > 59 || second > 59
  ) {
    throw new DerError("time field out of range", el.contentsOffset);
  }
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC reads years 0–99 as 1900–1999; only GeneralizedTime can name them.
  if (year < 100) d.setUTCFullYear(year);
  return d;
}
