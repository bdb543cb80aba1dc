/**
 * HMAC-SHA1/SHA256/SHA384 with the key pads hashed once: per message only the saved inner and outer
 * states are cloned (into reused scratch objects), which saves two compressions and the
 * allocations of a fresh `hmac()` per record. Internal to the record layer.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { eqMask, ltMask, MAX_PADDING } from "./_masks.ts";

/**
 * The noble hash methods we use on pre-keyed states. `process`, `get` and `roundClean` are
 * protected in noble's typings but public at run time on every Merkle–Damgård hash: they are
 * the compression function, the chaining value and the wipe of the message schedule, which
 * `macConstantCost` needs in order to finalise at a secret length without `digestInto`.
 */
interface HashState {
  update(data: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
  _cloneInto(to?: HashState): HashState;
  destroy(): void;
  process(view: DataView, offset: number): void;
  get(): number[];
  roundClean(): void;
}

/**
 * Each hash's block geometry: the key pad occupies exactly one block (64 bytes for SHA-1 and
 * SHA-256, 128 for SHA-384); `shift` is log2(block), so block index = offset >> shift; the
 * message length closing the last block is 64 bits, or 128 for SHA-384. noble's SHA-384 state
 * words are the 64-bit chaining values as high, low 32-bit halves: big-endian digest order.
 */
const HASHES = {
  sha1: { hash: sha1, block: 64, shift: 6, lengthField: 8, output: 20 },
  sha256: { hash: sha256, block: 64, shift: 6, lengthField: 8, output: 32 },
  sha384: { hash: sha384, block: 128, shift: 7, lengthField: 16, output: 48 },
} as const;

/**
 * An HMAC key ready for many messages.
 *
 * @example MAC of two parts
 * ```ts ignore
 * const h = new PrekeyedHmac("sha256", key);
 * h.mac([header, content], out);
 * ```
 */
export class PrekeyedHmac {
  /** Output length in bytes. */
  readonly outputLength: number;
  readonly #inner: HashState;
  readonly #outer: HashState;
  readonly #innerScratch: HashState;
  readonly #outerScratch: HashState;
  readonly #digest: Uint8Array;
  readonly #digestView: DataView;
  readonly #blockLength: number;
  readonly #shift: number;
  readonly #lengthField: number;
  readonly #block: Uint8Array;
  readonly #blockView: DataView;
  /** The chaining value being selected: one word per 4 output bytes. */
  readonly #state: Uint32Array;

  /**
   * Hashes the key pads.
   *
   * @param algorithm The hash.
   * @param key The MAC key (not kept by reference).
   */
  constructor(algorithm: "sha1" | "sha256" | "sha384", key: Uint8Array) {
    const geometry = HASHES[algorithm];
    const keyed = hmac.create(geometry.hash, key);
    this.#inner = keyed.iHash as unknown as HashState;
    this.#outer = keyed.oHash as unknown as HashState;
    this.#innerScratch = this.#inner._cloneInto();
    this.#outerScratch = this.#outer._cloneInto();
    this.#blockLength = geometry.block;
    this.#shift = geometry.shift;
    this.#lengthField = geometry.lengthField;
    this.#block = new Uint8Array(geometry.block);
    this.#blockView = new DataView(this.#block.buffer);
    this.outputLength = geometry.output;
    this.#digest = new Uint8Array(this.outputLength);
    this.#digestView = new DataView(this.#digest.buffer);
    this.#state = new Uint32Array(this.outputLength / 4);
  }

  /**
   * HMAC over the concatenation of `parts`.
   *
   * @param parts The message, in pieces (so a header need not be copied next to the content).
   * @param out Receives the MAC; at least `outputLength` bytes.
   */
  mac(parts: readonly Uint8Array[], out: Uint8Array): void {
    const inner = this.#inner._cloneInto(this.#innerScratch);
    for (const part of parts) inner.update(part);
    this.#finish(inner, out);
  }

