/**
 * The server's TLS 1.2 record layer for the test peers, sans-IO: records sealed under the
 * current server keys with their own sequence numbers, the client's records opened under the
 * client's keys, which take over at the client's ChangeCipherSpec. The scripted peers over a
 * connection and the in-memory {@linkcode TlsTestServer} both use it.
 *
 * @module
 */

import {
  ContentType,
  encodeTlsRecord,
  NullProtector,
  type RecordProtector,
  type TlsRecord,
} from "@anchortls/record";

/** The two directions of a test server's record layer. */
export class TlsServerRecords {
  #readProtector: RecordProtector = new NullProtector();
  #readSequence = 0n;
  #writeProtector: RecordProtector = new NullProtector();
  #writeSequence = 0n;
  /** The client's keys, installed when its ChangeCipherSpec is opened. */
  pendingClientProtector: RecordProtector | undefined;

  /**
   * Seals `content` as the next record under the current server keys.
   *
   * @param type The ContentType.
   * @param content The plaintext.
   * @param version The header's version. @default {0x0303}
   * @returns The encoded record.
   */
  async seal(type: number, content: Uint8Array, version = 0x0303): Promise<Uint8Array> {
    const sequence = this.#writeSequence++;
    const fragment = await this.#writeProtector.seal({ type, version, sequence }, content);
    return encodeTlsRecord({ type, version, fragment });
  }

  /** Protects every later record with `protector`, from sequence number 0 (after our CCS). */
  changeWriteKeys(protector: RecordProtector): void {
    this.#writeProtector = protector;
    this.#writeSequence = 0n;
  }

  /**
   * Opens the client's next record; its ChangeCipherSpec installs
   * {@linkcode TlsServerRecords.pendingClientProtector} for the records after it.
   *
   * @param record The record as deframed.
   * @returns Its plaintext.
   */
  async open(record: TlsRecord): Promise<Uint8Array> {
    const content = await this.#readProtector.open(
      { type: record.type, version: record.version, sequence: this.#readSequence++ },
      record.fragment,
    );
    if (record.type === ContentType.change_cipher_spec && this.pendingClientProtector) {
      this.#readProtector = this.pendingClientProtector;
      this.#readSequence = 0n;
    }
    return content;
  }
}
