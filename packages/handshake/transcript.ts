/**
 * The handshake transcript (RFC 5246 §7.4.9): a running SHA-256 over the messages, plus the
 * messages themselves for CertificateVerify, which signs them whole.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";

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
  readonly #hash = sha256.create();
  readonly #messages: Uint8Array[] = [];
  #length = 0;

  /**
   * Appends one whole message.
   *
   * @param message The framed message.
   */
  add(message: Uint8Array): void {
    this.#hash.update(message);
    this.#messages.push(message);
    this.#length += message.length;
  }

  /**
   * Hashes the transcript so far without closing it.
   *
   * @returns SHA-256 of everything added so far; adding more afterwards is fine.
   */
  hash(): Uint8Array {
    return this.#hash.clone().digest();
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
