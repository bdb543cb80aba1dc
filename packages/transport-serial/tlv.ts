/**
 * The compact TLV of MULTOS command mode: the top two bits of the first byte give the form.
 *
 * | first byte | form | tag | length |
 * | --- | --- | --- | --- |
 * | `00xxxxxx` | `noLength` | 1 byte, 0x00–0x3F | none (the value is empty) |
 * | `01xxxxxx` | `shortLength` | 1 byte, 0x40–0x7F | 1 byte |
 * | `10xxxxxx` | `longLength` | 1 byte, 0x80–0xBF | 2 bytes, big-endian |
 * | `11xxxxxx` | `longTag` | 2 bytes, 0xC000–0xFFFF | 2 bytes, big-endian |
 *
 * There is no checksum: a lost or changed byte only shows as a bad structure, which is why
 * the streaming decoder caps the value length and reports anything over it at once.
 *
 * @module
 */

/** The four TLV forms. */
export type TlvForm = "noLength" | "shortLength" | "longLength" | "longTag";

/** One decoded TLV. */
export interface TlvFrame {
  /** The tag: 0x00–0xBF for one-byte tags, 0xC000–0xFFFF for two-byte tags. */
  readonly tag: number;
  /** The value (a copy, safe to keep). */
  readonly value: Uint8Array;
}

/**
 * The form a tag is encoded in.
 *
 * @example
 * ```ts
 * import { tlvForm } from "@anchortls/transport-serial";
 * tlvForm(0x80); // "longLength"
 * ```
 *
 * @param tag The tag.
 * @returns Its form.
 * @throws {RangeError} If the tag is not 0x00–0xBF or 0xC000–0xFFFF.
 */
export function tlvForm(tag: number): TlvForm {
  if (!Number.isInteger(tag) || tag < 0) throw new RangeError(`bad TLV tag ${tag}`);
  if (tag <= 0x3f) return "noLength";
  if (tag <= 0x7f) return "shortLength";
  if (tag <= 0xbf) return "longLength";
  if (tag >= 0xc000 && tag <= 0xffff) return "longTag";
  throw new RangeError(`bad TLV tag 0x${tag.toString(16)}: not 0x00–0xBF or 0xC000–0xFFFF`);
}

/** Header size (tag and length bytes) of each form. */
const headerLength: Readonly<Record<TlvForm, number>> = {
  noLength: 1,
  shortLength: 2,
  longLength: 3,
  longTag: 4,
};

/** Largest value each form can carry. */
const maxLength: Readonly<Record<TlvForm, number>> = {
  noLength: 0,
  shortLength: 0xff,
  longLength: 0xffff,
  longTag: 0xffff,
};

/**
 * Encodes one TLV in the form its tag calls for.
 *
 * @example A Command APDU message
 * ```ts
 * import { encodeTlv } from "@anchortls/transport-serial";
 * encodeTlv(0x80, Uint8Array.fromHex("0084000000000008")).toHex(); // "8000080084000000000008"
 * ```
 *
 * @param tag The tag (0x00–0xBF or 0xC000–0xFFFF).
 * @param value The value; must be empty for tags 0x00–0x3F.
 * @returns The encoded bytes.
 * @throws {RangeError} If the tag is invalid or the value does not fit the form.
 */
export function encodeTlv(tag: number, value: Uint8Array = new Uint8Array()): Uint8Array {
  const form = tlvForm(tag);
  if (value.length > maxLength[form]) {
    throw new RangeError(
      `TLV value of ${value.length} bytes does not fit tag 0x${tag.toString(16)} ` +
        `(at most ${maxLength[form]})`,
    );
  }
  const head = headerLength[form];
  const out = new Uint8Array(head + value.length);
  switch (form) {
    case "noLength":
      out[0] = tag;
      break;
    case "shortLength":
      out[0] = tag;
      out[1] = value.length;
      break;
    case "longLength":
      out[0] = tag;
      out[1] = value.length >> 8;
      out[2] = value.length & 0xff;
      break;
    case "longTag":
      out[0] = tag >> 8;
      out[1] = tag & 0xff;
      out[2] = value.length >> 8;
      out[3] = value.length & 0xff;
      break;
  }
  out.set(value, head);
  return out;
}

/** Result of asking a {@linkcode TlvDecoder} for the next frame. */
export type TlvDecodeResult =
  | { readonly kind: "frame"; readonly frame: TlvFrame }
  | { readonly kind: "needMore"; readonly buffered: number }
  | { readonly kind: "error"; readonly reason: string };

