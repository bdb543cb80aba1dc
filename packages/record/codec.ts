/**
 * Bounded big-endian readers and growable writers for TLS wire formats, shared by the record
 * and handshake layers.
 *
 * Every read is checked against the bounds of the reader; a short or over-long structure is a
 * `decode_error` alert, which is what RFC 5246 §7.2.2 asks for a message that cannot be parsed.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";

function decodeError(message: string): TlsAlertError {
  return new TlsAlertError(AlertDescription.decode_error, message);
}

/**
 * Reads integers and length-prefixed vectors from a byte slice, never past its end.
 *
 * @example Reading a u16-prefixed vector
 * ```ts
 * import { Reader } from "@anchortls/record";
 * const r = new Reader(new Uint8Array([0, 2, 0xab, 0xcd]));
 * const v = r.vector16(); // Uint8Array [0xab, 0xcd]
 * r.expectEnd();
 * ```
 */
export class Reader {
  readonly #bytes: Uint8Array;
  #offset = 0;

  /**
   * Creates a reader over `bytes` (not copied).
   *
   * @param bytes The bytes to read.
   */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** Offset of the next byte to read, from the start of this reader. */
  get offset(): number {
    return this.#offset;
  }

  #take(n: number, what: string): number {
    if (n > this.remaining) {
      throw decodeError(`${what}: need ${n} bytes, ${this.remaining} left`);
    }
    const at = this.#offset;
    this.#offset += n;
    return at;
  }

  /** Reads one byte. @returns The byte. */
  u8(): number {
    return this.#bytes[this.#take(1, "u8")]!;
  }

  /** Reads a big-endian 16-bit integer. @returns The integer. */
  u16(): number {
    const at = this.#take(2, "u16");
    return (this.#bytes[at]! << 8) | this.#bytes[at + 1]!;
  }

  /** Reads a big-endian 24-bit integer. @returns The integer. */
  u24(): number {
    const at = this.#take(3, "u24");
    return (this.#bytes[at]! << 16) | (this.#bytes[at + 1]! << 8) | this.#bytes[at + 2]!;
  }

  /** Reads a big-endian 48-bit integer (DTLS sequence numbers). @returns The integer. */
  u48(): number {
    const at = this.#take(6, "u48");
    let v = 0;
    for (let i = 0; i < 6; i++) v = v * 256 + this.#bytes[at + i]!;
    return v;
  }

  /**
   * Reads `n` bytes as a view into the underlying buffer (not a copy).
   *
   * @param n How many bytes.
   * @returns The bytes.
   */
  bytes(n: number): Uint8Array {
    const at = this.#take(n, "bytes");
    return this.#bytes.subarray(at, at + n);
  }

  /** Reads the rest of the bytes. @returns The bytes (a view). */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /**
   * Reads a vector with a 1-byte length prefix.
   *
   * @param min Smallest allowed length. @param max Largest allowed length.
   * @returns The vector's bytes (a view).
   */
  vector8(min = 0, max = 0xff): Uint8Array {
    return this.#vector(this.u8(), min, max);
  }

  /**
   * Reads a vector with a 2-byte length prefix.
   *
   * @param min Smallest allowed length. @param max Largest allowed length.
   * @returns The vector's bytes (a view).
   */
  vector16(min = 0, max = 0xffff): Uint8Array {
    return this.#vector(this.u16(), min, max);
  }

  /**
   * Reads a vector with a 3-byte length prefix.
   *
   * @param min Smallest allowed length. @param max Largest allowed length.
   * @returns The vector's bytes (a view).
   */
  vector24(min = 0, max = 0xffffff): Uint8Array {
    return this.#vector(this.u24(), min, max);
  }

  #vector(length: number, min: number, max: number): Uint8Array {
    if (length < min || length > max) {
      throw decodeError(`vector length ${length} outside ${min}..${max}`);
    }
    return this.bytes(length);
  }

  /**
   * Opens a reader over the next `n` bytes and skips them here, so a length-prefixed
   * structure cannot read past its own end.
   *
   * @param n Length of the sub-structure.
   * @returns A reader limited to those bytes.
   */
  sub(n: number): Reader {
    return new Reader(this.bytes(n));
  }

  /**
   * Fails unless every byte was read.
   *
   * @param what Names the structure in the error.
   */
  expectEnd(what = "structure"): void {
    if (this.remaining !== 0) {
      throw decodeError(`${what}: ${this.remaining} trailing bytes`);
    }
  }
}

