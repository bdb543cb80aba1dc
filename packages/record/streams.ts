/**
 * Web Streams shells around the sans-IO record core: a TLS byte stream in and out of records,
 * and the DTLS datagram equivalents. They hold the current protector and sequence counter of
 * their direction; key changes arrive in order with the data they apply to.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";
import { ContentType, ProtocolVersion } from "./content_type.ts";
import { splitDatagram, TlsDeframer } from "./deframer.ts";
import {
  DEFAULT_RECORD_LIMITS,
  type DtlsRecord,
  encodeDtlsRecord,
  type HeaderCheckOptions,
  type RecordLimits,
} from "./header.ts";
import { NullProtector, type RecordProtector } from "./protector.ts";
import { ReplayWindow } from "./replay_window.ts";
import { DTLS_SEQUENCE_LIMIT, SequenceCounter } from "./sequence.ts";
import {
  type InboundRecord,
  type OutboundMessage,
  type ProtectorChange,
  TlsReadState,
  TlsWriteState,
} from "./connection_state.ts";
import { fragments, overflow, sealInOrder } from "./_sealing.ts";

/** Options for {@linkcode RecordReader}. */
export interface RecordReaderOptions extends HeaderCheckOptions {
  /** The protector of the first connection state. @default {new NullProtector()} */
  protector?: RecordProtector;
}

/**
 * Turns a TLS byte stream (chunks split anywhere, even one byte at a time) into opened
 * records. Malformed or unauthentic input errors the stream with a {@linkcode TlsAlertError}
 * carrying the alert to send.
 *
 * After a change_cipher_spec record every later record belongs to the next connection state,
 * so the reader holds them until {@linkcode setProtector} installs its keys.
 *
 * @example Reading records from a byte stream
 * ```ts
 * import { encodeTlsRecord, RecordReader } from "@anchortls/record";
 * const bytes = encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array([7]) });
 * const records = ReadableStream.from([bytes.subarray(0, 2), bytes.subarray(2)])
 *   .pipeThrough(new RecordReader());
 * for await (const record of records) record.fragment; // Uint8Array [7]
 * ```
 */
export class RecordReader extends TransformStream<Uint8Array, InboundRecord> {
  readonly #state: TlsReadState;
  #waitForKeys: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * Creates a reader.
   *
   * @param options Accepted versions, limits and the initial protector.
   */
  constructor(options: RecordReaderOptions = {}) {
    const deframer = new TlsDeframer(options);
    const state = new TlsReadState(options);
    super({
      transform: async (chunk, controller) => {
        deframer.push(chunk);
        for (let record = deframer.next(); record; record = deframer.next()) {
          if (this.#waitForKeys) await this.#waitForKeys.promise;
          const opened = await state.open(record);
          // Armed before the record is handed on: whoever reads it may install the keys at once.
          if (record.type === ContentType.change_cipher_spec) {
            this.#waitForKeys = Promise.withResolvers<void>();
          }
          controller.enqueue(opened);
        }
      },
      flush: () => deframer.finish(),
    });
    this.#state = state;
  }

  /**
   * Installs the next connection state's read protector (after change_cipher_spec), and
   * restarts the sequence number at 0 as RFC 5246 §6.1 requires.
   *
   * @param protector The new read protector.
   * @param maxPlaintext Most plaintext bytes a record of the new state may carry (a
   *   negotiated max_fragment_length or record_size_limit). @default {the limit it had}
   */
  setProtector(protector: RecordProtector, maxPlaintext?: number): void {
    this.#state.change(maxPlaintext === undefined ? { protector } : { protector, maxPlaintext });
    this.#waitForKeys?.resolve();
    this.#waitForKeys = undefined;
  }

  /**
   * Wipes the current read protector's keys (at the end of the connection); records that
   * arrive afterwards cannot be opened.
   */
  destroy(): void {
    this.#state.destroy();
  }
}

/** What a writer accepts: application data bytes, typed content, or a key change. */
export type RecordWriterInput = Uint8Array | OutboundMessage | ProtectorChange;

/** Options for {@linkcode RecordWriter} and {@linkcode DatagramRecordWriter}. */
export interface RecordWriterOptions {
  /** Version written in record headers. @default {0x0303 for TLS, 0xfefd for DTLS} */
  version?: number;
  /** Length limits; a negotiated record_size_limit lowers `maxPlaintext`. */
  limits?: RecordLimits;
  /** The protector of the first connection state. @default {new NullProtector()} */
  protector?: RecordProtector;
}

function asMessage(input: Uint8Array | OutboundMessage): OutboundMessage {
  return input instanceof Uint8Array ? { type: ContentType.application_data, data: input } : input;
}

/**
 * Turns outgoing content into protected TLS records, one output chunk per record, splitting
 * writes larger than the plaintext limit. Empty writes produce no record.
 *
 * @example Writing application data in records of at most 2^14 bytes
 * ```ts
 * import { RecordWriter } from "@anchortls/record";
 * const writer = new RecordWriter();
 * const w = writer.writable.getWriter();
 * w.write(new Uint8Array(20000));
 * w.close();
 * const records = await Array.fromAsync(writer.readable); // 2 records: 16384 + 3616 bytes
 * ```
 */
export class RecordWriter extends TransformStream<RecordWriterInput, Uint8Array> {
  readonly #state: TlsWriteState;

