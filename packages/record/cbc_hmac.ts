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

import { unsafe as aes } from "@noble/ciphers/aes.js";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import type { CipherSuite } from "./cipher_suite.ts";
import { PrekeyedHmac } from "./prekeyed_hmac.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";

/** Options for {@linkcode CbcHmacProtector}. */
export interface CbcHmacProtectorOptions {
  /** The negotiated suite; it fixes the key lengths and the MAC. */
  suite: CipherSuite;
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

const BLOCK = 16;
const MAX_PLAINTEXT = 1 << 14;
const MAX_CIPHERTEXT = MAX_PLAINTEXT + 2048;
/** seq_num(8) ‖ type(1) ‖ version(2) ‖ length(2): what the MAC binds besides the content. */
const MAC_HEADER = 13;
/** The largest padding TLS allows: padding_length is one byte (RFC 5246 §6.2.3.2). */
const MAX_PADDING = 255;

// noble's AES core works on little-endian 32-bit words; a Uint32Array view over our byte
// buffers only gives it those on a little-endian host, which every Deno target is.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * IVs drawn 4 KiB at a time: one `getRandomValues` call per 256 records instead of one per
 * record, which matters at small record sizes. Used bytes are zeroed so a later heap dump
 * cannot tell which IVs went out (they are public anyway, but stale randomness is not).
 */
class RandomPool {
  readonly #pool = new Uint8Array(4096);
  #offset = this.#pool.length;

  fill(out: Uint8Array): void {
    if (this.#offset + out.length > this.#pool.length) {
      crypto.getRandomValues(this.#pool);
      this.#offset = 0;
    }
    const end = this.#offset + out.length;
    out.set(this.#pool.subarray(this.#offset, end));
    this.#pool.fill(0, this.#offset, end);
    this.#offset = end;
  }
}

const sharedPool = new RandomPool();

/** A mask of all ones (-1) when a < b, else 0; for 0 ≤ a, b < 2^31, without a branch. */
function ltMask(a: number, b: number): number {
  return (a - b) >> 31;
}

/** A mask of all ones when a === b, else 0; for 0 ≤ a, b < 2^31, without a branch. */
function eqMask(a: number, b: number): number {
  return ((a ^ b) - 1) >> 31;
}

function badRecordMac(): TlsAlertError {
  // One message for every failure: the alert must not tell padding errors from MAC errors.
  return new TlsAlertError(AlertDescription.bad_record_mac, "record failed authentication");
}

function roundUpToBlock(n: number): number {
  return (n + BLOCK - 1) & ~(BLOCK - 1);
}

function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
}

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
  readonly #suite: CipherSuite;
  readonly #encryptThenMac: boolean;
  readonly #random: ((n: number) => Uint8Array) | undefined;
  readonly #macLength: number;
  readonly #encSchedule: Uint32Array;
  readonly #decSchedule: Uint32Array;
  readonly #hmac: PrekeyedHmac;
  readonly #header = new Uint8Array(MAC_HEADER);
  readonly #headerView = new DataView(this.#header.buffer);
  readonly #computedMac: Uint8Array;
  readonly #receivedMac: Uint8Array;
  readonly #rotatedMac: Uint8Array;

