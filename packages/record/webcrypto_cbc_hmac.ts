/**
 * CBC-HMAC record protection that sends large records through WebCrypto (native AES-CBC and
 * HMAC, with AES-NI where the CPU has it) and small ones through the synchronous
 * {@linkcode CbcHmacProtector}. WebCrypto costs an async round trip per call, which only pays
 * off for records of a few KiB and more; see bench/README.md.
 *
 * @module
 */

import { unsafe as aes } from "@noble/ciphers/aes.js";
import {
  badRecordMac,
  BLOCK,
  cbcEncryptInPlace,
  checkKeyLengths,
  checkPlaintextLength,
  describeProtector,
  encryptThenMacLengthOk,
  fillIv,
  fillPadding,
  MacHeader,
  roundUpToBlock,
  unpadVerified,
  words,
} from "./_cbc_common.ts";
import { constantTimeEqual } from "./constant_time.ts";
import { CbcHmacProtector, type CbcHmacProtectorOptions } from "./cbc_hmac.ts";
import type { CbcCipherSuite } from "./cipher_suite.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";

/** Options for {@linkcode WebCryptoCbcHmacProtector.create}. */
export interface WebCryptoCbcHmacProtectorOptions extends CbcHmacProtectorOptions {
  /**
   * Plaintexts (when sealing) and Encrypt-then-MAC fragments (when opening) of at least this
   * many bytes go through WebCrypto; shorter ones, and every MAC-then-encrypt open, are handled
   * synchronously. @default {4096}
   */
  threshold?: number;
}

