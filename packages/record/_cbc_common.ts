/**
 * What the CBC-HMAC layout and its engines share: record constants, the MAC header, IV
 * randomness, AES-CBC on noble's block function, and the constant-time MAC-then-encrypt check
 * (the Lucky 13 countermeasures). Internal to the record layer.
 *
 * @module
 */

import { recordHeaderForMac } from "./connection_id.ts";
import { unsafe as aes } from "@noble/ciphers/aes.js";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { eqMask, ltMask, MAX_PADDING } from "./_masks.ts";
import type { CbcCipherSuite } from "./cipher_suite.ts";
import type { RecordContext } from "./protector.ts";

/** AES block and explicit IV length. */
export const BLOCK = 16;
/** Largest plaintext fragment (RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT = 1 << 14;
/** Largest protected fragment (RFC 5246 §6.2.3). */
export const MAX_CIPHERTEXT = MAX_PLAINTEXT + 2048;

/**
 * Refuses a plaintext longer than a record may carry.
 *
 * @param length Plaintext length.
 * @throws {RangeError} When it is over 2^14 bytes.
 */
export function checkPlaintextLength(length: number): void {
  if (length > MAX_PLAINTEXT) throw new RangeError("record plaintext longer than 2^14 bytes");
}

/**
 * Writes minimal TLS padding from `from` to the end of `record`: every padding byte and
 * padding_length itself hold the padding length.
 *
 * @param record The bytes to be encrypted, sized to whole blocks.
 * @param from Where the padding starts (after the content, and the MAC in MtE).
 */
export function fillPadding(record: Uint8Array, from: number): void {
  record.fill(record.length - from - 1, from);
}

/**
 * Strips the padding of a decrypted Encrypt-then-MAC record whose MAC has already verified
 * (so the padding is no longer an oracle, but a bad one is still refused).
 *
 * @param plain Content ‖ padding ‖ padding_length.
 * @returns The content, a view into `plain`.
 * @throws {TlsAlertError} bad_record_mac when the padding is malformed.
 */
export function unpadVerified(plain: Uint8Array): Uint8Array {
  const padLength = plain[plain.length - 1]!;
  if (paddingGoodMask(plain, padLength, 0) === 0) throw badRecordMac();
  return plain.subarray(0, plain.length - padLength - 1);
}

/**
 * The redacted name of a protector, for `toString` and `Deno.inspect`: never its keys.
 *
 * @param className The protector's class.
 * @param described What its `toJSON` returns.
 * @returns `Class(suite, mode)`.
 */
export function describeProtector(
  className: string,
  described: { suite: string; encryptThenMac: boolean },
): string {
  const mode = described.encryptThenMac ? "encrypt_then_mac" : "mac_then_encrypt";
  return `${className}(${described.suite}, ${mode})`;
}

/** The key material a protector is built from. */
interface CbcHmacKeys {
  /** The negotiated suite. */
  suite: CbcCipherSuite;
  /** The AES key. */
  encKey: Uint8Array;
  /** The HMAC key. */
  macKey: Uint8Array;
}

/**
 * Refuses keys of the wrong length for the suite.
 *
 * @param keys The options given to a protector.
 */
export function checkKeyLengths(keys: CbcHmacKeys): void {
  const { suite } = keys;
  if (keys.encKey.length !== suite.encKeyLength) {
    throw new RangeError(`${suite.name} needs a ${suite.encKeyLength}-byte encryption key`);
  }
  if (keys.macKey.length !== suite.macKeyLength) {
    throw new RangeError(`${suite.name} needs a ${suite.macKeyLength}-byte MAC key`);
  }
}

/**
 * IVs drawn 4 KiB at a time: one `getRandomValues` call per 256 records instead of one per
 * record, which matters at small record sizes. Handed-out bytes are zeroed in the pool.
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

/**
 * Writes a fresh explicit IV into the first 16 bytes of `out`.
 *
 * @param out The record buffer.
 * @param random The test override, if any.
 */
export function fillIv(out: Uint8Array, random: ((n: number) => Uint8Array) | undefined): void {
  const iv = out.subarray(0, BLOCK);
  if (random) iv.set(random(BLOCK).subarray(0, BLOCK));
  else sharedPool.fill(iv);
}

