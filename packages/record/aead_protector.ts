/**
 * AEAD record protection for TLS 1.2 and DTLS 1.2 (RFC 5246 §6.2.3.3): AES-GCM (RFC 5288) and
 * AES-CCM / CCM_8 (RFC 6655, RFC 7251) with a 4-byte implicit salt and an 8-byte explicit nonce
 * carried in each record, and ChaCha20-Poly1305 (RFC 7905 §2) with the 12-byte IV XORed with
 * the sequence number and nothing carried. The additional data is seq_num ‖ type ‖ version ‖
 * plaintext length; in DTLS seq_num is epoch ‖ sequence_number, which the record layer passes
 * as `context.sequence` either way.
 *
 * The explicit nonce we send is the sequence number itself, as OpenSSL, GnuTLS and mbedTLS do:
 * it never repeats under one key because the sequence number never does (the record layer's
 * counter ends the connection before it wraps). A received explicit nonce is taken as sent.
 *
 * @module
 */

import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { AesCcm } from "./aes_ccm.ts";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";

/** The AEAD algorithms of the TLS 1.2 suites. */
export type AeadAlgorithm = "aes-gcm" | "aes-ccm" | "aes-ccm-8" | "chacha20-poly1305";

/** Key material of one direction. */
export interface AeadProtectorOptions {
  /** The algorithm. */
  readonly algorithm: AeadAlgorithm;
  /** The write key: 16 or 32 bytes for AES, 32 for ChaCha20. Copied. */
  readonly key: Uint8Array;
  /**
   * The write IV from the key block: the 4-byte salt for GCM and CCM, the 12-byte IV for
   * ChaCha20-Poly1305. Copied.
   */
  readonly iv: Uint8Array;
}

const EXPLICIT_NONCE = 8;

interface Layout {
  readonly ivLength: number;
  readonly explicit: number;
  readonly tag: number;
}

const LAYOUTS: Readonly<Record<AeadAlgorithm, Layout>> = {
  "aes-gcm": { ivLength: 4, explicit: EXPLICIT_NONCE, tag: 16 },
  "aes-ccm": { ivLength: 4, explicit: EXPLICIT_NONCE, tag: 16 },
  "aes-ccm-8": { ivLength: 4, explicit: EXPLICIT_NONCE, tag: 8 },
  "chacha20-poly1305": { ivLength: 12, explicit: 0, tag: 16 },
};

type Engine = {
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** The plaintext, or null when the tag does not verify. */
  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /** Wipes a key copy of its own, where it keeps one. */
  destroy?(): void;
};

/** The noble ciphers throw on a bad tag; the protector turns every failure into one alert. */
function nobleEngine(
  make: (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) => {
    encrypt(data: Uint8Array): Uint8Array;
    decrypt(data: Uint8Array): Uint8Array;
  },
  key: Uint8Array,
): Engine {
  return {
    seal: (nonce, plaintext, aad) => make(key, nonce, aad).encrypt(plaintext),
    open: (nonce, sealed, aad) => {
      try {
        return make(key, nonce, aad).decrypt(sealed);
      } catch {
        return null;
      }
    },
  };
}

function engineFor(algorithm: AeadAlgorithm, key: Uint8Array): Engine {
  switch (algorithm) {
    case "aes-gcm":
      return nobleEngine(gcm, key);
    case "chacha20-poly1305":
      return nobleEngine(chacha20poly1305, key);
    case "aes-ccm":
      return new AesCcm(key, 16);
    case "aes-ccm-8":
      return new AesCcm(key, 8);
  }
}

/**
 * One direction's AEAD record protection.
 *
 * @example Sealing a record under AES-128-GCM
 * ```ts
 * import { AeadProtector } from "@anchortls/record";
 * const p = new AeadProtector({ algorithm: "aes-gcm", key: new Uint8Array(16), iv: new Uint8Array(4) });
 * const fragment = p.seal({ type: 23, version: 0x0303, sequence: 0n }, new Uint8Array(5));
 * fragment.length; // 29: 8-byte explicit nonce, 5 bytes, 16-byte tag
 * ```
 */
export class AeadProtector implements RecordProtector {
  /** Explicit nonce and tag. */
  readonly maxExpansion: number;
  readonly #layout: Layout;
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  readonly #engine: Engine;
  #destroyed = false;

