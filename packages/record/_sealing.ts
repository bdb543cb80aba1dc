/**
 * Helpers the record writers share: splitting content to the plaintext limit, sealing a few
 * records at once in sequence order, and the record_overflow error.
 *
 * @module
 */

import { AlertDescription, TlsAlertError } from "./alert.ts";

/** The error for a record whose plaintext exceeds the limit. */
export function overflow(length: number, maxPlaintext: number): TlsAlertError {
  return new TlsAlertError(
    AlertDescription.record_overflow,
    `record plaintext of ${length} bytes exceeds ${maxPlaintext}`,
  );
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
export async function sealInOrder<T>(
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

/** Pieces of `data` of at most `limit` bytes; none for empty data. */
export function* fragments(data: Uint8Array, limit: number): Generator<Uint8Array> {
  for (let at = 0; at < data.length; at += limit) {
    yield data.subarray(at, Math.min(at + limit, data.length));
  }
}
