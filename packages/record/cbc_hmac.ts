/**
 * AES-CBC + HMAC record protection for TLS 1.2 and DTLS 1.2 (RFC 5246 §6.2.3.2), in the
 * classic MAC-then-encrypt order and in Encrypt-then-MAC (RFC 7366).
 *
 * Speed comes from doing per key what noble's one-shot helpers redo per call: the AES key
 * schedule is expanded once, the HMAC inner and outer pads are hashed once and their states
 * cloned per record, records are encrypted in place in the buffer that is returned, and IVs
 * come from a pooled random buffer.
 *
 * @module
 */

import { constantTimeEqual } from "./constant_time.ts";
import { unsafe as aes } from "@noble/ciphers/aes.js";
import {
  badRecordMac,
  BLOCK,
  cbcDecryptInPlace,
  cbcEncryptInPlace,
  checkKeyLengths,
  checkPlaintextLength,
  describeProtector,
  encryptThenMacLengthOk,
  fillIv,
  fillPadding,
  MacHeader,
  MacThenEncryptCheck,
  macThenEncryptLengthOk,
  roundUpToBlock,
  unpadVerified,
  words,
} from "./_cbc_common.ts";
import { PrekeyedHmac } from "./_prekeyed_hmac.ts";
import type { CbcCipherSuite } from "./cipher_suite.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";

/** Options for {@linkcode CbcHmacProtector}. */
export interface CbcHmacProtectorOptions {
  /** The negotiated suite; it fixes the key lengths and the MAC. */
  suite: CbcCipherSuite;
  /** True when both sides agreed on encrypt_then_mac (RFC 7366). */
  encryptThenMac: boolean;
  /** The AES key for this direction (16 or 32 bytes, as the suite says). Not kept by reference. */
  encKey: Uint8Array;
  /** The HMAC key for this direction (20 or 32 bytes, as the suite says). Not kept by reference. */
  macKey: Uint8Array;
  /**
   * Source of explicit IVs. Tests pass a fixed one to compare records byte for byte; leave it
   * unset in real use. @default {a pooled `crypto.getRandomValues` buffer}
   */
  random?: (n: number) => Uint8Array;
}

// noble's AES core works on little-endian 32-bit words; a Uint32Array view over our byte
// buffers only gives it those on a little-endian host, which every Deno target is.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * AES-CBC + HMAC-SHA1/SHA256 protection of one direction of one epoch.
 *
 * `seal` returns IV ‖ ciphertext (‖ MAC with Encrypt-then-MAC), `open` returns the content.
 * Every authentication or padding failure is the same `bad_record_mac` alert, and in
 * MAC-then-encrypt mode `open` does the same work whatever the padding was (Lucky 13,
 * AlFardan and Paterson 2013).
 *
 * @example Sealing and opening an application_data record
 * ```ts
 * import { CbcHmacProtector, CipherSuites } from "@anchortls/record";
 * const keys = {
 *   suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
 *   encryptThenMac: true,
 *   encKey: new Uint8Array(16).fill(1),
 *   macKey: new Uint8Array(20).fill(2),
 * };
 * const context = { type: 23, version: 0x0303, sequence: 0n };
 * const fragment = new CbcHmacProtector(keys).seal(context, new TextEncoder().encode("hi"));
 * new CbcHmacProtector(keys).open(context, fragment); // Uint8Array [104, 105]
 * ```
 */
export class CbcHmacProtector implements RecordProtector {
  /** IV (16) + MAC + at most 16 bytes of padding. */
  readonly maxExpansion: number;
  readonly #suite: CbcCipherSuite;
  readonly #encryptThenMac: boolean;
  readonly #random: ((n: number) => Uint8Array) | undefined;
  readonly #macLength: number;
  #destroyed = false;
  readonly #encSchedule: Uint32Array;
  readonly #decSchedule: Uint32Array;
  readonly #hmac: PrekeyedHmac;
  readonly #header = new MacHeader();
  readonly #macThenEncryptCheck: MacThenEncryptCheck;
  readonly #computedMac: Uint8Array;

  /**
   * Expands the AES key schedules and pre-hashes the HMAC pads.
   *
   * @param options Suite, mode and this direction's keys.
   * @throws {RangeError} When a key has the wrong length for the suite.
   */
  constructor(options: CbcHmacProtectorOptions) {
    const { suite, encKey, macKey } = options;
    if (!littleEndian) throw new RangeError("CbcHmacProtector needs a little-endian host");
    checkKeyLengths(options);
    this.#suite = suite;
    this.#encryptThenMac = options.encryptThenMac;
    this.#random = options.random;
    this.#macLength = suite.macLength;
    this.maxExpansion = suite.recordIvLength + suite.macLength + BLOCK;
    this.#encSchedule = aes.expandKeyLE(encKey);
    this.#decSchedule = aes.expandKeyDecLE(encKey);
    this.#hmac = new PrekeyedHmac(suite.macAlgorithm, macKey);
    this.#macThenEncryptCheck = new MacThenEncryptCheck(suite.macLength);
    this.#computedMac = new Uint8Array(suite.macLength);
  }