const MAC_HEADER = 13;
const WEBCRYPTO_HASH = { sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384" } as const;
/** A whole PKCS#7 padding block: what WebCrypto's AES-CBC adds and expects to remove. */
const PKCS7_BLOCK = 0x10;

/**
 * AES-CBC + HMAC protection of one direction of one epoch, using WebCrypto for records of
 * `threshold` bytes and more where no secret-dependent length exists: sealing, and opening
 * with Encrypt-then-MAC. A MAC-then-encrypt record is opened by {@linkcode CbcHmacProtector}'s
 * constant-cost check at every size, as its MAC covers a padding-dependent length. Records are
 * the same as `CbcHmacProtector`'s, and so is the error behaviour: one `bad_record_mac` for
 * every failure.
 *
 * Calls do not share state across an await, so several records may be sealed or opened at
 * once (in sequence-number order of the calls); that is how the record streams keep two
 * cores busy with a large write.
 *
 * `seal` and `open` return a promise for large records and a value for small ones, as the
 * {@linkcode RecordProtector} contract allows; the record streams await either.
 *
 * @example Protecting a 16 KiB record
 * ```ts
 * import { CipherSuites, WebCryptoCbcHmacProtector } from "@anchortls/record";
 * const keys = {
 *   suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
 *   encryptThenMac: true,
 *   encKey: crypto.getRandomValues(new Uint8Array(16)),
 *   macKey: crypto.getRandomValues(new Uint8Array(20)),
 * };
 * const p = await WebCryptoCbcHmacProtector.create(keys);
 * const context = { type: 23, version: 0x0303, sequence: 7n };
 * const fragment = await p.seal(context, new Uint8Array(16384));
 * (await p.open(context, fragment)).length; // 16384
 * ```
 */
export class WebCryptoCbcHmacProtector implements RecordProtector {
  /** IV (16) + MAC + at most 16 bytes of padding. */
  readonly maxExpansion: number;
  readonly #suite: CbcCipherSuite;
  readonly #encryptThenMac: boolean;
  readonly #random: ((n: number) => Uint8Array) | undefined;
  readonly #threshold: number;
  readonly #small: CbcHmacProtector;
  readonly #aesKey: CryptoKey;
  readonly #macKey: CryptoKey;
  readonly #encSchedule: Uint32Array;
  #destroyed = false;
  readonly #header = new MacHeader();

  private constructor(
    options: WebCryptoCbcHmacProtectorOptions,
    aesKey: CryptoKey,
    macKey: CryptoKey,
  ) {
    const { suite } = options;
    this.#suite = suite;
    this.#encryptThenMac = options.encryptThenMac;
    this.#random = options.random;
    this.#threshold = options.threshold ?? 4096;
    this.#small = new CbcHmacProtector(options);
    this.maxExpansion = this.#small.maxExpansion;
    this.#aesKey = aesKey;
    this.#macKey = macKey;
    this.#encSchedule = aes.expandKeyLE(options.encKey);
  }

  /**
   * Imports the keys into WebCrypto (as non-extractable keys) and prepares the synchronous
   * path.
   *
   * @param options Suite, mode, keys and the size threshold.
   * @returns The protector.
   * @throws {RangeError} When a key has the wrong length for the suite.
   */
  static async create(
    options: WebCryptoCbcHmacProtectorOptions,
  ): Promise<WebCryptoCbcHmacProtector> {
    checkKeyLengths(options);
    const hash = WEBCRYPTO_HASH[options.suite.macAlgorithm];
    // Copies, because WebCrypto takes only ArrayBuffer-backed views; wiped once imported.
    const encKey = options.encKey.slice();
    const macKey = options.macKey.slice();
    try {
      const [aesCryptoKey, macCryptoKey] = await Promise.all([
        crypto.subtle.importKey("raw", encKey, "AES-CBC", false, ["encrypt", "decrypt"]),
        crypto.subtle.importKey("raw", macKey, { name: "HMAC", hash }, false, ["sign"]),
      ]);
      return new WebCryptoCbcHmacProtector(options, aesCryptoKey, macCryptoKey);
    } finally {
      encKey.fill(0);
      macKey.fill(0);
    }
  }

  /**
   * Protects one fragment (see {@linkcode CbcHmacProtector.seal}).
   *
   * @param context Type, version and the 64-bit sequence number the MAC binds.
   * @param plaintext At most 2^14 bytes.
   * @returns The protected fragment, or a promise of it for large plaintexts.
   * @throws {RangeError} When the plaintext is longer than 2^14 bytes.
   */
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (this.#destroyed) throw new TypeError("record protector was destroyed");
    if (plaintext.length < this.#threshold) return this.#small.seal(context, plaintext);
    checkPlaintextLength(plaintext.length);
    return this.#encryptThenMac
      ? this.#sealEncryptThenMac(context, plaintext)
      : this.#sealMacThenEncrypt(context, plaintext);
  }

  /**
   * Authenticates and decrypts one fragment (see {@linkcode CbcHmacProtector.open}).
   *
   * @param context Type, version and the 64-bit sequence number the MAC must bind.
   * @param fragment IV ‖ ciphertext (‖ MAC).
   * @returns The content, or a promise of it for large fragments.
   * @throws {TlsAlertError} `bad_record_mac` for every failure (as a rejection for large
   *   fragments).
   */
  open(context: RecordContext, fragment: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (this.#destroyed) throw new TypeError("record protector was destroyed");
    // MAC-then-encrypt opens in JavaScript at every size: its MAC covers a padding-dependent
    // length, and only the constant-cost JavaScript check makes the same hash calls for every
    // padding; WebCrypto's per-call costs still showed 0.4–1.8 µs of padding dependence.
    if (!this.#encryptThenMac || fragment.length < this.#threshold) {
      return this.#small.open(context, fragment);
    }
    return this.#openEncryptThenMac(context, fragment);
  }

  /** Wipes the key material held in JavaScript; the WebCryptoKeys become unreachable with it. */
  destroy(): void {
    this.#destroyed = true;
    this.#small.destroy();
    this.#encSchedule.fill(0);
  }

  /**
   * Names the protector without its keys.
   *
   * @returns The class, suite and mode.
   */
  toString(): string {
    return describeProtector("WebCryptoCbcHmacProtector", this.toJSON());
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

  /** CBC encryption of whole blocks: WebCrypto adds one PKCS#7 block, which is cut off. */
  async #encrypt(
    iv: Uint8Array<ArrayBuffer>,
    blocks: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array> {
    const out = await crypto.subtle.encrypt({ name: "AES-CBC", iv }, this.#aesKey, blocks);
    return new Uint8Array(out, 0, blocks.length);
  }

  /**
   * CBC decryption of whole blocks whose last bytes are TLS padding, not PKCS#7. WebCrypto
   * insists on removing a valid PKCS#7 padding, so one block is appended that decrypts to a
   * full PKCS#7 block (sixteen 0x10 bytes): C* = AES(K, 0x10… ⊕ C_last). WebCrypto strips
   * exactly that block and never looks at the TLS padding, so it cannot become an oracle.
   */
  async #decrypt(iv: Uint8Array<ArrayBuffer>, ciphertext: Uint8Array): Promise<Uint8Array> {
    const input = new Uint8Array(ciphertext.length + BLOCK);
    input.set(ciphertext);
    const extra = input.subarray(ciphertext.length);
    extra.set(ciphertext.subarray(ciphertext.length - BLOCK));
    for (let i = 0; i < BLOCK; i++) extra[i]! ^= PKCS7_BLOCK;
    aes.encryptBlock(this.#encSchedule, extra);
    const out = await crypto.subtle.decrypt({ name: "AES-CBC", iv }, this.#aesKey, input);
    return new Uint8Array(out);
  }

  async #sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign("HMAC", this.#macKey, data));
  }

  async #sealEncryptThenMac(context: RecordContext, plaintext: Uint8Array): Promise<Uint8Array> {
    const length = plaintext.length;
    const encrypted = BLOCK + roundUpToBlock(length + 1);
    const macLength = this.#suite.macLength;
    // One buffer holds header ‖ IV ‖ ciphertext ‖ MAC: the MAC input is its head, the record
    // its tail, so the ciphertext is copied once (out of WebCrypto's result) and never again.
    const buf = new Uint8Array(MAC_HEADER + encrypted + macLength);
    buf.set(this.#header.set(context, encrypted));
    const iv = buf.subarray(MAC_HEADER, MAC_HEADER + BLOCK);
    fillIv(iv, this.#random);
    const body = new Uint8Array(encrypted - BLOCK);
    body.set(plaintext);
    fillPadding(body, length);
    // The MAC covers the ciphertext, so the two calls cannot overlap.
    buf.set(await this.#encrypt(iv, body), MAC_HEADER + BLOCK);
    buf.set(await this.#sign(buf.subarray(0, MAC_HEADER + encrypted)), MAC_HEADER + encrypted);
    return buf.subarray(MAC_HEADER);
  }

  async #sealMacThenEncrypt(context: RecordContext, plaintext: Uint8Array): Promise<Uint8Array> {
    const length = plaintext.length;
    const macLength = this.#suite.macLength;
    const macInput = new Uint8Array(MAC_HEADER + length);
    macInput.set(this.#header.set(context, length));
    macInput.set(plaintext, MAC_HEADER);
    const out = new Uint8Array(BLOCK + roundUpToBlock(length + macLength + 1));
    fillIv(out, this.#random);
    // CBC is a chain, and only its last blocks hold the MAC: the whole blocks of content are
    // encrypted by WebCrypto while WebCrypto computes the MAC (one async round trip, not two),
    // then the short tail (rest of the content, MAC, padding) is encrypted here, chained from
    // the last ciphertext block.
    const head = length - (length % BLOCK);
    const [mac, headCiphertext] = await Promise.all([
      this.#sign(macInput),
      // WebCrypto copies its inputs when called, so views are enough.
      head > 0
        ? this.#encrypt(out.subarray(0, BLOCK), macInput.subarray(MAC_HEADER, MAC_HEADER + head))
        : new Uint8Array(0),
    ]);
    out.set(headCiphertext, BLOCK);
    const tailAt = BLOCK + head;
    out.set(macInput.subarray(MAC_HEADER + head), tailAt);
    out.set(mac, BLOCK + length);
    fillPadding(out, BLOCK + length + macLength);
    cbcEncryptInPlace(this.#encSchedule, words(out), tailAt >>> 2, out.length >>> 2);
    return out;
  }

  async #openEncryptThenMac(context: RecordContext, fragment: Uint8Array): Promise<Uint8Array> {
    const encrypted = fragment.length - this.#suite.macLength;
    if (!encryptThenMacLengthOk(encrypted)) throw badRecordMac();
    const macInput = new Uint8Array(MAC_HEADER + encrypted);
    macInput.set(this.#header.set(context, encrypted));
    macInput.set(fragment.subarray(0, encrypted), MAC_HEADER);
    const received = fragment.slice(encrypted);
    // RFC 7366 §3 asks for the MAC to be checked before decryption, so that no padding check
    // can run on forged data. Both WebCrypto calls run at once here (one async round trip
    // instead of two), and that still holds: nothing looks at the decrypted bytes until the
    // MAC has verified, and a failure waits for both, so its timing says nothing either.
    // Both work on our copy of the fragment, which the caller cannot change meanwhile.
    const [mac, plain] = await Promise.all([
      this.#sign(macInput),
      this.#decrypt(
        macInput.slice(MAC_HEADER, MAC_HEADER + BLOCK),
        macInput.subarray(MAC_HEADER + BLOCK),
      ),
    ]);
    if (!constantTimeEqual(mac, received)) throw badRecordMac();
    return unpadVerified(plain);
  }
}
