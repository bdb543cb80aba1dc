/**
 * Sans-IO record framing: a TLS byte-stream deframer that takes chunks split anywhere, and a
 * DTLS datagram splitter for datagrams that carry several records (RFC 6347 §4.1.1).
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";
import { TLS12_CID } from "./connection_id.ts";
import { ContentType } from "./content_type.ts";
import {
  decodeDtlsHeader,
  decodeTlsHeader,
  DTLS_HEADER_LENGTH,
  type DtlsRecord,
  type DtlsRecordHeader,
  type HeaderCheckOptions,
  TLS_HEADER_LENGTH,
  type TlsRecord,
} from "./header.ts";

/** Buffer bytes a drained deframer keeps: more are given back until the next burst. */
const KEPT_BUFFER = 512;

/**
 * Cuts a TLS byte stream into records. Feed it chunks with {@linkcode push}, take records with
 * {@linkcode next} until it returns `undefined`, and call {@linkcode finish} when the stream
 * ends. A header is checked as soon as its five bytes are in, so an oversize or garbage record
 * fails without waiting for its body.
 *
 * @example Two records split across three chunks
 * ```ts
 * import { TlsDeframer } from "@anchortls/record";
 * const d = new TlsDeframer();
 * d.push(new Uint8Array([23, 3, 3, 0]));
 * d.push(new Uint8Array([1, 0xaa, 21, 3, 3, 0, 2, 1]));
 * d.push(new Uint8Array([0]));
 * d.next()?.fragment; // Uint8Array [0xaa]
 * d.next()?.type; // 21
 * d.next(); // undefined
 * d.finish();
 * ```
 */
export class TlsDeframer {
  readonly #options: HeaderCheckOptions;
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /**
   * Creates a deframer.
   *
   * @param options Accepted versions and limits (the limit can be lowered later with a new
   *   deframer, which is how a negotiated record_size_limit takes effect).
   */
  constructor(options: HeaderCheckOptions = {}) {
    this.#options = options;
  }