  /**
   * Takes one direction's key and IV.
   *
   * @param options Algorithm, key and IV.
   * @throws {RangeError} For a key or IV of the wrong length.
   */
  constructor(options: AeadProtectorOptions) {
    const layout = LAYOUTS[options.algorithm];
    if (!layout) throw new RangeError(`unknown AEAD algorithm ${String(options.algorithm)}`);
    const keyLengths = options.algorithm === "chacha20-poly1305" ? [32] : [16, 32];
    if (!keyLengths.includes(options.key.length)) {
      throw new RangeError(`${options.algorithm} key of ${options.key.length} bytes`);
    }
    if (options.iv.length !== layout.ivLength) {
      throw new RangeError(
        `${options.algorithm} takes a ${layout.ivLength}-byte IV, not ${options.iv.length}`,
      );
    }
    this.#layout = layout;
    this.#key = options.key.slice();
    this.#iv = options.iv.slice();
    this.#engine = engineFor(options.algorithm, this.#key);
    this.maxExpansion = layout.explicit + layout.tag;
  }

  /**
   * Seals one fragment.
   *
   * @param context Type, version and sequence number.
   * @param plaintext At most 2^14 bytes.
   * @returns Explicit nonce (GCM, CCM) ‖ ciphertext ‖ tag.
   */
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array {
    this.#live();
    const explicit = sequenceBytes(context.sequence);
    const sealed = this.#engine.seal(
      this.#nonce(explicit),
      plaintext,
      additionalData(context, plaintext.length),
    );
    if (this.#layout.explicit === 0) return sealed;
    const out = new Uint8Array(EXPLICIT_NONCE + sealed.length);
    out.set(explicit);
    out.set(sealed, EXPLICIT_NONCE);
    return out;
  }

  /**
   * Opens one fragment.
   *
   * @param context Type, version and sequence number it arrived with.
   * @param fragment The protected fragment.
   * @returns The plaintext.
   * @throws {TlsAlertError} `bad_record_mac` when it is too short or its tag does not verify.
   */
  open(context: RecordContext, fragment: Uint8Array): Uint8Array {
    this.#live();
    const { explicit, tag } = this.#layout;
    if (fragment.length < explicit + tag) {
      throw new TlsAlertError(AlertDescription.bad_record_mac, "AEAD record too short");
    }
    const nonce = this.#nonce(
      explicit ? fragment.subarray(0, explicit) : sequenceBytes(context.sequence),
    );
    const sealed = fragment.subarray(explicit);
    const plaintext = this.#engine.open(
      nonce,
      sealed,
      additionalData(context, sealed.length - tag),
    );
    if (!plaintext) {
      throw new TlsAlertError(AlertDescription.bad_record_mac, "AEAD tag check failed");
    }
    return plaintext;
  }

  /** Wipes the key and IV; the protector refuses work afterwards. */
  destroy(): void {
    this.#destroyed = true;
    this.#key.fill(0);
    this.#iv.fill(0);
    this.#engine.destroy?.();
  }

  #live(): void {
    if (this.#destroyed) throw new TypeError("record protector was destroyed");
  }

  /** GCM/CCM: salt ‖ explicit nonce; ChaCha20-Poly1305: IV XOR (0^4 ‖ sequence). */
  #nonce(eightBytes: Uint8Array): Uint8Array {
    if (this.#layout.explicit) {
      const nonce = new Uint8Array(12);
      nonce.set(this.#iv);
      nonce.set(eightBytes, 4);
      return nonce;
    }
    const nonce = this.#iv.slice();
    for (let i = 0; i < 8; i++) nonce[4 + i]! ^= eightBytes[i]!;
    return nonce;
  }
}

function sequenceBytes(sequence: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, sequence);
  return out;
}

/** seq_num(8) ‖ type(1) ‖ version(2) ‖ length(2), RFC 5246 §6.2.3.3. */
function additionalData(context: RecordContext, length: number): Uint8Array {
  const aad = new Uint8Array(13);
  const view = new DataView(aad.buffer);
  view.setBigUint64(0, context.sequence);
  aad[8] = context.type;
  view.setUint16(9, context.version);
  view.setUint16(11, length);
  return aad;
}
