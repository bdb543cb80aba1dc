/**
 * AES-CBC + HMAC record protection for TLS 1.2 and DTLS 1.2 (RFC 5246 §6.2.3.2), in the
 * classic MAC-then-encrypt order and in Encrypt-then-MAC (RFC 7366): the record layout, once,
 * over a {@linkcode CbcHmacEngine} that does the AES-CBC and the HMAC where the keys live.
 *
 * The record is one buffer, written and (where the engine can) encrypted in place; IVs come
 * from a pooled random buffer; a synchronous engine keeps every call synchronous.
 *
 * @module
 */

import { recordHeaderForMac } from "./connection_id.ts";
import { constantTimeEqual } from "./constant_time.ts";
import {
  badRecordMac,
  BLOCK,
  checkPlaintextLength,
  describeProtector,
  encryptThenMacLengthOk,
  fillIv,
  fillPadding,
  MacThenEncryptCheck,
  macThenEncryptLengthOk,
  roundUpToBlock,
  unpadVerified,
} from "./_cbc_common.ts";
import {
  type CbcHmacEngine,
  type CbcHmacEngineChoice,
  createCbcHmacEngine,
} from "./cbc_hmac_engine.ts";
import type { CbcCipherSuite } from "./cipher_suite.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";

/** Options for {@linkcode CbcHmacProtector}. */
export interface CbcHmacProtectorOptions {
  /** The negotiated suite; it fixes the key lengths and the MAC. */
  suite: CbcCipherSuite;
  /** True when both sides agreed on encrypt_then_mac (RFC 7366). */
  encryptThenMac: boolean;
  /**
   * The AES key for this direction (16 or 32 bytes, as the suite says), for a built-in
   * engine. Not kept by reference. Not given with an engine object.
   */
  encKey?: Uint8Array;
  /** The HMAC key for this direction, for a built-in engine. Not kept by reference. */
  macKey?: Uint8Array;
  /**
   * The AES-CBC and HMAC under the layout: a built-in engine by name (see
   * `createCbcHmacEngine`), or an engine of your own holding this direction's keys (a chip's).
   * @default {"auto"}
   */
  engine?: CbcHmacEngineChoice | CbcHmacEngine;
  /**
   * Source of explicit IVs. Tests pass a fixed one to compare records byte for byte; leave it
   * unset in real use. An engine with its own `randomIv` ignores it.
   * @default {a pooled `crypto.getRandomValues` buffer}
   */
  random?: (n: number) => Uint8Array;
}

type Maybe<T> = T | Promise<T>;

/** Runs `next` on a value or, for a promise, once it settles: sync engines stay sync. */
function then<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/**
 * AES-CBC + HMAC-SHA1/SHA256/SHA384 protection of one direction of one epoch: the record
 * layout, written once over an engine (see `cbc_hmac_engine.ts`).
 *
 * `seal` returns IV ‖ ciphertext (‖ MAC with Encrypt-then-MAC), `open` returns the content.
 * Every authentication or padding failure is the same `bad_record_mac` alert, and in
 * MAC-then-encrypt mode `open` does the same work whatever the padding was (Lucky 13,
 * AlFardan and Paterson 2013) with a software engine. With a synchronous engine (`noble`,
 * `node`, `auto`) `seal` and `open` return values; with an asynchronous one, promises, as the
 * {@linkcode RecordProtector} contract allows. Calls share no state across an await, so
 * several records may be in flight at once (in sequence-number order of the calls).
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
 * new CbcHmacProtector(keys).open(context, fragment as Uint8Array); // Uint8Array [104, 105]
 * ```
 */
export class CbcHmacProtector implements RecordProtector {
  /** IV (16) + MAC + at most 16 bytes of padding. */
  readonly maxExpansion: number;
  readonly #suite: CbcCipherSuite;
  readonly #encryptThenMac: boolean;
  readonly #random: ((n: number) => Uint8Array) | undefined;
  readonly #macLength: number;
  readonly #engine: CbcHmacEngine;
  readonly #macThenEncryptCheck: MacThenEncryptCheck;
  #destroyed = false;