  /** Bytes received and not yet returned as a record. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds received bytes (copied; the caller may reuse `chunk`).
   *
   * @param chunk Any number of bytes, from anywhere in the stream.
   * @throws {TlsAlertError} When a header completed by this chunk is invalid.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#end + chunk.length > this.#buffer.length) this.#makeRoom(chunk.length);
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
    if (this.buffered >= TLS_HEADER_LENGTH) {
      decodeTlsHeader(this.#buffer.subarray(this.#start, this.#end), this.#options);
    }
  }

  /**
   * Takes the next complete record.
   *
   * @returns The record (its fragment is a fresh copy), or `undefined` when more bytes are
   *   needed.
   * @throws {TlsAlertError} When the next header is invalid.
   */
  next(): TlsRecord | undefined {
    if (this.buffered < TLS_HEADER_LENGTH) return undefined;
    const header = decodeTlsHeader(this.#buffer.subarray(this.#start, this.#end), this.#options);
    const total = TLS_HEADER_LENGTH + header.length;
    if (this.buffered < total) return undefined;
    const fragment = this.#buffer.slice(this.#start + TLS_HEADER_LENGTH, this.#start + total);
    this.#start += total;
    if (this.#start === this.#end) {
      // Drained: an idle connection should not keep a buffer sized for its largest burst.
      this.#start = this.#end = 0;
      if (this.#buffer.length > KEPT_BUFFER) this.#buffer = new Uint8Array(0);
    }
    return { type: header.type, version: header.version, fragment };
  }

  /**
   * Declares the end of the stream.
   *
   * @throws {TlsAlertError} `decode_error` when a partial record is left over.
   */
  finish(): void {
    if (this.buffered !== 0) {
      throw new TlsAlertError(
        AlertDescription.decode_error,
        `stream ended inside a record (${this.buffered} bytes left)`,
      );
    }
  }

  #makeRoom(incoming: number): void {
    const pending = this.buffered;
    const needed = pending + incoming;
    // Compact when that suffices; grow geometrically otherwise. The buffer never needs to
    // hold more than one maximal record plus one chunk.
    const target = needed <= this.#buffer.length
      ? this.#buffer
      : new Uint8Array(Math.max(needed, this.#buffer.length * 2, 1024));
    target.set(this.#buffer.subarray(this.#start, this.#end), 0);
    this.#buffer = target;
    this.#start = 0;
    this.#end = pending;
  }
}

/** Options for {@linkcode splitDatagram}. */
export interface SplitDatagramOptions extends HeaderCheckOptions {
  /**
   * Called with the error instead of throwing it; the records before the bad one are
   * returned. @default {undefined: the error is thrown}
   */
  onInvalid?: (error: TlsAlertError) => void;
  /**
   * The length of the CID we asked the peer to send (RFC 9146): tls12_cid records, whose
   * header does not say how long their CID is, are read with it. Without it they are invalid.
   */
  cidLength?: number;
}

/**
 * Splits one datagram into the DTLS records it carries.
 *
 * RFC 6347 §4.1.2.7 says invalid records should be discarded rather than fail the
 * association; a caller that follows it catches the error and drops the rest of the datagram
 * (a record cannot span datagrams, so nothing after a bad header can be framed).
 *
 * @example Two records in one datagram
 * ```ts
 * import { encodeDtlsRecord, splitDatagram } from "@anchortls/record";
 * const r = { type: 22, version: 0xfefd, epoch: 0, fragment: new Uint8Array([1]) };
 * const datagram = new Uint8Array([
 *   ...encodeDtlsRecord({ ...r, sequenceNumber: 0 }),
 *   ...encodeDtlsRecord({ ...r, sequenceNumber: 1 }),
 * ]);
 * splitDatagram(datagram).map((x) => x.sequenceNumber); // [0, 1]
 * ```
 *
 * @param datagram One received datagram.
 * @param options Accepted versions, limits, and what to do with an invalid record.
 * @returns The records in order; fragments are views into `datagram`.
 * @throws {TlsAlertError} Unless `onInvalid` is given: when a header is invalid (see
 *   {@linkcode decodeDtlsHeader}), or decode_error when a record runs past the datagram's end.
 */
export function splitDatagram(
  datagram: Uint8Array,
  options: SplitDatagramOptions = {},
): DtlsRecord[] {
  const records: DtlsRecord[] = [];
  let at = 0;
  while (at < datagram.length) {
    let h: DtlsRecordHeader;
    // A tls12_cid header has the CID between the sequence number and the length.
    const cidLength = datagram[at] === TLS12_CID && options.cidLength !== undefined
      ? options.cidLength
      : 0;
    try {
      h = cidLength > 0
        ? decodeCidHeader(datagram.subarray(at), cidLength, options)
        : decodeDtlsHeader(datagram.subarray(at), options);
      if (at + DTLS_HEADER_LENGTH + cidLength + h.length > datagram.length) {
        throw new TlsAlertError(
          AlertDescription.decode_error,
          "DTLS record runs past its datagram",
        );
      }
    } catch (error) {
      if (!options.onInvalid || !(error instanceof TlsAlertError)) throw error;
      options.onInvalid(error);
      break;
    }
    const start = at + DTLS_HEADER_LENGTH + cidLength;
    const end = start + h.length;
    records.push({
      type: h.type,
      version: h.version,
      epoch: h.epoch,
      sequenceNumber: h.sequenceNumber,
      ...(cidLength > 0 ? { cid: datagram.subarray(at + 11, at + 11 + cidLength) } : {}),
      fragment: datagram.subarray(start, end),
    });
    at = end;
  }
  return records;
}

/** A tls12_cid header: the DTLS fields, a CID of the length we chose, then the length. */
function decodeCidHeader(
  bytes: Uint8Array,
  cidLength: number,
  options: HeaderCheckOptions,
): DtlsRecordHeader {
  if (bytes.length < DTLS_HEADER_LENGTH + cidLength) {
    throw new TlsAlertError(AlertDescription.decode_error, "short tls12_cid record header");
  }
  // The usual header with the CID cut out, checked as any other (the type aside).
  const plain = new Uint8Array(DTLS_HEADER_LENGTH);
  plain.set(bytes.subarray(0, 11));
  plain.set(bytes.subarray(11 + cidLength, 13 + cidLength), 11);
  plain[0] = ContentType.application_data;
  const header = decodeDtlsHeader(plain, options);
  return { ...header, type: TLS12_CID };
}