/**
 * Appends big-endian integers and length-prefixed vectors to a growable buffer.
 *
 * @example Writing a u16-prefixed vector
 * ```ts
 * import { Writer } from "@anchortls/record";
 * const w = new Writer();
 * w.vector16((w) => w.bytes(new Uint8Array([1, 2, 3])));
 * w.finish(); // Uint8Array [0, 3, 1, 2, 3]
 * ```
 */
export class Writer {
  #buf: Uint8Array;
  #length = 0;

  /**
   * Creates a writer.
   *
   * @param capacity Initial buffer size in bytes.
   */
  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #reserve(n: number): number {
    const need = this.#length + n;
    if (need > this.#buf.length) {
      const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
      next.set(this.#buf.subarray(0, this.#length));
      this.#buf = next;
    }
    const at = this.#length;
    this.#length = need;
    return at;
  }

  /** Appends one byte. @param v The byte. @returns This writer. */
  u8(v: number): this {
    // Reserve first: `this.#buf[this.#reserve(1)]` would read the field before reserve()
    // replaced the buffer, and the byte would land in the old one.
    const at = this.#reserve(1);
    this.#buf[at] = v;
    return this;
  }

  /** Appends a big-endian 16-bit integer. @param v The integer. @returns This writer. */
  u16(v: number): this {
    const at = this.#reserve(2);
    this.#buf[at] = v >>> 8;
    this.#buf[at + 1] = v;
    return this;
  }

  /** Appends a big-endian 24-bit integer. @param v The integer. @returns This writer. */
  u24(v: number): this {
    const at = this.#reserve(3);
    this.#buf[at] = v >>> 16;
    this.#buf[at + 1] = v >>> 8;
    this.#buf[at + 2] = v;
    return this;
  }

  /** Appends a big-endian 48-bit integer. @param v The integer. @returns This writer. */
  u48(v: number): this {
    const at = this.#reserve(6);
    for (let i = 5; i >= 0; i--) {
      this.#buf[at + i] = v % 256;
      v = Math.floor(v / 256);
    }
    return this;
  }

  /** Appends bytes. @param b The bytes. @returns This writer. */
  bytes(b: Uint8Array): this {
    const at = this.#reserve(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /**
   * Appends a vector with a 1-byte length prefix, written by `body`.
   *
   * @param body Writes the vector's content.
   * @returns This writer.
   */
  vector8(body: (w: this) => void): this {
    return this.#vector(1, 0xff, body);
  }

  /**
   * Appends a vector with a 2-byte length prefix, written by `body`.
   *
   * @param body Writes the vector's content.
   * @returns This writer.
   */
  vector16(body: (w: this) => void): this {
    return this.#vector(2, 0xffff, body);
  }

  /**
   * Appends a vector with a 3-byte length prefix, written by `body`.
   *
   * @param body Writes the vector's content.
   * @returns This writer.
   */
  vector24(body: (w: this) => void): this {
    return this.#vector(3, 0xffffff, body);
  }

  #vector(width: number, max: number, body: (w: this) => void): this {
    const at = this.#reserve(width);
    body(this);
    const length = this.#length - at - width;
    if (length > max) throw new RangeError(`vector of ${length} bytes exceeds ${max}`);
    for (let i = width - 1, v = length; i >= 0; i--, v >>>= 8) this.#buf[at + i] = v & 0xff;
    return this;
  }

  /**
   * Ends writing.
   *
   * @returns A copy of the bytes written.
   */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#length);
  }
}

/**
 * Joins byte arrays into one new array.
 *
 * @example
 * ```ts
 * import { concatBytes } from "@anchortls/record";
 * concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)]); // Uint8Array [1, 2, 3]
 * ```
 *
 * @param parts The arrays, in order.
 * @returns Their concatenation.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