  /**
   * Builds the engine (expanding key schedules, pre-hashing the HMAC pads) or takes the one
   * given.
   *
   * @param options Suite, mode, and this direction's keys or engine.
   * @throws {RangeError} When a key has the wrong length for the suite.
   * @throws {TypeError} For keys together with an engine object, or neither.
   */
  constructor(options: CbcHmacProtectorOptions) {
    const { suite, encKey, macKey, engine } = options;
    if (typeof engine === "object") {
      if (encKey || macKey) throw new TypeError("a CBC-HMAC engine object holds its own keys");
      this.#engine = engine;
    } else {
      if (!encKey || !macKey) throw new TypeError(`${suite.name} needs keys or an engine`);
      this.#engine = createCbcHmacEngine(suite, { encKey, macKey }, engine);
    }
    this.#suite = suite;
    this.#encryptThenMac = options.encryptThenMac;
    this.#random = options.random;
    this.#macLength = suite.macLength;
    this.maxExpansion = suite.recordIvLength + suite.macLength + BLOCK;
    this.#macThenEncryptCheck = new MacThenEncryptCheck(suite.macLength);
  }

  /**
   * Protects one fragment: a fresh random explicit IV, then MAC-then-encrypt or
   * Encrypt-then-MAC as configured.
   *
   * @param context Type, version and the 64-bit sequence number the MAC binds.
   * @param plaintext At most 2^14 bytes.
   * @returns IV ‖ ciphertext, plus the MAC at the end in Encrypt-then-MAC mode (a promise of
   *   it with an asynchronous engine).
   * @throws {RangeError} When the plaintext is longer than 2^14 bytes.
   */
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array> {
    this.#checkUsable();
    checkPlaintextLength(plaintext.length);
    this.#engine.checkRecordLength?.("seal", plaintext.length, this.#encryptThenMac);
    return then(
      this.#freshIv(),
      (iv) =>
        this.#encryptThenMac
          ? this.#sealEncryptThenMac(context, plaintext, iv)
          : this.#sealMacThenEncrypt(context, plaintext, iv),
    );
  }

  /**
   * Authenticates and decrypts one fragment.
   *
   * @param context Type, version and the 64-bit sequence number the MAC must bind.
   * @param fragment IV ‖ ciphertext (‖ MAC).
   * @returns The content (a promise of it with an asynchronous engine).
   * @throws {TlsAlertError} `bad_record_mac` for every failure: short or misaligned fragment,
   *   bad padding, wrong MAC.
   */
  open(context: RecordContext, fragment: Uint8Array): Uint8Array | Promise<Uint8Array> {
    this.#checkUsable();
    this.#engine.checkRecordLength?.("open", fragment.length, this.#encryptThenMac);
    return this.#encryptThenMac
      ? this.#openEncryptThenMac(context, fragment)
      : this.#openMacThenEncrypt(context, fragment);
  }

  /** Refuses work once the keys are wiped: zero keys would make records that look valid. */
  #checkUsable(): void {
    if (this.#destroyed) throw new TypeError("record protector was destroyed");
  }

  /**
   * Wipes the engine's keys and the check's buffers; seal and open throw afterwards.
   */
  destroy(): void {
    this.#destroyed = true;
    this.#engine.destroy?.();
    this.#macThenEncryptCheck.destroy();
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

  #freshIv(): Maybe<Uint8Array> {
    if (this.#engine.randomIv) return this.#engine.randomIv();
    const iv = new Uint8Array(BLOCK);
    fillIv(iv, this.#random);
    return iv;
  }

  #sealEncryptThenMac(
    context: RecordContext,
    plaintext: Uint8Array,
    iv: Uint8Array,
  ): Maybe<Uint8Array> {
    const length = plaintext.length;
    const encrypted = BLOCK + roundUpToBlock(length + 1);
    // One allocation, and it is the record: IV, content and padding are written in place,
    // encrypted (in place where the engine can), then the MAC over IV ‖ ciphertext behind them.
    const out = new Uint8Array(encrypted + this.#macLength);
    out.set(iv);
    out.set(plaintext, BLOCK);
    fillPadding(out.subarray(0, encrypted), BLOCK + length);
    const blocks = out.subarray(BLOCK, encrypted);
    return then(this.#engine.encrypt(out.subarray(0, BLOCK), blocks), (ciphertext) => {
      if (ciphertext !== blocks) out.set(ciphertext, BLOCK);
      const macAt = out.subarray(encrypted);
      const header = recordHeaderForMac(context, encrypted);
      return then(this.#engine.mac([header, out.subarray(0, encrypted)], macAt), (mac) => {
        if (mac !== macAt) macAt.set(mac);
        return out;
      });
    });
  }