  /**
   * Protects one fragment: a fresh random explicit IV, then MAC-then-encrypt or
   * Encrypt-then-MAC as configured.
   *
   * @param context Type, version and the 64-bit sequence number the MAC binds.
   * @param plaintext At most 2^14 bytes.
   * @returns IV ‖ ciphertext, plus the MAC at the end in Encrypt-then-MAC mode.
   * @throws {RangeError} When the plaintext is longer than 2^14 bytes.
   */
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array {
    this.#checkUsable();
    const length = plaintext.length;
    checkPlaintextLength(length);
    const macLength = this.#macLength;
    if (this.#encryptThenMac) {
      const encrypted = BLOCK + roundUpToBlock(length + 1);
      // One allocation, and it is the record: IV, content and padding are written in place,
      // encrypted in place, then the MAC over IV ‖ ciphertext is written behind them.
      const out = new Uint8Array(encrypted + macLength);
      fillIv(out, this.#random);
      out.set(plaintext, BLOCK);
      fillPadding(out.subarray(0, encrypted), BLOCK + length);
      cbcEncryptInPlace(this.#encSchedule, words(out), 4, encrypted >>> 2);
      const header = this.#header.set(context, encrypted);
      this.#hmac.mac([header, out.subarray(0, encrypted)], out.subarray(encrypted));
      return out;
    }
    const out = new Uint8Array(BLOCK + roundUpToBlock(length + macLength + 1));
    fillIv(out, this.#random);
    out.set(plaintext, BLOCK);
    const header = this.#header.set(context, length);
    this.#hmac.mac([header, plaintext], out.subarray(BLOCK + length, BLOCK + length + macLength));
    fillPadding(out, BLOCK + length + macLength);
    cbcEncryptInPlace(this.#encSchedule, words(out), 4, out.length >>> 2);
    return out;
  }

  /**
   * Authenticates and decrypts one fragment.
   *
   * @param context Type, version and the 64-bit sequence number the MAC must bind.
   * @param fragment IV ‖ ciphertext (‖ MAC).
   * @returns The content.
   * @throws {TlsAlertError} `bad_record_mac` for every failure: short or misaligned fragment,
   *   bad padding, wrong MAC.
   */
  open(context: RecordContext, fragment: Uint8Array): Uint8Array {
    this.#checkUsable();
    return this.#encryptThenMac
      ? this.#openEncryptThenMac(context, fragment)
      : this.#openMacThenEncrypt(context, fragment);
  }

  /** Refuses work once the keys are wiped: zero keys would make records that look valid. */
  #checkUsable(): void {
    if (this.#destroyed) throw new TypeError("record protector was destroyed");
  }

  /**
   * Wipes the key schedules and HMAC states; seal and open throw afterwards.
   */
  destroy(): void {
    this.#destroyed = true;
    this.#encSchedule.fill(0);
    this.#decSchedule.fill(0);
    this.#hmac.destroy();
    this.#macThenEncryptCheck.destroy();
    this.#computedMac.fill(0);
  }

  /**
   * Names the protector without its keys.
   *
   * @returns The class, suite and mode.
   */
  toString(): string {
    return describeProtector("CbcHmacProtector", this.toJSON());
  }

  /**
   * Serialises the protector without its keys.
   *
   * @returns The suite and mode only.
   */
  toJSON(): { suite: string; encryptThenMac: boolean } {
    return { suite: this.#suite.name, encryptThenMac: this.#encryptThenMac };
  }

  /**
   * What `console.log` and `Deno.inspect` print: the same redacted text as `toString`.
   *
   * @returns The class, suite and mode.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #openEncryptThenMac(context: RecordContext, fragment: Uint8Array): Uint8Array {
    const encrypted = fragment.length - this.#macLength;
    // Lengths are on the wire, so branching on them reveals nothing.
    if (!encryptThenMacLengthOk(encrypted)) throw badRecordMac();
    // RFC 7366 §3: verify the MAC over IV ‖ ciphertext before decrypting anything, so a
    // forged record never reaches the padding check and there is no padding oracle at all.
    const header = this.#header.set(context, encrypted);
    this.#hmac.mac([header, fragment.subarray(0, encrypted)], this.#computedMac);
    if (!constantTimeEqual(this.#computedMac, fragment.subarray(encrypted))) throw badRecordMac();
    // A copy is needed anyway (the caller's bytes stay intact, and a fresh buffer is
    // word-aligned for the AES core); decrypting it in place avoids a second one.
    const buf = fragment.slice(0, encrypted);
    cbcDecryptInPlace(this.#decSchedule, words(buf), encrypted >>> 2);
    return unpadVerified(buf.subarray(BLOCK));
  }

  #openMacThenEncrypt(context: RecordContext, fragment: Uint8Array): Uint8Array {
    if (!macThenEncryptLengthOk(fragment.length, this.#macLength)) throw badRecordMac();
    const buf = fragment.slice();
    cbcDecryptInPlace(this.#decSchedule, words(buf), buf.length >>> 2);
    const plain = buf.subarray(BLOCK);
    return plain.subarray(0, this.#macThenEncryptCheck.contentLength(context, plain, this.#hmac));
  }
}
