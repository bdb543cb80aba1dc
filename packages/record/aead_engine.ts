/**
 * The ciphers under the AEAD record layout: an {@linkcode AeadEngine} seals and opens with one
 * key, given the nonce and additional data the layout built. The layout ({@linkcode
 * AeadProtector}) is written once; engines are where the key lives and what computes:
 *
 * - `node` — Deno's built-in `node:crypto` (native AES-GCM and ChaCha20-Poly1305; AES-CCM on
 *   its native AES-CTR and AES-CBC modes), synchronous;
 * - `noble` — @noble/ciphers in JavaScript (AES-CCM on noble's AES-CTR and AES-CBC);
 * - `webcrypto` — WebCrypto AES-GCM under a key imported once, asynchronous;
 * - `auto` (the default) — per record size, whichever of these measured fastest here
 *   (bench/aead_bench.ts, figures in bench/README.md);
 * - or an engine of your own, e.g. one whose key is a handle in a secure element.
 *
 * @module
 */

import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  type CipherChaCha20Poly1305,
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
} from "node:crypto";
import { AesCcm, nobleCcmBlockModes, nodeCcmBlockModes } from "./aes_ccm.ts";

/** The AEAD algorithms of the TLS 1.2 suites. */
export type AeadAlgorithm = "aes-gcm" | "aes-ccm" | "aes-ccm-8" | "chacha20-poly1305";

/**
 * One key's AEAD cipher. A result may be a promise (an asynchronous engine); calls may
 * overlap, each with its own nonce.
 */
export interface AeadEngine {
  /**
   * Encrypts and authenticates.
   *
   * @param nonce The 12-byte nonce, never repeated under this key.
   * @param plaintext The record content.
   * @param aad The additional data.
   * @param reserve Bytes the layout will write in front (the explicit nonce). An engine may
   *   return that many bytes before ciphertext ‖ tag, saving the layout a copy, or ignore it.
   * @returns Ciphertext ‖ tag, or `reserve` bytes ‖ ciphertext ‖ tag.
   */
  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    reserve?: number,
  ): Uint8Array | Promise<Uint8Array>;
  /**
   * Checks and decrypts.
   *
   * @param nonce The nonce it was sealed with.
   * @param sealed Ciphertext ‖ tag.
   * @param aad The additional data it was sealed with.
   * @returns The plaintext, or `null` when the tag does not verify (no plaintext is released).
   */
  open(
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | null | Promise<Uint8Array | null>;
  /** Wipes the engine's own copy of the key, where it keeps one. */
  destroy?(): void;
}

/** The built-in engines by name; see the module documentation. */
export type AeadEngineChoice = "auto" | "node" | "noble" | "webcrypto";

/**
 * From this many plaintext (sealing) or ciphertext (opening) bytes on, `auto` sends AES-GCM
 * records to WebCrypto: below it the asynchronous hop costs more than its native speed gains.
 */
export const WEBCRYPTO_GCM_THRESHOLD = 8192;

/**
 * Makes a built-in engine for one key.
 *
 * @example
 * ```ts
 * import { createAeadEngine } from "@anchortls/record";
 * const engine = createAeadEngine("chacha20-poly1305", new Uint8Array(32), "node");
 * const sealed = engine.seal(new Uint8Array(12), new Uint8Array(3), new Uint8Array(13));
 * (sealed as Uint8Array).length; // 19
 * ```
 *
 * @param algorithm The AEAD.
 * @param key The key (16 or 32 bytes for AES, 32 for ChaCha20); copied.
 * @param choice Which engine. @default {"auto"}
 * @returns The engine.
 * @throws {RangeError} For a key of the wrong length, or `webcrypto` with an algorithm
 *   WebCrypto lacks (only AES-GCM is there).
 */
export function createAeadEngine(
  algorithm: AeadAlgorithm,
  key: Uint8Array,
  choice: AeadEngineChoice = "auto",
): AeadEngine {
  const keyLengths = algorithm === "chacha20-poly1305" ? [32] : [16, 32];
  if (!keyLengths.includes(key.length)) {
    throw new RangeError(`${algorithm} key of ${key.length} bytes`);
  }
  if (algorithm === "aes-ccm" || algorithm === "aes-ccm-8") {
    if (choice === "webcrypto") throw new RangeError("WebCrypto has no AES-CCM");
    const modes = choice === "noble" ? nobleCcmBlockModes(key) : nodeCcmBlockModes(key);
    return new AesCcm(key, algorithm === "aes-ccm" ? 16 : 8, modes);
  }
  if (algorithm === "chacha20-poly1305") {
    if (choice === "webcrypto") throw new RangeError("WebCrypto has no ChaCha20-Poly1305");
    return choice === "noble" ? nobleEngine(chacha20poly1305, key) : nodeEngine(algorithm, key);
  }
  switch (choice) {
    case "noble":
      return nobleEngine(gcm, key);
    case "node":
      return nodeEngine(algorithm, key);
    case "webcrypto":
      return new WebCryptoGcmEngine(key);
    case "auto":
      return new SizeSplitEngine(
        nodeEngine(algorithm, key),
        new WebCryptoGcmEngine(key),
        WEBCRYPTO_GCM_THRESHOLD,
      );
  }
}

