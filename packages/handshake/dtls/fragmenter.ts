/**
 * Outgoing DTLS handshake messages cut to the path MTU (RFC 6347 §4.1.1.1, §4.2.3), and
 * records packed several to a datagram.
 *
 * "MTU" here is the most bytes of UDP payload one datagram may carry; IP and UDP headers are
 * not counted. A handshake record then costs the 13-byte record header, the protector's
 * expansion for its epoch and the 12-byte handshake header around its fragment.
 *
 * @module
 */

import { DTLS_HEADER_LENGTH, MAX_PLAINTEXT_LENGTH } from "@anchortls/record";
import {
  DTLS_HANDSHAKE_HEADER_LENGTH,
  type DtlsHandshakeMessage,
  encodeDtlsHandshakeFragment,
} from "./handshake_header.ts";

/** Default path MTU in bytes of datagram payload: safe on IPv6 and most tunnels. */
export const DEFAULT_DTLS_MTU = 1200;

/**
 * Works out the largest handshake fragment body that fits one record in one datagram.
 *
 * @example Fragment size at the default MTU, before and after ChangeCipherSpec
 * ```ts
 * import { DEFAULT_DTLS_MTU, maxHandshakeFragmentLength } from "@anchortls/handshake/dtls";
 * maxHandshakeFragmentLength(DEFAULT_DTLS_MTU, 0); // 1175
 * maxHandshakeFragmentLength(DEFAULT_DTLS_MTU, 16 + 32 + 16); // 1111, AES-CBC with SHA-256
 * ```
 *
 * @param mtu Most bytes of payload one datagram may carry.
 * @param protectorExpansion The `maxExpansion` of the record protector of the epoch the
 *   message is sent in (0 for epoch 0).
 * @returns Bytes of message body per fragment, capped so the record plaintext stays ≤ 2^14.
 * @throws {RangeError} When the MTU leaves no room for even one byte of body.
 */
export function maxHandshakeFragmentLength(mtu: number, protectorExpansion: number): number {
  if (!Number.isSafeInteger(mtu) || !Number.isSafeInteger(protectorExpansion)) {
    throw new RangeError("mtu and protector expansion must be integers");
  }
  const room = mtu - DTLS_HEADER_LENGTH - protectorExpansion - DTLS_HANDSHAKE_HEADER_LENGTH;
  if (room < 1) {
    throw new RangeError(
      `an MTU of ${mtu} leaves no room for a handshake fragment (expansion ${protectorExpansion})`,
    );
  }
  return Math.min(room, MAX_PLAINTEXT_LENGTH - DTLS_HANDSHAKE_HEADER_LENGTH);
}

/**
 * Cuts a handshake message into fragments, each the whole plaintext of one record.
 *
 * A message that fits is sent as one unfragmented fragment; an empty message still yields one
 * (empty) fragment.
 *
 * @example Fragmenting a 2500-byte Certificate at the default MTU
 * ```ts
 * import { fragmentHandshakeMessage, maxHandshakeFragmentLength } from "@anchortls/handshake/dtls";
 * const records = fragmentHandshakeMessage(
 *   { msgType: 11, messageSeq: 1, body: new Uint8Array(2500) },
 *   maxHandshakeFragmentLength(1200, 0),
 * );
 * records.map((r) => r.length); // [1187, 1187, 174]
 * ```
 *
 * @param message The message to send.
 * @param maxFragmentLength Most body bytes per fragment, from
 *   {@linkcode maxHandshakeFragmentLength}.
 * @returns One record plaintext per fragment (12-byte header and body), in offset order.
 * @throws {RangeError} When `maxFragmentLength` is not a positive integer.
 */
export function fragmentHandshakeMessage(
  message: DtlsHandshakeMessage,
  maxFragmentLength: number,
): Uint8Array[] {
  if (!Number.isSafeInteger(maxFragmentLength) || maxFragmentLength < 1) {
    throw new RangeError(`fragment length ${maxFragmentLength} must be a positive integer`);
  }
  const { msgType, messageSeq, body } = message;
  return fragmentSpans(body.length, maxFragmentLength).map(({ offset, length }) =>
    encodeDtlsHandshakeFragment({
      msgType,
      length: body.length,
      messageSeq,
      fragmentOffset: offset,
      body: body.subarray(offset, offset + length),
    })
  );
}

/**
 * Where {@linkcode fragmentHandshakeMessage} cuts a message body: consecutive spans of at most
 * `maxFragmentLength` bytes, one (empty) span for an empty body.
 *
 * @example
 * ```ts
 * import { fragmentSpans } from "@anchortls/handshake/dtls";
 * fragmentSpans(2500, 1175); // [{ offset: 0, length: 1175 }, { offset: 1175, length: 1175 }, { offset: 2350, length: 150 }]
 * ```
 *
 * @param length The body's length.
 * @param maxFragmentLength Most body bytes per fragment, a positive integer.
 * @returns The spans, in offset order.
 */
export function fragmentSpans(
  length: number,
  maxFragmentLength: number,
): { offset: number; length: number }[] {
  const spans: { offset: number; length: number }[] = [];
  let offset = 0;
  do {
    const end = Math.min(offset + maxFragmentLength, length);
    spans.push({ offset, length: end - offset });
    offset = end;
  } while (offset < length);
  return spans;
}

/**
 * Packs encoded records into as few datagrams as possible, keeping their order: each record
 * goes into the current datagram if it still fits, otherwise it starts the next one.
 *
 * @example Packing a flight of three records
 * ```ts
 * import { packDatagrams } from "@anchortls/handshake/dtls";
 * const datagrams = packDatagrams(
 *   [new Uint8Array(700), new Uint8Array(400), new Uint8Array(200)],
 *   1200,
 * );
 * datagrams.map((d) => d.length); // [1100, 200]
 * ```
 *
 * @param records Whole records (header and protected fragment), in sending order.
 * @param mtu Most bytes of payload one datagram may carry.
 * @returns The datagrams' payloads.
 * @throws {RangeError} When a record alone is larger than the MTU: fragmenting it was the
 *   caller's job.
 */
export function packDatagrams(records: readonly Uint8Array[], mtu: number): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  let batchLength = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const datagram = new Uint8Array(batchLength);
    let at = 0;
    for (const record of batch) {
      datagram.set(record, at);
      at += record.length;
    }
    datagrams.push(datagram);
    batch = [];
    batchLength = 0;
  };
  for (const record of records) {
    if (record.length > mtu) {
      throw new RangeError(`a record of ${record.length} bytes does not fit an MTU of ${mtu}`);
    }
    if (batchLength + record.length > mtu) flush();
    batch.push(record);
    batchLength += record.length;
  }
  flush();
  return datagrams;
}