  /**
   * Expands the AES key schedules and pre-hashes the HMAC pads.
   *
   * @param options Suite, mode and this direction's keys.
   * @throws {RangeError} When a key has the wrong length for the suite.
   */
  constructor(options: CbcHmacProtectorOptions) {
    const { suite, encKey, macKey } = options;
    if (!littleEndian) throw new RangeError("CbcHmacProtector needs a little-endian host");
    if (encKey.length !== suite.encKeyLength) {
      throw new RangeError(`${suite.name} needs a ${suite.encKeyLength}-byte encryption key`);
    }
    if (macKey.length !== suite.macKeyLength) {
      throw new RangeError(`${suite.name} needs a ${suite.macKeyLength}-byte MAC key`);
    }
    this.#suite = suite;
    this.#encryptThenMac = options.encryptThenMac;
    this.#random = options.random;
    this.#macLength = suite.macLength;
    this.maxExpansion = suite.recordIvLength + suite.macLength + BLOCK;
    this.#encSchedule = aes.expandKeyLE(encKey);
    this.#decSchedule = aes.expandKeyDecLE(encKey);
    this.#hmac = new PrekeyedHmac(suite.macAlgorithm, macKey);
    this.#computedMac = new Uint8Array(suite.macLength);
    this.#receivedMac = new Uint8Array(suite.macLength);
    this.#rotatedMac = new Uint8Array(suite.macLength);
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
    const length = plaintext.length;
    if (length > MAX_PLAINTEXT) throw new RangeError("record plaintext longer than 2^14 bytes");
    const macLength = this.#macLength;
    if (this.#encryptThenMac) {
      const encrypted = roundUpToBlock(length + 1);
      // One allocation, and it is the record: IV, content and padding are written in place,
      // encrypted in place, then the MAC is written behind them.
      const out = new Uint8Array(BLOCK + encrypted + macLength);
      this.#fillIv(out);
      out.set(plaintext, BLOCK);
      out.fill(encrypted - length - 1, BLOCK + length, BLOCK + encrypted);
      this.#cbcEncrypt(words(out), (BLOCK + encrypted) >>> 2);
      this.#setHeader(context, BLOCK + encrypted);
      this.#hmac.mac(
        [this.#header, out.subarray(0, BLOCK + encrypted)],
        out.subarray(BLOCK + encrypted),
      );
      return out;
    }
    const encrypted = roundUpToBlock(length + macLength + 1);
    const out = new Uint8Array(BLOCK + encrypted);
    this.#fillIv(out);
    out.set(plaintext, BLOCK);
    this.#setHeader(context, length);
    this.#hmac.mac(
      [this.#header, plaintext],
      out.subarray(BLOCK + length, BLOCK + length + macLength),
    );
    // Minimal padding: every padding byte and padding_length itself hold the padding length.
    out.fill(encrypted - length - macLength - 1, BLOCK + length + macLength);
    this.#cbcEncrypt(words(out), out.length >>> 2);
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
    return this.#encryptThenMac
      ? this.#openEncryptThenMac(context, fragment)
      : this.#openMacThenEncrypt(context, fragment);
  }

  /**
   * Wipes the key schedules and HMAC states; the protector cannot be used afterwards.
   */
  destroy(): void {
    this.#encSchedule.fill(0);
    this.#decSchedule.fill(0);
    this.#hmac.destroy();
    this.#computedMac.fill(0);
    this.#receivedMac.fill(0);
    this.#rotatedMac.fill(0);
  }

  /** @returns A description without key material. */
  toString(): string {
    const mode = this.#encryptThenMac ? "encrypt_then_mac" : "mac_then_encrypt";
    return `CbcHmacProtector(${this.#suite.name}, ${mode})`;
  }

  /** @returns The suite and mode only; keys are never serialised. */
  toJSON(): { suite: string; encryptThenMac: boolean } {
    return { suite: this.#suite.name, encryptThenMac: this.#encryptThenMac };
  }

  /** @returns The same redacted text as `toString` for `console.log` / `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #fillIv(out: Uint8Array): void {
    const iv = out.subarray(0, BLOCK);
    if (this.#random) iv.set(this.#random(BLOCK).subarray(0, BLOCK));
    else sharedPool.fill(iv);
  }

  #setHeader(context: RecordContext, length: number): void {
    const view = this.#headerView;
    view.setBigUint64(0, BigInt.asUintN(64, context.sequence));
    view.setUint8(8, context.type);
    view.setUint16(9, context.version);
    view.setUint16(11, length);
  }

  /** CBC-encrypts words 4..end in place, chaining from the IV in words 0..3. */
  #cbcEncrypt(w: Uint32Array, end: number): void {
    const xk = this.#encSchedule;
    let s0 = w[0]!, s1 = w[1]!, s2 = w[2]!, s3 = w[3]!;
    for (let i = 4; i < end; i += 4) {
      const r = aes.encrypt(xk, s0 ^ w[i]!, s1 ^ w[i + 1]!, s2 ^ w[i + 2]!, s3 ^ w[i + 3]!);
      s0 = r.s0;
      s1 = r.s1;
      s2 = r.s2;
      s3 = r.s3;
      w[i] = s0;
      w[i + 1] = s1;
      w[i + 2] = s2;
      w[i + 3] = s3;
    }
  }

