/**
 * HMAC-SHA1/SHA256 with the key pads hashed once: per message only the saved inner and outer
 * states are cloned (into reused scratch objects), which saves two compressions and the
 * allocations of a fresh `hmac()` per record. Internal to the record layer.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** The noble hash methods we use on pre-keyed states. */
interface HashState {
  update(data: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
  _cloneInto(to?: HashState): HashState;
  destroy(): void;
}

/** The key pad occupies exactly one hash block (64 bytes for SHA-1 and SHA-256). */
const HASH_BLOCK = 64;
/** A finalisation fits in one block when at most 55 bytes are pending, else it takes two. */
const ONE_BLOCK_FINAL_LIMIT = HASH_BLOCK - 9;

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
  readonly #restScratch: HashState;
  readonly #outerScratch: HashState;
  readonly #digest: Uint8Array;
  readonly #dummyBlock = new Uint8Array(HASH_BLOCK);

  /**
   * Hashes the key pads.
   *
   * @param algorithm The hash.
   * @param key The MAC key (not kept by reference).
   */
  constructor(algorithm: "sha1" | "sha256", key: Uint8Array) {
    const keyed = hmac.create(algorithm === "sha1" ? sha1 : sha256, key);
    this.#inner = keyed.iHash as HashState;
    this.#outer = keyed.oHash as HashState;
    this.#innerScratch = this.#inner._cloneInto();
    this.#restScratch = this.#inner._cloneInto();
    this.#outerScratch = this.#outer._cloneInto();
    this.outputLength = algorithm === "sha1" ? 20 : 32;
    this.#digest = new Uint8Array(this.outputLength);
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
   * HMAC over header ‖ data[0, length), costing the same number of hash compressions for
   * every `length` from 0 to data.length - 1 (the Lucky 13 countermeasure of s2n).
   *
   * Lucky 13 (AlFardan and Paterson 2013) measures how many compression-function calls the
   * MAC check of a MAC-then-encrypt record makes: a longer padding leaves a shorter content,
   * so fewer blocks are hashed, and the time difference leaks plaintext bytes. Here the work
   * is padded back up to the maximum.
   *
   * @param header The 13-byte MAC header (its length field may itself be secret).
   * @param data Decrypted content ‖ MAC ‖ padding ‖ padding_length.
   * @param length How many bytes of `data` are content (secret).
   * @param out Receives the MAC.
   */
  macConstantCost(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void {
    const inner = this.#inner._cloneInto(this.#innerScratch);
    inner.update(header);
    inner.update(data.subarray(0, length));
    // A copy of the state keeps hashing the rest of the record (received MAC and padding),
    // so the bytes hashed in total are always data.length - 1, whatever `length` is.
    const rest = inner._cloneInto(this.#restScratch);
    rest.update(data.subarray(length, data.length - 1));
    // Finalising `inner` takes one compression, or two when more than 55 bytes are pending
    // in its last block, which again depends on `length`. When it takes one, one dummy block
    // goes into `rest`: 64 bytes added to any state complete exactly one block. The count is
    // computed with a sign mask rather than a comparison, so no branch depends on it here.
    const pending = (HASH_BLOCK + header.length + length) & (HASH_BLOCK - 1);
    const oneBlockFinal = ((ONE_BLOCK_FINAL_LIMIT - pending) >> 31) + 1;
    rest.update(this.#dummyBlock.subarray(0, oneBlockFinal * HASH_BLOCK));
    // The outer hash always takes one digest-sized input: constant.
    this.#finish(inner, out);
  }

  /** Zeroes the saved states; the object cannot be used afterwards. */
  destroy(): void {
    for (
      const h of [
        this.#inner,
        this.#outer,
        this.#innerScratch,
        this.#restScratch,
        this.#outerScratch,
      ]
    ) {
      h.destroy();
    }
    this.#digest.fill(0);
  }

  /** @returns A description without key material. */
  toString(): string {
    return `PrekeyedHmac(${this.outputLength * 8} bit)`;
  }

  /** @returns The same redacted text as `toString`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #finish(inner: HashState, out: Uint8Array): void {
    inner.digestInto(this.#digest);
    const outer = this.#outer._cloneInto(this.#outerScratch);
    outer.update(this.#digest);
    outer.digestInto(out);
  }
}