/** Options for {@linkcode TlvDecoder}. */
export interface TlvDecoderOptions {
  /**
   * Longest value accepted. A length field above it is reported as an error as soon as the
   * header is in, instead of waiting for bytes that may never come. @default {0xffff}
   */
  maxValueLength?: number;
}

/**
 * A sans-IO streaming TLV decoder: feed it bytes as they arrive, then pull frames.
 *
 * After an `error` the buffered bytes are meaningless; call {@linkcode TlvDecoder.clear} before
 * feeding bytes from a resynchronised link.
 *
 * @example Frames split across chunks
 * ```ts
 * import { TlvDecoder } from "@anchortls/transport-serial";
 * const decoder = new TlvDecoder();
 * decoder.push(Uint8Array.fromHex("0180"));
 * decoder.next(); // { kind: "frame", frame: { tag: 1, value: Uint8Array [] } }
 * decoder.next(); // { kind: "needMore", buffered: 1 }
 * decoder.push(Uint8Array.fromHex("00029000"));
 * decoder.next(); // { kind: "frame", frame: { tag: 0x80, value: Uint8Array [0x90, 0] } }
 * ```
 */
export class TlvDecoder {
  readonly #maxValueLength: number;
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /**
   * Creates an empty decoder.
   *
   * @param options The value length cap.
   */
  constructor(options: TlvDecoderOptions = {}) {
    this.#maxValueLength = options.maxValueLength ?? 0xffff;
  }

  /** Bytes received but not yet returned in a frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Appends received bytes.
   *
   * @param bytes The bytes (copied).
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#end + bytes.length > this.#buffer.length) {
      const live = this.#end - this.#start;
      const size = Math.max(live + bytes.length, this.#buffer.length * 2, 64);
      const grown = new Uint8Array(size);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
      this.#start = 0;
      this.#end = live;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * Takes the next complete frame off the buffer, if there is one.
   *
   * @returns A frame, a request for more bytes, or a framing error.
   */
  next(): TlvDecodeResult {
    const available = this.#end - this.#start;
    if (available === 0) return { kind: "needMore", buffered: 0 };
    const b = this.#buffer;
    const at = this.#start;
    const first = b[at]!;
    const form: TlvForm = first <= 0x3f
      ? "noLength"
      : first <= 0x7f
      ? "shortLength"
      : first <= 0xbf
      ? "longLength"
      : "longTag";
    const head = headerLength[form];
    if (available < head) return { kind: "needMore", buffered: available };
    let tag = first;
    let length = 0;
    switch (form) {
      case "noLength":
        break;
      case "shortLength":
        length = b[at + 1]!;
        break;
      case "longLength":
        length = (b[at + 1]! << 8) | b[at + 2]!;
        break;
      case "longTag":
        tag = (first << 8) | b[at + 1]!;
        length = (b[at + 2]! << 8) | b[at + 3]!;
        break;
    }
    if (length > this.#maxValueLength) {
      return {
        kind: "error",
        reason: `TLV tag 0x${tag.toString(16)} announces ${length} bytes, ` +
          `more than the ${this.#maxValueLength} allowed`,
      };
    }
    if (available < head + length) return { kind: "needMore", buffered: available };
    const value = b.slice(at + head, at + head + length);
    this.#start += head + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return { kind: "frame", frame: { tag, value } };
  }

  /** Drops every buffered byte, e.g. after an error or before a new exchange. */
  clear(): void {
    this.#start = 0;
    this.#end = 0;
  }
}

/**
 * Decodes exactly one TLV that fills `bytes`.
 *
 * @example
 * ```ts
 * import { decodeTlv } from "@anchortls/transport-serial";
 * decodeTlv(Uint8Array.fromHex("4403020480")); // { tag: 0x44, value: Uint8Array [2, 4, 0x80] }
 * ```
 *
 * @param bytes One encoded TLV, nothing before or after it.
 * @returns The frame.
 * @throws {RangeError} If the bytes are truncated or followed by trailing bytes.
 */
export function decodeTlv(bytes: Uint8Array): TlvFrame {
  const decoder = new TlvDecoder();
  decoder.push(bytes);
  const result = decoder.next();
  if (result.kind === "needMore") {
    throw new RangeError(`truncated TLV: ${bytes.length} bytes are not a whole frame`);
  }
  if (result.kind === "error") throw new RangeError(result.reason);
  if (decoder.buffered !== 0) {
    throw new RangeError(`${decoder.buffered} trailing bytes after TLV`);
  }
  return result.frame;
}
