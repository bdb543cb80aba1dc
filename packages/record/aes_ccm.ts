/**
 * AES-CCM (NIST SP 800-38C, RFC 3610): CBC-MAC over the formatted nonce, additional data and
 * plaintext, then CTR encryption, both from an AES library's block modes (@noble/ciphers', or
 * node:crypto's native ones through `aead_engine.ts`) — the block cipher itself is never
 * written here. TLS uses it with a 12-byte nonce and a 16- or 8-byte tag (RFC 6655, RFC 7251
 * for the CCM_8 suites CoAP mandates).
 *
 * @module
 */

import { cbc, ctr } from "@noble/ciphers/aes.js";
import { createCipheriv } from "node:crypto";
import { constantTimeEqual } from "./constant_time.ts";

const BLOCK = 16;

/** The two AES block modes CCM is made of, under one key. */
export interface CcmBlockModes {
  /**
   * AES-CBC with a zero IV over whole blocks, no padding.
   *
   * @param input A multiple of 16 bytes.
   * @returns The last ciphertext block (the CBC-MAC).
   */
  cbcMacLastBlock(input: Uint8Array): Uint8Array;
  /**
   * AES-CTR from a counter block.
   *
   * @param counter The first counter block (its last bytes count up).
   * @param input The data.
   * @returns input XOR the key stream.
   */
  ctr(counter: Uint8Array, input: Uint8Array): Uint8Array;
  /** Wipes the modes' key copy. */
  destroy?(): void;
}

/**
 * CCM's block modes from @noble/ciphers.
 *
 * @param key The AES key; copied.
 * @returns The modes.
 */
export function nobleCcmBlockModes(key: Uint8Array): CcmBlockModes {
  const own = key.slice();
  return {
    cbcMacLastBlock(input) {
      const chain = cbc(own, new Uint8Array(BLOCK), { disablePadding: true }).encrypt(input);
      return chain.subarray(chain.length - BLOCK);
    },
    ctr: (counter, input) => ctr(own, counter).encrypt(input),
    destroy: () => own.fill(0),
  };
}

/**
 * One AES-CCM key with a fixed tag length.
 *
 * @example Sealing and opening with a CCM_8 tag
 * ```ts
 * import { AesCcm } from "@anchortls/record";
 * const ccm = new AesCcm(new Uint8Array(16), 8);
 * const nonce = new Uint8Array(12);
 * const sealed = ccm.seal(nonce, new TextEncoder().encode("hi"), new Uint8Array(13));
 * sealed.length; // 10: two bytes and the 8-byte tag
 * ccm.open(nonce, sealed, new Uint8Array(13))?.length; // 2
 * ```
 */
export class AesCcm {
  readonly #modes: CcmBlockModes;
  #destroyed = false;
  /** The tag length in bytes. */
  readonly tagLength: number;

  /**
   * Takes the key.
   *
   * @param key 16, 24 or 32 bytes; copied.
   * @param tagLength 4, 6, 8, 10, 12, 14 or 16 bytes (SP 800-38C §A.1).
   * @param modes The AES block modes to run on, under the same key. @default {noble's}
   * @throws {RangeError} For another key or tag length.
   */
  constructor(key: Uint8Array, tagLength: number, modes?: CcmBlockModes) {
    if (![16, 24, 32].includes(key.length)) {
      throw new RangeError(`AES key of ${key.length} bytes (16, 24 or 32)`);
    }
    if (!Number.isInteger(tagLength) || tagLength < 4 || tagLength > 16 || tagLength % 2 !== 0) {
      throw new RangeError(`CCM tag of ${tagLength} bytes (4..16, even)`);
    }
    this.#modes = modes ?? nobleCcmBlockModes(key);
    this.tagLength = tagLength;
  }

