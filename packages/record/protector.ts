/**
 * The seam between the record layer and whoever holds the traffic keys.
 *
 * A protector works on one direction of one epoch. It does not count sequence numbers itself:
 * the record layer passes the 64-bit number the MAC must bind, so TLS (an implicit counter)
 * and DTLS (epoch ‖ 48-bit explicit number) share one implementation.
 *
 * @module
 */

/** What a record's protection binds besides its content (RFC 5246 §6.2.3.1). */
export interface RecordContext {
  /** Content type of the record. */
  readonly type: number;
  /** Protocol version in the record header (0x0303 TLS 1.2, 0xfefd DTLS 1.2). */
  readonly version: number;
  /**
   * The 64-bit sequence number bound into the MAC: the implicit counter in TLS, and
   * `epoch << 48 | sequence_number` in DTLS (RFC 6347 §4.1.2.1).
   */
  readonly sequence: bigint;
  /**
   * A DTLS Connection ID record's CID (RFC 9146; `type` is then tls12_cid): the MAC or AEAD
   * input takes the CID form of §5.
   */
  readonly cid?: Uint8Array;
}

/**
 * Protects and unprotects record fragments for one direction and epoch.
 *
 * Software protectors answer synchronously; a protector whose keys live in a secure element
 * answers with a promise. Callers await only when they get one. The record writers may call
 * `seal` again before an earlier promise settled (each call carries its own sequence number,
 * and the records go out in call order); a protector that cannot overlap its work queues it.
 */
export interface RecordProtector {
  /** Most bytes `seal` adds to a plaintext fragment (IV, MAC, padding). */
  readonly maxExpansion: number;
  /**
   * Protects one plaintext fragment.
   *
   * @param context Header fields and sequence number the record is sent with.
   * @param plaintext The fragment, at most 2^14 bytes.
   * @returns The protected fragment that goes into the record.
   */
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Checks and removes protection from one fragment.
   *
   * @param context Header fields and sequence number the record arrived with.
   * @param fragment The protected fragment.
   * @returns The plaintext.
   * @throws {TlsAlertError} `bad_record_mac` for every authentication or padding failure.
   */
  open(context: RecordContext, fragment: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Wipes the key material held in host memory; the protector is unusable afterwards. The
   * record streams call it when a key change or the end of the connection retires the
   * protector. A protector whose keys live elsewhere (a chip) may omit it.
   */
  destroy?(): void;
}

/**
 * The protector of epoch 0, before ChangeCipherSpec: fragments pass through unchanged.
 *
 * @example Passing a fragment through
 * ```ts
 * import { NullProtector } from "@anchortls/record";
 * const p = new NullProtector();
 * p.seal({ type: 22, version: 0x0303, sequence: 0n }, new Uint8Array([1])); // Uint8Array [1]
 * ```
 */
export class NullProtector implements RecordProtector {
  /** Epoch 0 adds nothing. */
  readonly maxExpansion = 0;

  /**
   * Returns the plaintext as the fragment.
   *
   * @param _context Unused: nothing is bound before keys exist.
   * @param plaintext The fragment.
   * @returns The same bytes.
   */
  seal(_context: RecordContext, plaintext: Uint8Array): Uint8Array {
    return plaintext;
  }

  /**
   * Returns the fragment as the plaintext.
   *
   * @param _context Unused.
   * @param fragment The fragment.
   * @returns The same bytes.
   */
  open(_context: RecordContext, fragment: Uint8Array): Uint8Array {
    return fragment;
  }
}