  /**
   * HMAC over header ‖ data[0, length) that makes the same calls on the hash objects, with the
   * same sizes, for every `length` a record of data.length bytes can have (OpenSSL's
   * ssl3_cbc_digest_record).
   *
   * Lucky 13 (AlFardan and Paterson 2013) times the MAC check of a MAC-then-encrypt record: a
   * longer padding leaves a shorter content, so less is hashed, and the difference leaks
   * plaintext. Equalising only the number of compressions is not enough in JavaScript: how the
   * input is split into `update` calls changes how much @noble/hashes copies, allocates and
   * wipes, which showed as a 0.1–0.2 µs residue between valid and invalid padding. So only a
   * public prefix is hashed with `update`; the last blocks, where the content can end, are
   * built here with masks (content, then 0x80, zeros and the bit length in the block where the
   * real message ends) and compressed one by one, and the chaining value after the block that
   * holds the length is kept with a mask.
   *
   * @param header The 13-byte MAC header (its length field is secret too).
   * @param data Decrypted content ‖ MAC ‖ padding ‖ padding_length.
   * @param length How many bytes of `data` are content (secret). Every length from
   *   data.length − outputLength − 256 (at most 255 padding bytes) to data.length − 1 costs
   *   the same; a shorter one, which no record can have, is still MACed correctly but starts
   *   the masked blocks earlier.
   * @param out Receives the MAC.
   */
  macConstantCost(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void {
    const blockLength = this.#blockLength;
    const shift = this.#shift;
    const lengthField = this.#lengthField;
    const headerLength = header.length;
    const streamLength = headerLength + data.length;
    // The public range of the content end (= where 0x80 goes) in header ‖ data.
    const earliestEnd = headerLength +
      Math.max(0, data.length - 1 - MAX_PADDING - this.outputLength);
    const latestEnd = streamLength - 1;
    const end = headerLength + length;
    const firstBlock = Math.min(earliestEnd, end) >> shift;
    const lastBlock = (latestEnd + lengthField) >> shift;
    const inner = this.#inner._cloneInto(this.#innerScratch);
    // Blocks before the first one where the content can end are plain content: hashed as usual.
    const prefix = firstBlock << shift;
    if (prefix > 0) {
      inner.update(header);
      inner.update(data.subarray(0, prefix - headerLength));
    }
    const endBlock = end >> shift;
    const endOffset = end & (blockLength - 1);
    // 0x80 and the length field need 9 (17) bytes: past the block's end the length spills over.
    const lengthBlock = (end + lengthField) >> shift;
    // The key pad block counts towards the message length.
    const bits = (blockLength + end) * 8;
    const view = this.#blockView;
    const state = this.#state;
    state.fill(0);
    for (let i = firstBlock; i <= lastBlock; i++) {
      this.#loadBlock(header, data, i << shift);
      const isEndBlock = eqMask(i, endBlock);
      const isLengthBlock = eqMask(i, lengthBlock);
      // A length block that is not the end block holds nothing but zeros and the length.
      const keep = ~isLengthBlock | isEndBlock;
      for (let at = 0; at < blockLength; at += 4) {
        // In the end block, of this big-endian word keep the bytes before endOffset, put 0x80
        // at endOffset and zero the rest; `d` is how many of its bytes come before endOffset.
        const d = endOffset - at;
        const atLeastZero = d & ~(d >> 31);
        const kept = atLeastZero - ((atLeastZero - 4) & ~ltMask(atLeastZero, 4));
        // Two shifts of up to 16 bits: one shift by 32 would be a shift by 0 in JavaScript.
        const keptMask = ~((-1 >>> (4 * kept)) >>> (4 * kept));
        const marker = (0x80 << (8 * (3 - d))) & ~ltMask(d, 0) & ltMask(d, 4);
        const word = view.getUint32(at);
        const ended = (word & keptMask) | marker;
        view.setUint32(at, ((word & ~isEndBlock) | (ended & isEndBlock)) & keep);
      }
      // In the length block its length field is zero here; the length is below 2^32 bits.
      view.setUint32(blockLength - 4, view.getUint32(blockLength - 4) | (bits & isLengthBlock));
      inner.process(view, 0);
      const words = inner.get();
      for (let w = 0; w < state.length; w++) state[w] = state[w]! | (words[w]! & isLengthBlock);
    }
    // The message schedule and the block held record bytes.
    inner.roundClean();
    this.#block.fill(0);
    const digestView = this.#digestView;
    for (let w = 0; w < state.length; w++) digestView.setUint32(4 * w, state[w]!);
    state.fill(0);
    this.#finishOuter(out);
  }

  /** Zeroes the saved states; the object cannot be used afterwards. */
  destroy(): void {
    for (
      const h of [
        this.#inner,
        this.#outer,
        this.#innerScratch,
        this.#outerScratch,
      ]
    ) {
      h.destroy();
    }
    this.#digest.fill(0);
    this.#block.fill(0);
    this.#state.fill(0);
  }

  /** @returns A description without key material. */
  toString(): string {
    return `PrekeyedHmac(${this.outputLength * 8} bit)`;
  }

  /** @returns The same redacted text as `toString`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /**
   * Copies one block, bytes [from, from + block length), of header ‖ data into #block, zeros past the end. Every
   * length here depends only on `from` and the public sizes.
   */
  #loadBlock(header: Uint8Array, data: Uint8Array, from: number): void {
    const block = this.#block;
    const blockLength = this.#blockLength;
    let filled = 0;
    if (from < header.length) {
      block.set(header.subarray(from));
      filled = header.length - from;
    }
    const dataFrom = from + filled - header.length;
    const take = Math.max(0, Math.min(blockLength - filled, data.length - dataFrom));
    block.set(data.subarray(dataFrom, dataFrom + take), filled);
    block.fill(0, filled + take);
  }

  #finish(inner: HashState, out: Uint8Array): void {
    inner.digestInto(this.#digest);
    this.#finishOuter(out);
  }

  /** The outer hash over #digest, which always takes one digest-sized input. */
  #finishOuter(out: Uint8Array): void {
    const outer = this.#outer._cloneInto(this.#outerScratch);
    outer.update(this.#digest);
    outer.digestInto(out);
  }
}