  /** CBC-decrypts words 4..end in place, chaining from the IV in words 0..3. */
  #cbcDecrypt(w: Uint32Array, end: number): void {
    const xk = this.#decSchedule;
    let p0 = w[0]!, p1 = w[1]!, p2 = w[2]!, p3 = w[3]!;
    for (let i = 4; i < end; i += 4) {
      const c0 = w[i]!, c1 = w[i + 1]!, c2 = w[i + 2]!, c3 = w[i + 3]!;
      const r = aes.decrypt(xk, c0, c1, c2, c3);
      w[i] = r.s0 ^ p0;
      w[i + 1] = r.s1 ^ p1;
      w[i + 2] = r.s2 ^ p2;
      w[i + 3] = r.s3 ^ p3;
      p0 = c0;
      p1 = c1;
      p2 = c2;
      p3 = c3;
    }
  }

  #openEncryptThenMac(context: RecordContext, fragment: Uint8Array): Uint8Array {
    const macLength = this.#macLength;
    const encrypted = fragment.length - macLength;
    // Lengths are on the wire, so branching on them reveals nothing. The smallest valid
    // record is the IV and one block (content ‖ padding ‖ padding_length).
    if (encrypted < 2 * BLOCK || encrypted % BLOCK !== 0 || encrypted > MAX_CIPHERTEXT) {
      throw badRecordMac();
    }
    // RFC 7366 §3: verify the MAC over IV ‖ ciphertext before decrypting anything, so a
    // forged record never reaches the padding check and there is no padding oracle at all.
    this.#setHeader(context, encrypted);
    this.#hmac.mac([this.#header, fragment.subarray(0, encrypted)], this.#computedMac);
    if (!constantTimeEqual(this.#computedMac, fragment.subarray(encrypted))) throw badRecordMac();
    // A copy is needed anyway (the caller's bytes stay intact, and a fresh buffer is
    // word-aligned for the AES core); decrypting it in place avoids a second one.
    const buf = fragment.slice(0, encrypted);
    this.#cbcDecrypt(words(buf), encrypted >>> 2);
    const padLength = buf[encrypted - 1]!;
    const good = paddingGoodMask(buf.subarray(BLOCK), padLength, 0);
    if (good === 0) throw badRecordMac();
    return buf.subarray(BLOCK, encrypted - padLength - 1);
  }

  /**
   * MAC-then-encrypt decryption in the shape of OpenSSL's and s2n's Lucky 13 fixes: the
   * padding is checked with masks, the MAC is computed with a constant number of hash
   * compressions and read from a secret offset without secret-dependent memory access, and
   * every failure is one alert raised at one place, after all the work is done.
   */
  #openMacThenEncrypt(context: RecordContext, fragment: Uint8Array): Uint8Array {
    const macLength = this.#macLength;
    const total = fragment.length;
    // Public checks on the wire length: an IV plus enough blocks for a MAC and the
    // padding_length byte, and whole blocks only.
    if (
      total < BLOCK + roundUpToBlock(macLength + 1) || total % BLOCK !== 0 ||
      total > MAX_CIPHERTEXT
    ) {
      throw badRecordMac();
    }
    const buf = fragment.slice();
    this.#cbcDecrypt(words(buf), total >>> 2);
    const plain = buf.subarray(BLOCK);
    const n = plain.length;
    const padLength = plain[n - 1]!;

    // Padding validity as a mask, with no branch on any decrypted byte: a timing difference
    // between "bad padding" and "bad MAC" is exactly the oracle Vaudenay and Lucky 13 exploit.
    let good = paddingGoodMask(plain, padLength, macLength);
    // With bad padding, pretend there was none (as OpenSSL does): the MAC is then computed
    // over the longest possible content and fails, with the same cost as a good record.
    const effectivePad = padLength & good;
    const contentLength = n - macLength - 1 - effectivePad;

    this.#setHeader(context, contentLength);
    const computed = this.#computedMac;
    // The MAC's cost must not depend on contentLength either: see PrekeyedHmac.macConstantCost.
    this.#hmac.macConstantCost(this.#header, plain, contentLength, computed);

    // The received MAC sits at a secret offset (it depends on the padding length). Reading
    // it with plain indexing would touch memory at a secret address; instead scan every
    // position it could start at and collect it into a rotated copy with masks.
    this.#extractMac(plain, contentLength);
    let diff = 0;
    for (let i = 0; i < macLength; i++) diff |= this.#receivedMac[i]! ^ computed[i]!;
    good &= eqMask(diff, 0);
    if (good === 0) throw badRecordMac();
    return plain.subarray(0, contentLength);
  }