  /**
   * Creates a writer.
   *
   * @param options Header version, limits and the initial protector.
   */
  constructor(options: RecordWriterOptions = {}) {
    const state = new TlsWriteState(options);
    super({
      transform: async (input, controller) => {
        // Every record of the old state was sealed before a change is taken.
        if ("protector" in input) state.change(input);
        else await state.seal(asMessage(input), (record) => controller.enqueue(record));
      },
      flush: () => this.destroy(),
    });
    this.#state = state;
  }

  /**
   * Wipes the current write protector's keys; closing the writable side does it too. Call it
   * only once nothing more is to be written.
   */
  destroy(): void {
    this.#state.destroy();
  }
}

/** A DTLS record after its protection was removed. */
export type InboundDatagramRecord = DtlsRecord;

/** Options for {@linkcode DatagramRecordReader}. */
export interface DatagramRecordReaderOptions extends HeaderCheckOptions {
  /**
   * Error the stream on the first invalid record instead of dropping it. RFC 6347 §4.1.2.7
   * asks for silent discard, which keeps a forged datagram from tearing down the association.
   * @default {false}
   */
  strict?: boolean;
}

/**
 * Turns received datagrams into opened DTLS records. Each datagram may hold several records.
 * Records of an unknown epoch, replays (64-entry window per epoch), and records that fail to
 * authenticate are dropped and counted ({@linkcode dropped}); the window advances only for
 * records that authenticated. Epoch 0 starts with a {@linkcode NullProtector}.
 *
 * @example Reading two records from one datagram
 * ```ts
 * import { DatagramRecordReader, encodeDtlsRecord } from "@anchortls/record";
 * const r = { type: 22, version: 0xfefd, epoch: 0, fragment: new Uint8Array([1]) };
 * const datagram = new Uint8Array([
 *   ...encodeDtlsRecord({ ...r, sequenceNumber: 0 }),
 *   ...encodeDtlsRecord({ ...r, sequenceNumber: 1 }),
 * ]);
 * const records = await Array.fromAsync(
 *   ReadableStream.from([datagram]).pipeThrough(new DatagramRecordReader()),
 * ); // 2 records
 * ```
 */
export class DatagramRecordReader extends TransformStream<Uint8Array, InboundDatagramRecord> {
  readonly #epochs = new Map<number, { protector: RecordProtector; window: ReplayWindow }>();
  #dropped = 0;

  /**
   * Creates a reader.
   *
   * @param options Accepted versions, limits, and whether invalid records error the stream.
   */
  constructor(options: DatagramRecordReaderOptions = {}) {
    const limits = options.limits ?? DEFAULT_RECORD_LIMITS;
    const strict = options.strict ?? false;
    super({
      transform: async (datagram, controller) => {
        for (const record of this.#frame(datagram, options, strict)) {
          try {
            const fragment = await this.#open(record, limits);
            controller.enqueue({ ...record, fragment });
          } catch (error) {
            if (strict) throw error;
            this.#dropped++;
          }
        }
      },
    });
    this.setEpoch(0, new NullProtector());
  }

