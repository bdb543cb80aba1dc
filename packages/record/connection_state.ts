/**
 * The two TLS connection states of RFC 5246 §6.1 as sans-IO objects: the read state opens
 * framed records, the write state seals content into framed records. Each holds its
 * direction's protector, sequence number and plaintext limit, so the record streams and the
 * TLS connection core apply the same rules from one place.
 *
 * @module
 */

import { type ContentType, ProtocolVersion } from "./content_type.ts";
import {
  DEFAULT_RECORD_LIMITS,
  encodeTlsRecord,
  type RecordLimits,
  recordLimits,
  type TlsRecord,
} from "./header.ts";
import { NullProtector, type RecordProtector } from "./protector.ts";
import { SequenceCounter, TLS_SEQUENCE_LIMIT } from "./sequence.ts";
import { fragments, overflow, sealInOrder } from "./_sealing.ts";

/** A TLS record after its protection was removed. */
export interface InboundRecord extends TlsRecord {
  /** The 64-bit sequence number it was authenticated under. */
  readonly sequence: bigint;
}

/** Content to send with a given type (application data can be written as plain bytes). */
export interface OutboundMessage {
  /** Content type of the records. */
  readonly type: ContentType;
  /** The content; split into as many records as the limit requires. */
  readonly data: Uint8Array;
}

/** Installs a new protector; every record after it uses it. */
export interface ProtectorChange {
  /** The next connection state's (or epoch's) protector. */
  readonly protector: RecordProtector;
  /**
   * Most plaintext bytes per record from now on (a negotiated max_fragment_length or
   * record_size_limit). @default {the limit it had}
   */
  readonly maxPlaintext?: number;
}

/** Options for a {@linkcode TlsReadState}. */
export interface TlsReadStateOptions {
  /** Length limits. @default {DEFAULT_RECORD_LIMITS} */
  readonly limits?: RecordLimits;
  /** The protector of the first connection state. @default {new NullProtector()} */
  readonly protector?: RecordProtector;
}

/** Options for a {@linkcode TlsWriteState}. */
export interface TlsWriteStateOptions extends TlsReadStateOptions {
  /** Version written in record headers. @default {0x0303} */
  readonly version?: number;
}

/**
 * The read direction: opens records in sequence and enforces the plaintext limit.
 *
 * @example Opening a plaintext record
 * ```ts
 * import { TlsReadState } from "@anchortls/record";
 * const state = new TlsReadState();
 * const record = { type: 23, version: 0x0303, fragment: new Uint8Array([7]) };
 * (await state.open(record)).sequence; // 0n
 * ```
 */
export class TlsReadState {
  #protector: RecordProtector;
  #maxPlaintext: number;
  #sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);

  /**
   * Creates the first read state.
   *
   * @param options Limits and the initial protector.
   */
  constructor(options: TlsReadStateOptions = {}) {
    this.#protector = options.protector ?? new NullProtector();
    this.#maxPlaintext = (options.limits ?? DEFAULT_RECORD_LIMITS).maxPlaintext;
  }

  /**
   * Removes a record's protection under the next sequence number.
   *
   * @param record A framed record.
   * @returns The record with its plaintext fragment and sequence number.
   * @throws {TlsAlertError} `bad_record_mac` and friends from the protector; `record_overflow`
   *   above the plaintext limit.
   */
  async open(record: TlsRecord): Promise<InboundRecord> {
    const sequence = this.#sequence.next();
    const context = { type: record.type, version: record.version, sequence };
    const fragment = await this.#protector.open(context, record.fragment);
    if (fragment.length > this.#maxPlaintext) throw overflow(fragment.length, this.#maxPlaintext);
    return { type: record.type, version: record.version, fragment, sequence };
  }

  /**
   * Installs the next connection state (after change_cipher_spec): the old protector is
   * wiped and the sequence number restarts at 0 (RFC 5246 §6.1).
   *
   * @param change The new protector and limit.
   */
  change(change: ProtectorChange): void {
    if (change.maxPlaintext !== undefined) {
      this.#maxPlaintext = recordLimits(change.maxPlaintext).maxPlaintext;
    }
    if (change.protector !== this.#protector) this.#protector.destroy?.();
    this.#protector = change.protector;
    this.#sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);
  }

  /** Wipes the current protector's keys; later records cannot be opened. */
  destroy(): void {
    this.#protector.destroy?.();
  }
}

/**
 * The write direction: splits content to the plaintext limit and seals each piece under the
 * next sequence number. Calls must not overlap (await each), so sequence numbers and record
 * order agree.
 *
 * @example Sealing 20000 bytes of application data
 * ```ts
 * import { TlsWriteState } from "@anchortls/record";
 * const state = new TlsWriteState();
 * const records: Uint8Array[] = [];
 * await state.seal({ type: 23, data: new Uint8Array(20000) }, (r) => records.push(r));
 * records.length; // 2
 * ```
 */
export class TlsWriteState {
  readonly #version: number;
  #protector: RecordProtector;
  #maxPlaintext: number;
  #sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);

  /**
   * Creates the first write state.
   *
   * @param options Header version, limits and the initial protector.
   */
  constructor(options: TlsWriteStateOptions = {}) {
    this.#version = options.version ?? ProtocolVersion.tls12;
    this.#protector = options.protector ?? new NullProtector();
    this.#maxPlaintext = (options.limits ?? DEFAULT_RECORD_LIMITS).maxPlaintext;
  }

  /** Most plaintext bytes one record carries. */
  get maxPlaintext(): number {
    return this.#maxPlaintext;
  }

  /**
   * Seals content into as many records as the limit needs (none for empty content).
   *
   * @param message Content type and bytes.
   * @param emit Receives each framed record, in order.
   */
  async seal(message: OutboundMessage, emit: (record: Uint8Array) => void): Promise<void> {
    const { type, data } = message;
    const version = this.#version;
    const protector = this.#protector;
    await sealInOrder(
      fragments(data, this.#maxPlaintext),
      (plaintext) => protector.seal({ type, version, sequence: this.#sequence.next() }, plaintext),
      (_, fragment) => emit(encodeTlsRecord({ type, version, fragment })),
    );
  }

  /**
   * Installs the next connection state: every record of the old one was sealed before this
   * call; the old protector is wiped and the sequence number restarts at 0.
   *
   * @param change The new protector and limit.
   */
  change(change: ProtectorChange): void {
    if (change.protector !== this.#protector) this.#protector.destroy?.();
    this.#protector = change.protector;
    this.#sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);
    if (change.maxPlaintext !== undefined) {
      this.#maxPlaintext = recordLimits(change.maxPlaintext).maxPlaintext;
    }
  }

  /** Wipes the current protector's keys; nothing more can be sealed. */
  destroy(): void {
    this.#protector.destroy?.();
  }
}
