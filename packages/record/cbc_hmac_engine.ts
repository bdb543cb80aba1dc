/**
 * The primitives under the CBC-HMAC record layout: a {@linkcode CbcHmacEngine} encrypts and
 * decrypts whole AES-CBC blocks and computes the HMAC, under one direction's keys. The layout
 * (IV, padding, MAC-then-encrypt or Encrypt-then-MAC, lengths, the constant-cost check, one
 * `bad_record_mac` for every failure) is {@linkcode CbcHmacProtector}'s, written once. Engines:
 *
 * - `noble` — @noble/ciphers' AES block function with the key schedule expanded once, and
 *   @noble/hashes HMAC with the pads hashed once: synchronous, in place, fastest for small
 *   records;
 * - `node` — Deno's built-in node:crypto (native AES-CBC and HMAC), synchronous;
 * - `webcrypto` — WebCrypto AES-CBC and HMAC under keys imported once, asynchronous; its calls
 *   run on other threads, so a record's MAC and decryption run at once;
 * - `auto` (the default) — `noble` below {@linkcode AUTO_NODE_THRESHOLD} bytes, `node` from
 *   there (bench/record_bench.ts, figures in bench/README.md);
 * - or an engine of your own whose keys live elsewhere (the MULTOS chip's is in
 *   `@anchortls/multos-apdu`).
 *
 * Every software engine opens MAC-then-encrypt records with the JavaScript constant-cost MAC
 * (`macConstantCost`): its MAC covers a length that depends on the padding, and only that
 * check does the same hash work for every padding.
 *
 * @module
 */

import { unsafe as aes } from "@noble/ciphers/aes.js";
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { cbcDecryptInPlace, cbcEncryptInPlace, words } from "./_cbc_common.ts";
import { PrekeyedHmac } from "./_prekeyed_hmac.ts";
import type { CbcCipherSuite } from "./cipher_suite.ts";

/**
 * One direction's AES-CBC and HMAC. A result may be a promise (an asynchronous engine). An
 * engine reads its inputs before it returns, so the layout may reuse them once a call returns.
 */
