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

import { recordHeaderForMac } from "./connection_id.ts";
import {
  type AeadAlgorithm,
  type AeadEngine,
  type AeadEngineChoice,
  createAeadEngine,
} from "./aead_engine.ts";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";

/** Key material of one direction. */
export interface AeadProtectorOptions {
  /** The algorithm. */
  readonly algorithm: AeadAlgorithm;
  /**
   * The write key for a built-in engine: 16 or 32 bytes for AES, 32 for ChaCha20. Copied. Not
   * given with an engine object, which holds its key itself.
   */
  readonly key?: Uint8Array;
  /**
   * The write IV from the key block: the 4-byte salt for GCM and CCM, the 12-byte IV for
   * ChaCha20-Poly1305. Copied.
   */
  readonly iv: Uint8Array;
  /**
   * The cipher under the layout: a built-in engine by name (see `createAeadEngine`), or an
   * engine of your own (e.g. a secure element's) keyed for this direction. @default {"auto"}
   */
  readonly engine?: AeadEngineChoice | AeadEngine;
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

function badRecordMac(message: string): TlsAlertError {
  return new TlsAlertError(AlertDescription.bad_record_mac, message);
}

/**
 * One direction's AEAD record protection.
 *
 * @example Sealing a record under AES-128-GCM
 * ```ts
 * import { AeadProtector } from "@anchortls/record";
 * const p = new AeadProtector({ algorithm: "aes-gcm", key: new Uint8Array(16), iv: new Uint8Array(4) });
 * const fragment = await p.seal({ type: 23, version: 0x0303, sequence: 0n }, new Uint8Array(5));
 * fragment.length; // 29: 8-byte explicit nonce, 5 bytes, 16-byte tag
 * ```
 */
export class AeadProtector implements RecordProtector {
  /** Explicit nonce and tag. */
  readonly maxExpansion: number;
  readonly #layout: Layout;
  readonly #iv: Uint8Array;
  readonly #engine: AeadEngine;
  #destroyed = false;

  /**
   * Takes one direction's key (or engine) and IV.
   *
   * @param options Algorithm, key or engine, and IV.
   * @throws {RangeError} For a key or IV of the wrong length.
   * @throws {TypeError} For a key together with an engine object, or neither.
   */
  constructor(options: AeadProtectorOptions) {
    const layout = LAYOUTS[options.algorithm];
    if (!layout) throw new RangeError(`unknown AEAD algorithm ${String(options.algorithm)}`);
    const { engine, key } = options;
    if (typeof engine === "object") {
      if (key) throw new TypeError("an AEAD engine object holds its own key: pass no key");
      this.#engine = engine;
    } else {
      if (!key) throw new TypeError(`${options.algorithm} needs a key or an engine`);
      this.#engine = createAeadEngine(options.algorithm, key, engine);
    }
    if (options.iv.length !== layout.ivLength) {
      throw new RangeError(
        `${options.algorithm} takes a ${layout.ivLength}-byte IV, not ${options.iv.length}`,
      );
    }
    this.#layout = layout;
    this.#iv = options.iv.slice();
    this.maxExpansion = layout.explicit + layout.tag;
  }

  /**
   * Seals one fragment.
   *
   * @param context Type, version and sequence number.
   * @param plaintext At most 2^14 bytes.
   * @returns Explicit nonce (GCM, CCM) ‖ ciphertext ‖ tag; a promise of it from an
   *   asynchronous engine.
   */
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array> {
    this.#live();
    const { explicit, tag } = this.#layout;
    const nonce = this.#nonce(context.sequence);
    const sealed = this.#engine.seal(
      nonce,
      plaintext,
      recordHeaderForMac(context, plaintext.length),
      explicit,
    );
    const frame = (ciphertext: Uint8Array): Uint8Array => {
      if (explicit === 0) return ciphertext;
      // The explicit nonce is the sequence number, the nonce's last 8 bytes (RFC 5288 §3).
      if (ciphertext.length === explicit + plaintext.length + tag) {
        ciphertext.set(nonce.subarray(4), 0);
        return ciphertext;
      }
      const out = new Uint8Array(EXPLICIT_NONCE + ciphertext.length);
      out.set(nonce.subarray(4));
      out.set(ciphertext, EXPLICIT_NONCE);
      return out;
    };
    return sealed instanceof Promise ? sealed.then(frame) : frame(sealed);
  }

  /**
   * Opens one fragment.
   *
   * @param context Type, version and sequence number it arrived with.
   * @param fragment The protected fragment.
   * @returns The plaintext; a promise of it from an asynchronous engine.
   * @throws {TlsAlertError} `bad_record_mac` when it is too short or its tag does not verify
   *   (as a rejection from an asynchronous engine).
   */
  open(context: RecordContext, fragment: Uint8Array): Uint8Array | Promise<Uint8Array> {
    this.#live();
    const { explicit, tag } = this.#layout;
    if (fragment.length < explicit + tag) throw badRecordMac("AEAD record too short");
    const nonce = explicit
      ? this.#explicitNonce(fragment.subarray(0, explicit))
      : this.#nonce(context.sequence);
    const sealed = fragment.subarray(explicit);
    const opened = this.#engine.open(
      nonce,
      sealed,
      recordHeaderForMac(context, sealed.length - tag),
    );
    const check = (plaintext: Uint8Array | null): Uint8Array => {
      if (!plaintext) throw badRecordMac("AEAD tag check failed");
      return plaintext;
    };
    return opened instanceof Promise ? opened.then(check) : check(opened);
  }

  /** Wipes the IV and the engine's key; the protector refuses work afterwards. */
  destroy(): void {
    this.#destroyed = true;
    this.#iv.fill(0);
    this.#engine.destroy?.();
  }

  #live(): void {
    if (this.#destroyed) throw new TypeError("record protector was destroyed");
  }

  /** GCM/CCM: salt ‖ sequence; ChaCha20-Poly1305: IV XOR (0^4 ‖ sequence). */
  #nonce(sequence: bigint): Uint8Array {
    const nonce = new Uint8Array(12);
    nonce.set(this.#iv);
    const view = new DataView(nonce.buffer);
    if (this.#layout.explicit) view.setBigUint64(4, sequence);
    else view.setBigUint64(4, view.getBigUint64(4) ^ sequence);
    return nonce;
  }

  /** GCM/CCM on opening: salt ‖ the explicit nonce the record carries, taken as sent. */
  #explicitNonce(explicit: Uint8Array): Uint8Array {
    const nonce = new Uint8Array(12);
    nonce.set(this.#iv);
    nonce.set(explicit, 4);
    return nonce;
  }
}
