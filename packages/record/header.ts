/**
 * TLS 1.2 and DTLS 1.2 record headers and whole records (RFC 5246 §6.2, RFC 6347 §4.1), with
 * the length limits of RFC 5246 §6.2.3 and the smaller limit of RFC 8449 (record_size_limit).
 *
 * Decoding checks the header as soon as it is complete: an unknown content type is
 * `unexpected_message`, a version we do not speak is `decode_error` (the bytes are not a record
 * of this protocol), and a length over the limit is `record_overflow`.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";
import { isContentType, ProtocolVersion } from "./content_type.ts";

/** Bytes in a TLS record header: type(1) version(2) length(2). */
export const TLS_HEADER_LENGTH = 5;
/** Bytes in a DTLS record header: type(1) version(2) epoch(2) sequence_number(6) length(2). */
export const DTLS_HEADER_LENGTH = 13;
/** Largest plaintext fragment (RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT_LENGTH = 1 << 14;
/** Most bytes protection may add to a fragment (RFC 5246 §6.2.3). */
export const MAX_CIPHERTEXT_EXPANSION = 2048;
/** Smallest record_size_limit a peer may ask for (RFC 8449 §4). */
export const MIN_RECORD_SIZE_LIMIT = 64;

/** Length limits for one direction. */
export interface RecordLimits {
  /** Largest plaintext fragment. */
  readonly maxPlaintext: number;
  /** Largest protected fragment: `maxPlaintext` + 2048. */
  readonly maxCiphertext: number;
}

/** The limits of RFC 5246: 2^14 bytes of plaintext, 2^14 + 2048 of ciphertext. */
export const DEFAULT_RECORD_LIMITS: RecordLimits = Object.freeze({
  maxPlaintext: MAX_PLAINTEXT_LENGTH,
  maxCiphertext: MAX_PLAINTEXT_LENGTH + MAX_CIPHERTEXT_EXPANSION,
});

/**
 * Limits for a negotiated record_size_limit (RFC 8449). In TLS 1.2 the limit counts plaintext
 * bytes; protection may still add its usual expansion on top.
 *
 * @example Limits for a constrained peer
 * ```ts
 * import { recordLimits } from "@anchortls/record";
 * recordLimits(512); // { maxPlaintext: 512, maxCiphertext: 2560 }
 * ```
 *
 * @param recordSizeLimit The negotiated value, 64..2^14.
 * @returns The plaintext and ciphertext limits.
 * @throws {RangeError} When the value is outside 64..2^14.
 */
export function recordLimits(recordSizeLimit: number = MAX_PLAINTEXT_LENGTH): RecordLimits {
  if (
    !Number.isInteger(recordSizeLimit) || recordSizeLimit < MIN_RECORD_SIZE_LIMIT ||
    recordSizeLimit > MAX_PLAINTEXT_LENGTH
  ) {
    throw new RangeError(`record_size_limit ${recordSizeLimit} outside 64..2^14`);
  }
  return Object.freeze({
    maxPlaintext: recordSizeLimit,
    maxCiphertext: recordSizeLimit + MAX_CIPHERTEXT_EXPANSION,
  });
}

/** A TLS record header. */
export interface TlsRecordHeader {
  /** Content type (20..23). */
  readonly type: number;
  /** Protocol version on the wire. */
  readonly version: number;
  /** Fragment length. */
  readonly length: number;
}

/** A DTLS record header. */
export interface DtlsRecordHeader extends TlsRecordHeader {
  /** Epoch: how many times keys changed. */
  readonly epoch: number;
  /** The explicit 48-bit sequence number within the epoch. */
  readonly sequenceNumber: number;
}

/** A TLS record: header fields and fragment. */
export interface TlsRecord {
  /** Content type. */
  readonly type: number;
  /** Protocol version on the wire. */
  readonly version: number;
  /** The (possibly protected) fragment. */
  readonly fragment: Uint8Array;
}

/** A DTLS record: header fields and fragment. */
export interface DtlsRecord extends TlsRecord {
  /** Epoch. */
  readonly epoch: number;
  /** The explicit 48-bit sequence number within the epoch. */
  readonly sequenceNumber: number;
  /** The receiver's Connection ID of a tls12_cid record (RFC 9146 §4), between sequence and length. */
  readonly cid?: Uint8Array;
}

/** What a decoder accepts. */
export interface HeaderCheckOptions {
  /**
   * Versions accepted in the header.
   * @default {[0x0303] for TLS, [0xfefd, 0xfeff] for DTLS}
   */
  versions?: readonly number[];
  /** Length limits. @default {DEFAULT_RECORD_LIMITS} */
  limits?: RecordLimits;
}