export interface CbcHmacEngine {
  /**
   * True when calls may run at once (they do not share state): the layout then starts the
   * MAC and the decryption of an Encrypt-then-MAC record together, and looks at the decrypted
   * bytes only after the MAC verified.
   */
  readonly concurrent?: boolean;
  /**
   * AES-CBC encryption of whole blocks, no padding added.
   *
   * @param iv The 16-byte IV.
   * @param blocks A multiple of 16 bytes; the engine may encrypt them in place.
   * @returns The ciphertext, as long as `blocks` (`blocks` itself when done in place).
   */
  encrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * AES-CBC decryption of whole blocks, no padding removed.
   *
   * @param iv The 16-byte IV.
   * @param blocks A multiple of 16 bytes; the engine may decrypt them in place.
   * @returns The plaintext, as long as `blocks`.
   */
  decrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * The HMAC over the parts, concatenated.
   *
   * @param parts The MAC input in pieces.
   * @param into Where to write it, if the engine can (its length is the MAC length).
   * @returns The MAC (`into` when written there).
   */
  mac(parts: readonly Uint8Array[], into?: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * The MAC over header ‖ data[0, length) with the same work for every length, for opening
   * MAC-then-encrypt records. An engine without it (a chip) has its `mac` called on the
   * content, whose length then shows in the engine's time, the channel RFC 5246 §6.2.3.2
   * accepts.
   */
  macConstantCost?(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void;
  /** A fresh 16-byte explicit IV; without it the layout draws one from `crypto`. */
  randomIv?(): Uint8Array | Promise<Uint8Array>;
  /**
   * Refuses, before anything is computed, a record the engine cannot take (a chip whose
   * command buffer it would overflow), with the error to report.
   *
   * @param operation Sealing a plaintext or opening a fragment.
   * @param length The plaintext or fragment length.
   * @param encryptThenMac The record layout.
   */
  checkRecordLength?(operation: "seal" | "open", length: number, encryptThenMac: boolean): void;
  /** Wipes the engine's keys. */
  destroy?(): void;
}

/** The built-in engines by name; see the module documentation. */
export type CbcHmacEngineChoice = "auto" | "noble" | "node" | "webcrypto";

/**
 * From this many bytes of a call's input on, `auto` uses node:crypto instead of noble: where
 * its native speed outweighs its per-call cost (bench/README.md).
 */
export const AUTO_NODE_THRESHOLD = 1024;

/** The keys of one direction. */
export interface CbcHmacKeys {
  /** The AES key (16 or 32 bytes, as the suite says). Copied. */
  readonly encKey: Uint8Array;
  /** The HMAC key (the suite's MAC key length). Copied. */
  readonly macKey: Uint8Array;
}

/**
 * Makes a built-in engine for one direction's keys.
 *
 * @example
 * ```ts
 * import { CipherSuites, createCbcHmacEngine } from "@anchortls/record";
 * const engine = createCbcHmacEngine(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, {
 *   encKey: new Uint8Array(16),
 *   macKey: new Uint8Array(32),
 * }, "node");
 * (engine.mac([new Uint8Array(3)]) as Uint8Array).length; // 32
 * ```
 *
 * @param suite The suite: its MAC algorithm and key lengths.
 * @param keys This direction's keys.
 * @param choice Which engine. @default {"auto"}
 * @returns The engine.
 * @throws {RangeError} When a key has the wrong length for the suite.
 */
export function createCbcHmacEngine(
  suite: CbcCipherSuite,
  keys: CbcHmacKeys,
  choice: CbcHmacEngineChoice = "auto",
): CbcHmacEngine {
  if (keys.encKey.length !== suite.encKeyLength) {
    throw new RangeError(`${suite.name} needs a ${suite.encKeyLength}-byte encryption key`);
  }
  if (keys.macKey.length !== suite.macKeyLength) {
    throw new RangeError(`${suite.name} needs a ${suite.macKeyLength}-byte MAC key`);
  }
  // One pre-keyed HMAC per direction serves the constant-cost check of every engine.
  const hmac = new PrekeyedHmac(suite.macAlgorithm, keys.macKey);
  switch (choice) {
    case "noble":
      return new NobleEngine(keys.encKey, hmac);
    case "node":
      return new NodeEngine(suite, keys, hmac);
    case "webcrypto":
      return new WebCryptoEngine(suite, keys, hmac);
    case "auto":
      return new SizeSplitEngine(
        new NobleEngine(keys.encKey, hmac),
        new NodeEngine(suite, keys, hmac),
        AUTO_NODE_THRESHOLD,
      );
  }
}

// noble's AES core works on little-endian 32-bit words; a Uint32Array view over our byte
// buffers only gives it those on a little-endian host, which every Deno target is.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `bytes` as words, copied first when its offset is not 4-byte aligned. */
function alignedWords(bytes: Uint8Array): { bytes: Uint8Array; words: Uint32Array } {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return { bytes: aligned, words: words(aligned) };
}

/** AES-CBC on noble's block function, in place, and the pre-keyed JavaScript HMAC. */
class NobleEngine implements CbcHmacEngine {
  readonly #encSchedule: Uint32Array;
  readonly #decSchedule: Uint32Array;
  readonly #hmac: PrekeyedHmac;

  constructor(encKey: Uint8Array, hmac: PrekeyedHmac) {
    if (!littleEndian) throw new RangeError("the noble CBC engine needs a little-endian host");
    this.#encSchedule = aes.expandKeyLE(encKey);
    this.#decSchedule = aes.expandKeyDecLE(encKey);
    this.#hmac = hmac;
  }

  encrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array {
    const target = alignedWords(blocks);
    cbcEncryptInPlace(this.#encSchedule, alignedWords(iv).words, target.words);
    return target.bytes;
  }

  decrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array {
    const target = alignedWords(blocks);
    // The IV is read before the first block is overwritten: copy it when it is the block
    // just before `blocks` in the same buffer (a fragment decrypted in place).
    cbcDecryptInPlace(this.#decSchedule, words(iv.slice()), target.words);
    return target.bytes;
  }

  mac(parts: readonly Uint8Array[], into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(this.#hmac.outputLength);
    this.#hmac.mac(parts, out);
    return out;
  }

  macConstantCost(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void {
    this.#hmac.macConstantCost(header, data, length, out);
  }

  destroy(): void {
    this.#encSchedule.fill(0);
    this.#decSchedule.fill(0);
    this.#hmac.destroy();
  }
}

/** A node Buffer as a plain Uint8Array, copied when it is a view into node's shared pool. */
function ownBytes(buffer: Uint8Array): Uint8Array {
  return buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength
    ? new Uint8Array(buffer.buffer, 0, buffer.length)
    : new Uint8Array(buffer);
}

const NODE_HASH = { sha1: "sha1", sha256: "sha256", sha384: "sha384" } as const;

/** node:crypto's native AES-CBC (padding off) and HMAC; the keys are our copies. */
class NodeEngine implements CbcHmacEngine {
  readonly #encKey: Uint8Array;
  readonly #macKey: Uint8Array;
  readonly #cipher: "aes-128-cbc" | "aes-256-cbc";
  readonly #hash: "sha1" | "sha256" | "sha384";
  readonly #hmac: PrekeyedHmac;

  constructor(suite: CbcCipherSuite, keys: CbcHmacKeys, hmac: PrekeyedHmac) {
    this.#encKey = keys.encKey.slice();
    this.#macKey = keys.macKey.slice();
    this.#cipher = keys.encKey.length === 16 ? "aes-128-cbc" : "aes-256-cbc";
    this.#hash = NODE_HASH[suite.macAlgorithm];
    this.#hmac = hmac;
  }

  encrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array {
    const cipher = createCipheriv(this.#cipher, this.#encKey, iv).setAutoPadding(false);
    const out = cipher.update(blocks);
    cipher.final();
    return ownBytes(out);
  }

  decrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array {
    const decipher = createDecipheriv(this.#cipher, this.#encKey, iv).setAutoPadding(false);
    const out = decipher.update(blocks);
    decipher.final();
    return ownBytes(out);
  }

  mac(parts: readonly Uint8Array[], into?: Uint8Array): Uint8Array {
    const hmac = createHmac(this.#hash, this.#macKey);
    for (const part of parts) hmac.update(part);
    const digest = hmac.digest();
    if (!into) return new Uint8Array(digest);
    into.set(digest);
    return into;
  }

  macConstantCost(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void {
    this.#hmac.macConstantCost(header, data, length, out);
  }

  destroy(): void {
    this.#encKey.fill(0);
    this.#macKey.fill(0);
    this.#hmac.destroy();
  }
}

const WEBCRYPTO_HASH = { sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384" } as const;
/** A whole PKCS#7 padding block: what WebCrypto's AES-CBC adds and expects to remove. */
const PKCS7_BLOCK = 0x10;
const BLOCK = 16;

/** WebCrypto's AES-CBC and HMAC under keys imported once; its calls may overlap. */
class WebCryptoEngine implements CbcHmacEngine {
  readonly concurrent = true;
  readonly #keys: Promise<{ aes: CryptoKey; mac: CryptoKey }>;
  /** For the one block the PKCS#7 trick of `decrypt` encrypts here. */
  readonly #encSchedule: Uint32Array;
  readonly #hmac: PrekeyedHmac;

  constructor(suite: CbcCipherSuite, keys: CbcHmacKeys, hmac: PrekeyedHmac) {
    // Copies, because WebCrypto takes only ArrayBuffer-backed views; wiped once imported.
    const encKey = keys.encKey.slice();
    const macKey = keys.macKey.slice();
    const hash = WEBCRYPTO_HASH[suite.macAlgorithm];
    this.#keys = Promise.all([
      crypto.subtle.importKey("raw", encKey, "AES-CBC", false, ["encrypt", "decrypt"]),
      crypto.subtle.importKey("raw", macKey, { name: "HMAC", hash }, false, ["sign"]),
    ]).then(([aes, mac]) => ({ aes, mac })).finally(() => {
      encKey.fill(0);
      macKey.fill(0);
    });
    // A failed import surfaces at the first record, not as an unhandled rejection.
    this.#keys.catch(() => {});
    this.#encSchedule = aes.expandKeyLE(keys.encKey);
    this.#hmac = hmac;
  }

  /** WebCrypto adds one PKCS#7 block, which is cut off. */
  async encrypt(iv: Uint8Array, blocks: Uint8Array): Promise<Uint8Array> {
    const input = blocks.slice();
    const params = { name: "AES-CBC", iv: iv.slice() };
    const out = await crypto.subtle.encrypt(params, (await this.#keys).aes, input);
    return new Uint8Array(out, 0, blocks.length);
  }

  /**
   * WebCrypto insists on removing a valid PKCS#7 padding, so one block is appended that
   * decrypts to a full PKCS#7 block (sixteen 0x10 bytes): C* = AES(K, 0x10… ⊕ C_last).
   * WebCrypto strips exactly that block and never looks at the TLS padding, so it cannot
   * become an oracle.
   */
  async decrypt(iv: Uint8Array, blocks: Uint8Array): Promise<Uint8Array> {
    const input = new Uint8Array(blocks.length + BLOCK);
    input.set(blocks);
    const extra = input.subarray(blocks.length);
    extra.set(blocks.subarray(blocks.length - BLOCK));
    for (let i = 0; i < BLOCK; i++) extra[i]! ^= PKCS7_BLOCK;
    aes.encryptBlock(this.#encSchedule, extra);
    const params = { name: "AES-CBC", iv: iv.slice() };
    return new Uint8Array(await crypto.subtle.decrypt(params, (await this.#keys).aes, input));
  }

  async mac(parts: readonly Uint8Array[]): Promise<Uint8Array> {
    let length = 0;
    for (const part of parts) length += part.length;
    const input = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      input.set(part, at);
      at += part.length;
    }
    return new Uint8Array(await crypto.subtle.sign("HMAC", (await this.#keys).mac, input));
  }

  macConstantCost(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void {
    this.#hmac.macConstantCost(header, data, length, out);
  }

  /** Wipes what is held in JavaScript; the CryptoKeys become unreachable with the engine. */
  destroy(): void {
    this.#encSchedule.fill(0);
    this.#hmac.destroy();
  }
}

/** Calls on small inputs to one engine, on large ones to another (lengths are public). */
class SizeSplitEngine implements CbcHmacEngine {
  readonly #small: CbcHmacEngine;
  readonly #large: CbcHmacEngine;
  readonly #threshold: number;

  constructor(small: CbcHmacEngine, large: CbcHmacEngine, threshold: number) {
    this.#small = small;
    this.#large = large;
    this.#threshold = threshold;
  }

  #pick(length: number): CbcHmacEngine {
    return length < this.#threshold ? this.#small : this.#large;
  }

  encrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#pick(blocks.length).encrypt(iv, blocks);
  }

  decrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#pick(blocks.length).decrypt(iv, blocks);
  }

  mac(parts: readonly Uint8Array[], into?: Uint8Array): Uint8Array | Promise<Uint8Array> {
    let length = 0;
    for (const part of parts) length += part.length;
    return this.#pick(length).mac(parts, into);
  }

  macConstantCost(header: Uint8Array, data: Uint8Array, length: number, out: Uint8Array): void {
    this.#small.macConstantCost!(header, data, length, out);
  }

  destroy(): void {
    this.#small.destroy?.();
    this.#large.destroy?.();
  }
}