  /**
   * Copies plain[contentLength, contentLength + macLength) into #receivedMac without a load
   * at a secret address (OpenSSL's ssl3_cbc_copy_mac): every byte that could belong to the
   * MAC is read, masked in or out, and placed at a rotating index; the rotation is undone
   * with a scan over all indices.
   */
  #extractMac(plain: Uint8Array, contentLength: number): void {
    const macLength = this.#macLength;
    const n = plain.length;
    // The MAC can start no earlier than this: at most 255 padding bytes follow it. Public.
    const scanStart = Math.max(0, n - 1 - MAX_PADDING - macLength);
    const rotated = this.#rotatedMac;
    rotated.fill(0);
    const macEnd = contentLength + macLength;
    let slot = 0;
    for (let i = scanStart; i < n - 1; i++) {
      const inMac = ~ltMask(i, contentLength) & ltMask(i, macEnd);
      rotated[slot] = rotated[slot]! | (plain[i]! & inMac);
      slot = (slot + 1) & ~eqMask(slot + 1, macLength);
    }
    // rotation = (contentLength - scanStart) mod macLength, by a fixed number of masked
    // subtractions instead of `%`, whose speed may depend on its operands.
    let rotation = contentLength - scanStart;
    for (let step = 0; step * macLength <= MAX_PADDING + macLength; step++) {
      rotation -= macLength & ~ltMask(rotation, macLength);
    }
    for (let k = 0; k < macLength; k++) {
      const wanted = k + rotation - (macLength & ~ltMask(k + rotation, macLength));
      let v = 0;
      for (let r = 0; r < macLength; r++) v |= rotated[r]! & eqMask(r, wanted);
      this.#receivedMac[k] = v;
    }
  }
}

/**
 * A mask of all ones when the last padLength + 1 bytes of `plain` all equal padLength and
 * there is room for them plus `reserved` bytes (the MAC), else 0. Branch-free: it reads the
 * same bytes whatever the padding is (the last 256, or the whole block run when shorter).
 */
function paddingGoodMask(plain: Uint8Array, padLength: number, reserved: number): number {
  const n = plain.length;
  let good = ~ltMask(n, padLength + 1 + reserved);
  const scan = Math.min(MAX_PADDING + 1, n);
  let bad = 0;
  for (let i = 0; i < scan; i++) {
    const inPadding = ltMask(i, padLength + 1);
    bad |= inPadding & (plain[n - 1 - i]! ^ padLength);
  }
  good &= eqMask(bad, 0);
  return good;
}

/** Compares two equal-length MACs touching every byte, whatever the first difference is. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
