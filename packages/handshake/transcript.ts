/**
 * The handshake transcript (RFC 5246 §7.4.9): running SHA-256 and SHA-384 hashes over the
 * messages (the suite, and with it the PRF hash, is known only from the ServerHello on, after
 * the ClientHello went in), plus the messages themselves for CertificateVerify, which signs
 * them whole.
 *
 * @module
 */

import type { PrfHash } from "@anchortls/record";
import { sha256, sha384 } from "@noble/hashes/sha2.js";

/**
 * Accumulates handshake messages as they are sent and received.
 *
 * Messages go in with the header of whichever framing carries them (4 bytes in TLS, the
 * reassembled 12-byte header in DTLS); the first DTLS ClientHello and HelloVerifyRequest are
 * simply never added.
 *
 * @example
 * ```ts
 * import { Transcript } from "@anchortls/handshake";
 * const t = new Transcript();
 * t.add(new Uint8Array([14, 0, 0, 0]));
 * t.hash().length; // 32
 * ```
 */
export class Transcript {
  readonly #sha256 = sha256.create();
  readonly #sha384 = sha384.create();
  readonly #messages: Uint8Array[] = [];
  #length = 0;

  /**
   * Appends one whole message.
   *
   * @param message The framed message.
   */
  add(message: Uint8Array): void {
    this.#sha256.update(message);
    this.#sha384.update(message);
    this.#messages.push(message);
    this.#length += message.length;
  }

  /**
   * Hashes the transcript so far without closing it.
   *
   * @param algorithm The negotiated suite's PRF hash. @default {"sha256"}
   * @returns The hash of everything added so far; adding more afterwards is fine.
   */
  hash(algorithm: PrfHash = "sha256"): Uint8Array {
    return (algorithm === "sha384" ? this.#sha384 : this.#sha256).clone().digest();
  }

  /**
   * Returns the transcript's bytes.
   *
   * @returns Everything added so far, concatenated (what CertificateVerify signs).
   */
  messages(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const m of this.#messages) {
      out.set(m, at);
      at += m.length;
    }
    return out;
  }
}