  #sealMacThenEncrypt(
    context: RecordContext,
    plaintext: Uint8Array,
    iv: Uint8Array,
  ): Maybe<Uint8Array> {
    const length = plaintext.length;
    const macLength = this.#macLength;
    const out = new Uint8Array(BLOCK + roundUpToBlock(length + macLength + 1));
    out.set(iv);
    out.set(plaintext, BLOCK);
    const macAt = out.subarray(BLOCK + length, BLOCK + length + macLength);
    return then(
      this.#engine.mac([recordHeaderForMac(context, length), plaintext], macAt),
      (mac) => {
        if (mac !== macAt) macAt.set(mac);
        fillPadding(out, BLOCK + length + macLength);
        const blocks = out.subarray(BLOCK);
        return then(this.#engine.encrypt(out.subarray(0, BLOCK), blocks), (ciphertext) => {
          if (ciphertext !== blocks) out.set(ciphertext, BLOCK);
          return out;
        });
      },
    );
  }

  #openEncryptThenMac(context: RecordContext, fragment: Uint8Array): Maybe<Uint8Array> {
    const encrypted = fragment.length - this.#macLength;
    // Lengths are on the wire, so branching on them reveals nothing.
    if (!encryptThenMacLengthOk(encrypted)) throw badRecordMac();
    // Our copy: the caller's bytes stay intact, nothing can change them while an engine
    // works, and a fresh buffer is word-aligned for decrypting in place.
    const buf = fragment.slice();
    const body = buf.subarray(0, encrypted);
    const received = buf.subarray(encrypted);
    const header = recordHeaderForMac(context, encrypted);
    const iv = buf.slice(0, BLOCK);
    const decrypt = () => this.#engine.decrypt(iv, buf.subarray(BLOCK, encrypted));
    const finish = (mac: Uint8Array, plain: Uint8Array): Uint8Array => {
      if (!constantTimeEqual(mac, received)) {
        plain.fill(0);
        throw badRecordMac();
      }
      return unpadVerified(plain);
    };
    if (this.#engine.concurrent) {
      // RFC 7366 §3 asks for the MAC to be checked before decryption, so that no padding check
      // runs on forged data. Both calls start at once here (one round trip instead of two),
      // and that still holds: nothing looks at the decrypted bytes until the MAC verified, and
      // a failure waits for both, so its timing says nothing either.
      const mac = this.#engine.mac([header, body]);
      const plain = decrypt();
      return Promise.all([mac, plain]).then(([m, p]) => finish(m, p));
    }
    // MAC first, then decrypt: a forged record never reaches the padding check.
    return then(this.#engine.mac([header, body]), (mac) => {
      if (!constantTimeEqual(mac, received)) throw badRecordMac();
      return then(decrypt(), (plain) => finish(mac, plain));
    });
  }

  #openMacThenEncrypt(context: RecordContext, fragment: Uint8Array): Maybe<Uint8Array> {
    if (!macThenEncryptLengthOk(fragment.length, this.#macLength)) throw badRecordMac();
    const buf = fragment.slice();
    const decrypted = this.#engine.decrypt(buf.subarray(0, BLOCK), buf.subarray(BLOCK));
    return then(decrypted, (plain) => {
      const check = this.#macThenEncryptCheck;
      const engine = this.#engine;
      if (engine.macConstantCost) {
        const constantCost = engine.macConstantCost.bind(engine);
        return plain.subarray(0, check.contentLength(context, plain, constantCost));
      }
      // An engine without the constant-cost MAC (a chip): the padding is still read with
      // masks and the MAC fetched from its secret offset without a secret-dependent load;
      // only the engine's own MAC time follows the content length.
      const { contentLength, good } = check.unpad(plain);
      const content = plain.subarray(0, contentLength);
      return then(engine.mac([recordHeaderForMac(context, contentLength), content]), (mac) => {
        check.verify(plain, contentLength, good, mac);
        return content;
      });
    });
  }
}