  /**
   * Encrypts and authenticates.
   *
   * @param nonce 7 to 13 bytes, never repeated under this key.
   * @param plaintext The data.
   * @param aad Additional data, authenticated only.
   * @param reserve Zero bytes to leave in front, for a record layout's explicit nonce.
   * @returns `reserve` bytes, then the ciphertext followed by the tag.
   * @throws {RangeError} For a bad nonce length or a plaintext too long for it.
   */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, reserve = 0): Uint8Array {
    const mac = this.#mac(nonce, plaintext, aad);
    const stream = this.#ctr(nonce, plaintext);
    const out = new Uint8Array(reserve + plaintext.length + this.tagLength);
    out.set(stream.subarray(BLOCK), reserve);
    const tagAt = reserve + plaintext.length;
    for (let i = 0; i < this.tagLength; i++) out[tagAt + i] = mac[i]! ^ stream[i]!;
    return out;
  }

  /**
   * Checks and decrypts.
   *
   * @param nonce The nonce it was sealed with.
   * @param sealed Ciphertext followed by the tag.
   * @param aad The additional data it was sealed with.
   * @returns The plaintext, or `null` when the tag does not verify (nothing is released then).
   * @throws {RangeError} For a bad nonce length.
   */
  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
    if (sealed.length < this.tagLength) return null;
    const length = sealed.length - this.tagLength;
    const stream = this.#ctr(nonce, sealed.subarray(0, length));
    const plaintext = stream.slice(BLOCK);
    const mac = this.#mac(nonce, plaintext, aad);
    const expected = new Uint8Array(this.tagLength);
    for (let i = 0; i < this.tagLength; i++) expected[i] = mac[i]! ^ stream[i]!;
    if (constantTimeEqual(expected, sealed.subarray(length))) return plaintext;
    plaintext.fill(0);
    return null;
  }

  /** Wipes the key copy; sealing and opening fail afterwards. */
  destroy(): void {
    this.#modes.destroy?.();
    this.#destroyed = true;
  }

  /** CTR from counter block 0: S0 (for the tag) then the data XOR S1, S2, …. */
  #ctr(nonce: Uint8Array, data: Uint8Array): Uint8Array {
    if (this.#destroyed) throw new TypeError("AES-CCM key was destroyed");
    const q = lengthFieldSize(nonce, data.length);
    const counter = new Uint8Array(BLOCK);
    counter[0] = q - 1;
    counter.set(nonce, 1);
    const input = new Uint8Array(BLOCK + data.length);
    input.set(data, BLOCK);
    return this.#modes.ctr(counter, input);
  }

  /** The CBC-MAC of B0 ‖ encoded AAD ‖ plaintext, each part zero-padded to a block. */
  #mac(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const q = lengthFieldSize(nonce, plaintext.length);
    // SP 800-38C §A.2.2: a 2-byte length below 2^16 - 2^8, else 0xfffe and 4 bytes (the
    // 8-byte form is for data no Uint8Array holds).
    const aadHeader = aad.length === 0 ? 0 : aad.length < 0xff00 ? 2 : 6;
    const aadPart = padded(aadHeader + aad.length);
    const input = new Uint8Array(BLOCK + aadPart + padded(plaintext.length));
    input[0] = (aad.length > 0 ? 0x40 : 0) | (((this.tagLength - 2) / 2) << 3) | (q - 1);
    input.set(nonce, 1);
    for (let i = 0, n = plaintext.length; i < q; i++, n = Math.floor(n / 256)) {
      input[BLOCK - 1 - i] = n & 0xff;
    }
    const view = new DataView(input.buffer);
    if (aadHeader === 2) view.setUint16(BLOCK, aad.length);
    if (aadHeader === 6) {
      view.setUint16(BLOCK, 0xfffe);
      view.setUint32(BLOCK + 2, aad.length);
    }
    input.set(aad, BLOCK + aadHeader);
    input.set(plaintext, BLOCK + aadPart);
    if (this.#destroyed) throw new TypeError("AES-CCM key was destroyed");
    return this.#modes.cbcMacLastBlock(input);
  }
}

/**
 * CCM's block modes on Deno's built-in node:crypto (native AES-CBC and AES-CTR; node:crypto
 * itself has no AES-CCM here).
 *
 * @param key The AES key; copied.
 * @returns The modes.
 */
export function nodeCcmBlockModes(key: Uint8Array): CcmBlockModes {
  const own = key.slice();
  const bits = own.length * 8;
  const cbcName = `aes-${bits}-cbc` as "aes-128-cbc";
  const ctrName = `aes-${bits}-ctr` as "aes-128-ctr";
  return {
    cbcMacLastBlock(input) {
      const cipher = createCipheriv(cbcName, own, new Uint8Array(16));
      cipher.setAutoPadding(false);
      const chain = cipher.update(input);
      cipher.final();
      return chain.subarray(chain.length - 16);
    },
    ctr(counter, input) {
      // Copied out of node's Buffer (possibly a view into a shared pool), then wiped there.
      const stream = createCipheriv(ctrName, own, counter).update(input);
      const out = new Uint8Array(stream);
      stream.fill(0);
      return out;
    },
    destroy: () => own.fill(0),
  };
}

function padded(length: number): number {
  return Math.ceil(length / BLOCK) * BLOCK;
}

/** q = 15 - nonce length, checked to hold the data length (SP 800-38C §A.1). */
function lengthFieldSize(nonce: Uint8Array, dataLength: number): number {
  if (nonce.length < 7 || nonce.length > 13) {
    throw new RangeError(`CCM nonce of ${nonce.length} bytes (7..13)`);
  }
  const q = 15 - nonce.length;
  if (q < 6 && dataLength >= 2 ** (8 * q)) {
    throw new RangeError(`${dataLength} bytes do not fit CCM's ${q}-byte length field`);
  }
  return q;
}