  /** How many records (or unframeable datagram tails) were dropped. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Accepts records of an epoch, with a fresh replay window.
   *
   * @param epoch The epoch number (0..65535).
   * @param protector Its read protector.
   */
  setEpoch(epoch: number, protector: RecordProtector): void {
    this.#epochs.set(epoch, { protector, window: new ReplayWindow() });
  }

  /**
   * Stops accepting records of an epoch (once the next one is established and the old one's
   * retransmissions are no longer expected).
   *
   * @param epoch The epoch number.
   */
  removeEpoch(epoch: number): void {
    this.#epochs.delete(epoch);
  }

  async #open(record: DtlsRecord, limits: RecordLimits): Promise<Uint8Array> {
    const state = this.#epochs.get(record.epoch);
    if (!state) {
      throw new TlsAlertError(
        AlertDescription.unexpected_message,
        `no keys for epoch ${record.epoch}`,
      );
    }
    if (!state.window.check(record.sequenceNumber)) {
      throw new TlsAlertError(AlertDescription.bad_record_mac, "replayed or too old record");
    }
    const sequence = (BigInt(record.epoch) << 48n) | BigInt(record.sequenceNumber);
    const context = { type: record.type, version: record.version, sequence };
    const fragment = await state.protector.open(context, record.fragment);
    if (fragment.length > limits.maxPlaintext) throw overflow(fragment.length, limits.maxPlaintext);
    state.window.mark(record.sequenceNumber);
    return fragment;
  }

  /** The datagram's records; after a bad header nothing frames, so the rest is dropped. */
  #frame(datagram: Uint8Array, options: HeaderCheckOptions, strict: boolean): DtlsRecord[] {
    if (strict) return splitDatagram(datagram, options);
    return splitDatagram(datagram, { ...options, onInvalid: () => this.#dropped++ });
  }
}

/**
 * Turns outgoing content into protected DTLS records, one datagram per record, splitting
 * writes larger than the plaintext limit. A {@linkcode ProtectorChange} starts the next epoch
 * with sequence number 0.
 *
 * @example Writing a handshake message in epoch 0
 * ```ts
 * import { DatagramRecordWriter } from "@anchortls/record";
 * const writer = new DatagramRecordWriter();
 * const w = writer.writable.getWriter();
 * w.write({ type: 22, data: new Uint8Array(10) });
 * w.close();
 * const [datagram] = await Array.fromAsync(writer.readable); // 13-byte header + 10
 * ```
 */
export class DatagramRecordWriter extends TransformStream<RecordWriterInput, Uint8Array> {
  /**
   * Creates a writer.
   *
   * @param options Header version, limits and the epoch-0 protector.
   */
  constructor(options: RecordWriterOptions = {}) {
    const version = options.version ?? ProtocolVersion.dtls12;
    const limit = (options.limits ?? DEFAULT_RECORD_LIMITS).maxPlaintext;
    let protector = options.protector ?? new NullProtector();
    let epoch = 0;
    let sequence = new SequenceCounter(DTLS_SEQUENCE_LIMIT);
    super({
      transform: async (input, controller) => {
        if ("protector" in input) {
          if (epoch === 0xffff) {
            throw new TlsAlertError(AlertDescription.internal_error, "DTLS epoch would wrap");
          }
          protector = input.protector;
          epoch++;
          sequence = new SequenceCounter(DTLS_SEQUENCE_LIMIT);
          return;
        }
        const { type, data } = asMessage(input);
        await sealInOrder(
          function* () {
            for (const plaintext of fragments(data, limit)) {
              yield { plaintext, sequenceNumber: sequence.next() };
            }
          }(),
          ({ plaintext, sequenceNumber }) =>
            protector.seal(
              { type, version, sequence: (BigInt(epoch) << 48n) | sequenceNumber },
              plaintext,
            ),
          ({ sequenceNumber }, fragment) =>
            controller.enqueue(encodeDtlsRecord({
              type,
              version,
              epoch: epoch,
              sequenceNumber: Number(sequenceNumber),
              fragment,
            })),
        );
      },
    });
  }
}
