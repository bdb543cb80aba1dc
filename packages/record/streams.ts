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
  encodeTlsRecord,
  type HeaderCheckOptions,
  type RecordLimits,
  recordLimits,
  type TlsRecord,
} from "./header.ts";
import { NullProtector, type RecordProtector } from "./protector.ts";
import { ReplayWindow } from "./replay_window.ts";
import { DTLS_SEQUENCE_LIMIT, SequenceCounter, TLS_SEQUENCE_LIMIT } from "./sequence.ts";

/** A TLS record after its protection was removed. */
export interface InboundRecord extends TlsRecord {
  /** The 64-bit sequence number it was authenticated under. */
  readonly sequence: bigint;
}

/** Options for {@linkcode RecordReader}. */
export interface RecordReaderOptions extends HeaderCheckOptions {
  /** The protector of the first connection state. @default {new NullProtector()} */
  protector?: RecordProtector;
}

function overflow(length: number, limits: RecordLimits): TlsAlertError {
  return new TlsAlertError(
    AlertDescription.record_overflow,
    `record plaintext of ${length} bytes exceeds ${limits.maxPlaintext}`,
  );
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
  #protector: RecordProtector;
  #limits: RecordLimits;
  #sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);
  #waitForKeys: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * Creates a reader.
   *
   * @param options Accepted versions, limits and the initial protector.
   */
  constructor(options: RecordReaderOptions = {}) {
    const deframer = new TlsDeframer(options);
    super({
      transform: async (chunk, controller) => {
        deframer.push(chunk);
        for (let record = deframer.next(); record; record = deframer.next()) {
          if (this.#waitForKeys) await this.#waitForKeys.promise;
          const sequence = this.#sequence.next();
          const context = { type: record.type, version: record.version, sequence };
          const fragment = await this.#protector.open(context, record.fragment);
          if (fragment.length > this.#limits.maxPlaintext) {
            throw overflow(fragment.length, this.#limits);
          }
          controller.enqueue({ type: record.type, version: record.version, fragment, sequence });
          if (record.type === ContentType.change_cipher_spec) {
            this.#waitForKeys = Promise.withResolvers<void>();
          }
        }
      },
      flush: () => deframer.finish(),
    });
    this.#protector = options.protector ?? new NullProtector();
    this.#limits = options.limits ?? DEFAULT_RECORD_LIMITS;
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
    if (maxPlaintext !== undefined) this.#limits = recordLimits(maxPlaintext);
    if (protector !== this.#protector) this.#protector.destroy?.();
    this.#protector = protector;
    this.#sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);
    this.#waitForKeys?.resolve();
    this.#waitForKeys = undefined;
  }

  /**
   * Wipes the current read protector's keys (at the end of the connection); records that
   * arrive afterwards cannot be opened.
   */
  destroy(): void {
    this.#protector.destroy?.();
  }
}

/** Content to send with a given type (application data can be written as plain bytes). */
export interface OutboundMessage {
  /** Content type of the records. */
  readonly type: ContentType;
  /** The content; split into as many records as the limit requires. */
  readonly data: Uint8Array;
}

/** Installs a new write protector; every record written after it uses it. */
export interface ProtectorChange {
  /** The next connection state's (or epoch's) write protector. */
  readonly protector: RecordProtector;
  /**
   * Most plaintext bytes per record from now on (a negotiated max_fragment_length or
   * record_size_limit). @default {the limit the writer had}
   */
  readonly maxPlaintext?: number;
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

function checkedLimit(maxPlaintext: number): number {
  return recordLimits(maxPlaintext).maxPlaintext;
}

function* fragments(data: Uint8Array, limit: number): Generator<Uint8Array> {
  for (let at = 0; at < data.length; at += limit) {
    yield data.subarray(at, Math.min(at + limit, data.length));
  }
}

/**
 * Records of one write that may be sealed at once. With an asynchronous protector (WebCrypto)
 * a 64 KiB write then keeps both cores of a small machine busy instead of one; more in flight
 * only holds more memory.
 */
const SEALS_IN_FLIGHT = 4;

/**
 * Seals records with up to {@linkcode SEALS_IN_FLIGHT} of them in flight, and emits them in
 * the order they were started, which is the order of their sequence numbers.
 *
 * @param records The records to seal; the iterator assigns sequence numbers as it goes.
 * @param seal Starts sealing one record.
 * @param emit Receives each sealed fragment, in order.
 */
async function sealInOrder<T>(
  records: Iterable<T>,
  seal: (record: T) => Uint8Array | Promise<Uint8Array>,
  emit: (record: T, fragment: Uint8Array) => void,
): Promise<void> {
  const inFlight: { record: T; fragment: Promise<Uint8Array> }[] = [];
  for (const record of records) {
    const fragment = Promise.resolve(seal(record));
    // A failure is rethrown where the record is awaited; until then it must not count as an
    // unhandled rejection, which would end the whole process.
    fragment.catch(() => {});
    inFlight.push({ record, fragment });
    if (inFlight.length === SEALS_IN_FLIGHT) {
      const first = inFlight.shift()!;
      emit(first.record, await first.fragment);
    }
  }
  for (const { record, fragment } of inFlight) emit(record, await fragment);
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
  #protector: RecordProtector;

  /**
   * Creates a writer.
   *
   * @param options Header version, limits and the initial protector.
   */
  constructor(options: RecordWriterOptions = {}) {
    const version = options.version ?? ProtocolVersion.tls12;
    let limit = (options.limits ?? DEFAULT_RECORD_LIMITS).maxPlaintext;
    let sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);
    super({
      transform: async (input, controller) => {
        if ("protector" in input) {
          // Every record of the old state was sealed before this change was taken.
          if (input.protector !== this.#protector) this.#protector.destroy?.();
          this.#protector = input.protector;
          sequence = new SequenceCounter(TLS_SEQUENCE_LIMIT);
          if (input.maxPlaintext !== undefined) limit = checkedLimit(input.maxPlaintext);
          return;
        }
        const { type, data } = asMessage(input);
        const protector = this.#protector;
        await sealInOrder(
          fragments(data, limit),
          (plaintext) => protector.seal({ type, version, sequence: sequence.next() }, plaintext),
          (_, fragment) => controller.enqueue(encodeTlsRecord({ type, version, fragment })),
        );
      },
      flush: () => this.destroy(),
    });
    this.#protector = options.protector ?? new NullProtector();
  }

  /**
   * Wipes the current write protector's keys; closing the writable side does it too. Call it
   * only once nothing more is to be written.
   */
  destroy(): void {
    this.#protector.destroy?.();
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
    if (fragment.length > limits.maxPlaintext) throw overflow(fragment.length, limits);
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