const TLS_VERSIONS: readonly number[] = [ProtocolVersion.tls12];
const DTLS_VERSIONS: readonly number[] = [ProtocolVersion.dtls12, ProtocolVersion.dtls10];

function checkFields(
  type: number,
  version: number,
  length: number,
  versions: readonly number[],
  limits: RecordLimits,
): void {
  if (!isContentType(type)) {
    throw new TlsAlertError(AlertDescription.unexpected_message, `unknown content type ${type}`);
  }
  if (!versions.includes(version)) {
    throw new TlsAlertError(
      AlertDescription.decode_error,
      `record version 0x${version.toString(16).padStart(4, "0")} not accepted`,
    );
  }
  if (length > limits.maxCiphertext) {
    throw new TlsAlertError(
      AlertDescription.record_overflow,
      `record length ${length} exceeds ${limits.maxCiphertext}`,
    );
  }
}

function checkEncodable(record: TlsRecord): void {
  if (record.fragment.length > 0xffff) {
    throw new RangeError(`record fragment of ${record.fragment.length} bytes exceeds 2^16 - 1`);
  }
  if (record.type < 0 || record.type > 0xff || record.version < 0 || record.version > 0xffff) {
    throw new RangeError("record type or version out of range");
  }
}

/**
 * Reads and checks a TLS record header from the start of `bytes` (anything after it is ignored).
 *
 * @example Reading a header
 * ```ts
 * import { decodeTlsHeader } from "@anchortls/record";
 * decodeTlsHeader(new Uint8Array([23, 3, 3, 0, 32])); // { type: 23, version: 771, length: 32 }
 * ```
 *
 * @param bytes At least 5 bytes.
 * @param options Accepted versions and limits.
 * @returns The header.
 * @throws {TlsAlertError} decode_error (short input, bad version), unexpected_message
 *   (unknown type), record_overflow (length over the limit).
 */
export function decodeTlsHeader(
  bytes: Uint8Array,
  options: HeaderCheckOptions = {},
): TlsRecordHeader {
  if (bytes.length < TLS_HEADER_LENGTH) {
    throw new TlsAlertError(AlertDescription.decode_error, "short TLS record header");
  }
  const type = bytes[0]!;
  const version = (bytes[1]! << 8) | bytes[2]!;
  const length = (bytes[3]! << 8) | bytes[4]!;
  checkFields(
    type,
    version,
    length,
    options.versions ?? TLS_VERSIONS,
    options.limits ?? DEFAULT_RECORD_LIMITS,
  );
  return { type, version, length };
}

/**
 * Reads and checks a DTLS record header from the start of `bytes`.
 *
 * @example Reading a header
 * ```ts
 * import { decodeDtlsHeader } from "@anchortls/record";
 * const h = decodeDtlsHeader(Uint8Array.fromHex("16fefd00010000000000070010"));
 * h.epoch; // 1
 * h.sequenceNumber; // 7
 * ```
 *
 * @param bytes At least 13 bytes.
 * @param options Accepted versions and limits.
 * @returns The header.
 * @throws {TlsAlertError} As {@linkcode decodeTlsHeader}.
 */
export function decodeDtlsHeader(
  bytes: Uint8Array,
  options: HeaderCheckOptions = {},
): DtlsRecordHeader {
  if (bytes.length < DTLS_HEADER_LENGTH) {
    throw new TlsAlertError(AlertDescription.decode_error, "short DTLS record header");
  }
  const type = bytes[0]!;
  const version = (bytes[1]! << 8) | bytes[2]!;
  const epoch = (bytes[3]! << 8) | bytes[4]!;
  let sequenceNumber = 0;
  for (let i = 5; i < 11; i++) sequenceNumber = sequenceNumber * 256 + bytes[i]!;
  const length = (bytes[11]! << 8) | bytes[12]!;
  checkFields(
    type,
    version,
    length,
    options.versions ?? DTLS_VERSIONS,
    options.limits ?? DEFAULT_RECORD_LIMITS,
  );
  return { type, version, epoch, sequenceNumber, length };
}

/**
 * Encodes a TLS record: header and fragment in one buffer.
 *
 * @example Encoding an alert record
 * ```ts
 * import { encodeTlsRecord } from "@anchortls/record";
 * encodeTlsRecord({ type: 21, version: 0x0303, fragment: new Uint8Array([2, 40]) });
 * // Uint8Array [21, 3, 3, 0, 2, 2, 40]
 * ```
 *
 * @param record The record.
 * @returns Its wire bytes.
 * @throws {RangeError} When the fragment is longer than 2^16 - 1 or a field is out of range.
 */