/**
 * Views a byte buffer as 32-bit words for noble's AES core (little-endian hosts only, which
 * every Deno target is; the protectors check it once).
 *
 * @param bytes A 4-byte-aligned buffer whose length is a multiple of 4.
 * @returns The words, sharing memory with `bytes`.
 */
export function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
}

/**
 * CBC-encrypts the words of `w` in place, chaining from the IV words. The key schedule is
 * expanded once per key; noble's one-shot `cbc()` would expand it on every call.
 *
 * @param schedule From `expandKeyLE`.
 * @param iv The IV as 4 words.
 * @param w The blocks as words.
 */
export function cbcEncryptInPlace(schedule: Uint32Array, iv: Uint32Array, w: Uint32Array): void {
  let s0 = iv[0]!, s1 = iv[1]!, s2 = iv[2]!, s3 = iv[3]!;
  for (let i = 0; i < w.length; i += 4) {
    const r = aes.encrypt(schedule, s0 ^ w[i]!, s1 ^ w[i + 1]!, s2 ^ w[i + 2]!, s3 ^ w[i + 3]!);
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

/**
 * CBC-decrypts the words of `w` in place, chaining from the IV words.
 *
 * @param schedule From `expandKeyDecLE`.
 * @param iv The IV as 4 words.
 * @param w The blocks as words.
 */
export function cbcDecryptInPlace(schedule: Uint32Array, iv: Uint32Array, w: Uint32Array): void {
  let p0 = iv[0]!, p1 = iv[1]!, p2 = iv[2]!, p3 = iv[3]!;
  for (let i = 0; i < w.length; i += 4) {
    const c0 = w[i]!, c1 = w[i + 1]!, c2 = w[i + 2]!, c3 = w[i + 3]!;
    const r = aes.decrypt(schedule, c0, c1, c2, c3);
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

/** @returns The one error every decryption failure becomes. */
export function badRecordMac(): TlsAlertError {
  // One message for every failure: the alert must not tell padding errors from MAC errors.
  return new TlsAlertError(AlertDescription.bad_record_mac, "record failed authentication");
}

/**
 * @param n A length.
 * @returns n rounded up to whole AES blocks.
 */
export function roundUpToBlock(n: number): number {
  return (n + BLOCK - 1) & ~(BLOCK - 1);
}

/**
 * Public (wire-length) shape check of a MAC-then-encrypt fragment: an IV plus enough whole
 * blocks for a MAC and the padding_length byte, within the ciphertext limit.
 *
 * @param length Fragment length.
 * @param macLength MAC length.
 * @returns True when the length can be a record.
 */
export function macThenEncryptLengthOk(length: number, macLength: number): boolean {
  return length >= BLOCK + roundUpToBlock(macLength + 1) && length % BLOCK === 0 &&
    length <= MAX_CIPHERTEXT;
}

/**
 * Public shape check of the encrypted part (IV ‖ ciphertext) of an Encrypt-then-MAC fragment:
 * the IV and at least one block (content ‖ padding ‖ padding_length), whole blocks only.
 *
 * @param length Length of IV ‖ ciphertext.
 * @returns True when the length can be a record.
 */
export function encryptThenMacLengthOk(length: number): boolean {
  return length >= 2 * BLOCK && length % BLOCK === 0 && length <= MAX_CIPHERTEXT;
}

/**
 * A mask of all ones when the last padLength + 1 bytes of `plain` all equal padLength and
 * there is room for them plus `reserved` bytes (the MAC), else 0. Branch-free: it reads the
 * same bytes whatever the padding is (the last 256, or all of them when fewer).
 *
 * @param plain Decrypted bytes ending in padding_length.
 * @param padLength The last byte of `plain`.
 * @param reserved Bytes that must fit in front of the padding (the MAC in MtE).
 * @returns 0 or -1.
 */
export function paddingGoodMask(plain: Uint8Array, padLength: number, reserved: number): number {
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

/** A MAC over header ‖ data[0, length) that costs the same for every length. */
export type ConstantCostMac = (
  header: Uint8Array,
  data: Uint8Array,
  length: number,
  out: Uint8Array,
) => void;

/**
 * The check of a decrypted MAC-then-encrypt record, in the shape of OpenSSL's and s2n's
 * Lucky 13 fixes: the padding is checked with masks, the MAC is computed with a constant
 * number of hash compressions (in JavaScript, with the same hash calls whatever the padding)
 * and read from its secret offset without secret-dependent
 * memory access, and every failure is one alert raised at one place, after all the work.
 * Its scratch buffers are only used between awaits, so records may be checked concurrently.
 */
export class MacThenEncryptCheck {
  readonly #macLength: number;
  readonly #computedMac: Uint8Array;
  readonly #receivedMac: Uint8Array;
  readonly #rotatedMac: Uint8Array;

  /**
   * @param macLength The MAC length of the suite.
   */
  constructor(macLength: number) {
    this.#macLength = macLength;
    this.#computedMac = new Uint8Array(macLength);
    this.#receivedMac = new Uint8Array(macLength);
    this.#rotatedMac = new Uint8Array(macLength);
  }

  /**
   * Authenticates decrypted content ‖ MAC ‖ padding ‖ padding_length with a constant-cost MAC.
   *
   * @param context What the MAC binds.
   * @param plain The decrypted bytes after the IV; at least macLength + 1 of them.
   * @param macConstantCost The MAC over header ‖ plain[0, length) with the same work for
   *   every length (PrekeyedHmac.macConstantCost).
   * @returns The content length.
   * @throws {TlsAlertError} bad_record_mac, the same for a bad padding and a bad MAC.
   */
  contentLength(
    context: RecordContext,
    plain: Uint8Array,
    macConstantCost: ConstantCostMac,
  ): number {
    const { contentLength, good } = this.unpad(plain);
    // The MAC's work must not depend on contentLength either: see
    // PrekeyedHmac.macConstantCost. The header's length field is secret too, but its size is not.
    macConstantCost(
      recordHeaderForMac(context, contentLength),
      plain,
      contentLength,
      this.#computedMac,
    );
    this.verify(plain, contentLength, good, this.#computedMac);
    return contentLength;
  }

  /** Zeroes the scratch buffers. */
  destroy(): void {
    this.#computedMac.fill(0);
    this.#receivedMac.fill(0);
    this.#rotatedMac.fill(0);
  }

  /**
   * Reads the padding without a branch on any decrypted byte and returns the content length
   * with a mask of all ones when the padding was good (0 when not). With bad padding the
   * content is taken as the longest possible, so the MAC that follows fails.
   *
   * @param plain Decrypted content ‖ MAC ‖ padding ‖ padding_length.
   * @returns The content length to MAC and the padding mask.
   */
  unpad(plain: Uint8Array): { contentLength: number; good: number } {
    const n = plain.length;
    const padLength = plain[n - 1]!;
    // Padding validity as a mask: a timing difference between "bad padding" and "bad MAC" is
    // exactly the oracle Vaudenay and Lucky 13 exploit.
    const good = paddingGoodMask(plain, padLength, this.#macLength);
    // With bad padding, pretend there was none (as OpenSSL does): the MAC is then computed
    // over the longest possible content and fails, with the same cost as a good record.
    return { contentLength: n - this.#macLength - 1 - (padLength & good), good };
  }

  /**
   * Compares the received MAC (read from its secret offset without a secret-dependent load)
   * with `computed` and raises the one alert when either the padding or the MAC was bad.
   *
   * @param plain What {@linkcode unpad} read.
   * @param contentLength From {@linkcode unpad}.
   * @param good From {@linkcode unpad}.
   * @param computed The MAC over header ‖ plain[0, contentLength).
   * @throws {TlsAlertError} bad_record_mac.
   */
  verify(plain: Uint8Array, contentLength: number, good: number, computed: Uint8Array): void {
    // The received MAC sits at a secret offset (it depends on the padding length). Reading it
    // with plain indexing would touch memory at a secret address; instead every position it
    // could start at is scanned and collected into a rotated copy with masks.
    this.#extractMac(plain, contentLength);
    let diff = 0;
    for (let i = 0; i < this.#macLength; i++) diff |= this.#receivedMac[i]! ^ computed[i]!;
    if ((good & eqMask(diff, 0)) === 0) throw badRecordMac();
  }

  /**
   * Copies plain[contentLength, contentLength + macLength) into #receivedMac without a load
   * at a secret address (OpenSSL's ssl3_cbc_copy_mac): every byte that could belong to the
   * MAC is read, masked in or out, and placed at a rotating index; the rotation is undone with
   * a scan over all indices.
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