/** The noble ciphers throw on a bad tag; the layout turns `null` into its one alert. */
function nobleEngine(
  make: (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) => {
    encrypt(data: Uint8Array): Uint8Array;
    decrypt(data: Uint8Array): Uint8Array;
  },
  key: Uint8Array,
): AeadEngine {
  const own = key.slice();
  return {
    seal: (nonce, plaintext, aad) => make(own, nonce, aad).encrypt(plaintext),
    open: (nonce, sealed, aad) => {
      try {
        return make(own, nonce, aad).decrypt(sealed);
      } catch {
        return null;
      }
    },
    destroy: () => own.fill(0),
  };
}

const TAG = 16;

/** node:crypto's cipher objects for one record, by algorithm (their types differ). */
interface NodeAeadFactory {
  encryptor(nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305;
  decryptor(nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305;
}

function nodeFactory(algorithm: "aes-gcm" | "chacha20-poly1305", key: Uint8Array): NodeAeadFactory {
  const options = { authTagLength: TAG };
  if (algorithm === "chacha20-poly1305") {
    return {
      encryptor: (nonce) => createCipheriv("chacha20-poly1305", key, nonce, options),
      decryptor: (nonce) => createDecipheriv("chacha20-poly1305", key, nonce, options),
    };
  }
  const name = key.length === 16 ? "aes-128-gcm" : "aes-256-gcm";
  return {
    encryptor: (nonce) => createCipheriv(name, key, nonce, options),
    decryptor: (nonce) => createDecipheriv(name, key, nonce, options),
  };
}

/**
 * node:crypto's AEADs: a cipher object per record (they cannot be rekeyed with a new nonce),
 * the key passed from our copy so `destroy` can wipe it.
 */
function nodeEngine(algorithm: "aes-gcm" | "chacha20-poly1305", key: Uint8Array): AeadEngine {
  const own = key.slice();
  const factory = nodeFactory(algorithm, own);
  return {
    seal(nonce, plaintext, aad, reserve = 0) {
      const cipher = factory.encryptor(nonce);
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const head = cipher.update(plaintext);
      const tail = cipher.final();
      const out = new Uint8Array(reserve + head.length + tail.length + TAG);
      out.set(head, reserve);
      out.set(tail, reserve + head.length);
      out.set(cipher.getAuthTag(), reserve + head.length + tail.length);
      return out;
    },
    open(nonce, sealed, aad) {
      if (sealed.length < TAG) return null;
      const length = sealed.length - TAG;
      const decipher = factory.decryptor(nonce);
      decipher.setAAD(aad, { plaintextLength: length });
      decipher.setAuthTag(sealed.subarray(length));
      const head = decipher.update(sealed.subarray(0, length));
      try {
        const tail = decipher.final();
        // A Buffer that owns its memory is handed out as it is; one cut from node's shared
        // pool is copied out, so no view reaches other bytes of the pool.
        const owned = head.byteOffset === 0 && head.byteLength === head.buffer.byteLength;
        if (tail.length === 0 && owned) return new Uint8Array(head.buffer, 0, head.length);
        const out = new Uint8Array(head.length + tail.length);
        out.set(head);
        out.set(tail, head.length);
        return out;
      } catch {
        // The tag failed: what update() decrypted must not outlive the check.
        head.fill(0);
        return null;
      }
    },
    destroy: () => own.fill(0),
  };
}

/** AES-GCM in WebCrypto: the key is imported once, at construction, and awaited by each call. */
class WebCryptoGcmEngine implements AeadEngine {
  readonly #key: Promise<CryptoKey>;

  constructor(key: Uint8Array) {
    const copy = key.slice();
    this.#key = crypto.subtle.importKey("raw", copy, "AES-GCM", false, ["encrypt", "decrypt"])
      .finally(() => copy.fill(0));
    // A failed import surfaces at the first seal or open, not as an unhandled rejection.
    this.#key.catch(() => {});
  }

  async seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce.slice(), additionalData: aad.slice() },
      await this.#key,
      plaintext.slice(),
    );
    return new Uint8Array(sealed);
  }

  async open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array | null> {
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce.slice(), additionalData: aad.slice() },
        await this.#key,
        sealed.slice(),
      );
      return new Uint8Array(plain);
    } catch {
      return null;
    }
  }
}

/** Small records to one engine, large ones to another. */
class SizeSplitEngine implements AeadEngine {
  readonly #small: AeadEngine;
  readonly #large: AeadEngine;
  readonly #threshold: number;

  constructor(small: AeadEngine, large: AeadEngine, threshold: number) {
    this.#small = small;
    this.#large = large;
    this.#threshold = threshold;
  }

  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    reserve?: number,
  ): Uint8Array | Promise<Uint8Array> {
    // Lengths are public (they are on the wire), so choosing by them reveals nothing.
    const engine = plaintext.length < this.#threshold ? this.#small : this.#large;
    return engine.seal(nonce, plaintext, aad, reserve);
  }

  open(
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | null | Promise<Uint8Array | null> {
    const engine = sealed.length < this.#threshold ? this.#small : this.#large;
    return engine.open(nonce, sealed, aad);
  }

  destroy(): void {
    this.#small.destroy?.();
    this.#large.destroy?.();
  }
}