export function encodeTlsRecord(record: TlsRecord): Uint8Array {
  checkEncodable(record);
  const { fragment } = record;
  const out = new Uint8Array(TLS_HEADER_LENGTH + fragment.length);
  out[0] = record.type;
  out[1] = record.version >>> 8;
  out[2] = record.version;
  out[3] = fragment.length >>> 8;
  out[4] = fragment.length;
  out.set(fragment, TLS_HEADER_LENGTH);
  return out;
}

/**
 * Encodes a DTLS record: header and fragment in one buffer.
 *
 * @example Encoding a handshake record of epoch 0
 * ```ts
 * import { encodeDtlsRecord } from "@anchortls/record";
 * encodeDtlsRecord({ type: 22, version: 0xfefd, epoch: 0, sequenceNumber: 1, fragment: new Uint8Array(0) });
 * ```
 *
 * @param record The record.
 * @returns Its wire bytes.
 * @throws {RangeError} When the fragment is too long, or the epoch or sequence number does not
 *   fit its field.
 */
export function encodeDtlsRecord(record: DtlsRecord): Uint8Array {
  checkEncodable(record);
  const { fragment, epoch, sequenceNumber } = record;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffff) {
    throw new RangeError(`epoch ${epoch} does not fit 16 bits`);
  }
  if (!Number.isInteger(sequenceNumber) || sequenceNumber < 0 || sequenceNumber >= 2 ** 48) {
    throw new RangeError(`sequence number ${sequenceNumber} does not fit 48 bits`);
  }
  const cid = record.cid ?? new Uint8Array(0);
  if (cid.length > 255) throw new RangeError("a CID is at most 255 bytes");
  const out = new Uint8Array(DTLS_HEADER_LENGTH + cid.length + fragment.length);
  out[0] = record.type;
  out[1] = record.version >>> 8;
  out[2] = record.version;
  out[3] = epoch >>> 8;
  out[4] = epoch;
  for (let i = 10, v = sequenceNumber; i >= 5; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  out.set(cid, 11);
  out[11 + cid.length] = fragment.length >>> 8;
  out[12 + cid.length] = fragment.length;
  out.set(fragment, DTLS_HEADER_LENGTH + cid.length);
  return out;
}

/**
 * Decodes exactly one TLS record; the bytes must hold nothing else.
 *
 * @example Decoding what was encoded
 * ```ts
 * import { decodeTlsRecord } from "@anchortls/record";
 * decodeTlsRecord(new Uint8Array([21, 3, 3, 0, 2, 2, 40])).fragment; // Uint8Array [2, 40]
 * ```
 *
 * @param bytes One whole record.
 * @param options Accepted versions and limits.
 * @returns The record; its fragment is a view into `bytes`.
 * @throws {TlsAlertError} As {@linkcode decodeTlsHeader}, and decode_error for a short
 *   fragment or trailing bytes.
 */
export function decodeTlsRecord(bytes: Uint8Array, options: HeaderCheckOptions = {}): TlsRecord {
  const h = decodeTlsHeader(bytes, options);
  expectExactLength(bytes.length, TLS_HEADER_LENGTH + h.length);
  return { type: h.type, version: h.version, fragment: bytes.subarray(TLS_HEADER_LENGTH) };
}

/**
 * Decodes exactly one DTLS record; the bytes must hold nothing else.
 *
 * @example Round trip
 * ```ts
 * import { decodeDtlsRecord, encodeDtlsRecord } from "@anchortls/record";
 * const r = { type: 23, version: 0xfefd, epoch: 1, sequenceNumber: 5, fragment: new Uint8Array([9]) };
 * decodeDtlsRecord(encodeDtlsRecord(r)).sequenceNumber; // 5
 * ```
 *
 * @param bytes One whole record.
 * @param options Accepted versions and limits.
 * @returns The record; its fragment is a view into `bytes`.
 * @throws {TlsAlertError} As {@linkcode decodeTlsRecord}.
 */
export function decodeDtlsRecord(bytes: Uint8Array, options: HeaderCheckOptions = {}): DtlsRecord {
  const h = decodeDtlsHeader(bytes, options);
  expectExactLength(bytes.length, DTLS_HEADER_LENGTH + h.length);
  return {
    type: h.type,
    version: h.version,
    epoch: h.epoch,
    sequenceNumber: h.sequenceNumber,
    fragment: bytes.subarray(DTLS_HEADER_LENGTH),
  };
}

function expectExactLength(actual: number, expected: number): void {
  if (actual < expected) {
    throw new TlsAlertError(AlertDescription.decode_error, "record shorter than its length field");
  }
  if (actual > expected) {
    throw new TlsAlertError(AlertDescription.decode_error, `${actual - expected} trailing bytes`);
  }
}
