/**
 * Lists of 16-bit code points (cipher suites, signature schemes) inside a vector.
 *
 * @module
 */

import { AlertDescription, Reader, TlsAlertError, Writer } from "@anchortls/record";

/**
 * Reads a vector's bytes as big-endian u16 values.
 *
 * @param bytes The vector's content.
 * @param what Names the list in an error.
 * @returns The values.
 * @throws {TlsAlertError} `decode_error` when the length is odd or zero.
 */
export function readU16List(bytes: Uint8Array, what: string): number[] {
  if (bytes.length === 0 || bytes.length % 2 !== 0) {
    throw new TlsAlertError(AlertDescription.decode_error, `${what}: bad length ${bytes.length}`);
  }
  const r = new Reader(bytes);
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.u16());
  return out;
}

/**
 * Writes big-endian u16 values as a u16-prefixed vector (signature_algorithms,
 * supported_groups).
 *
 * @param values The values.
 * @returns The vector, length prefix first.
 */
export function writeU16List(values: readonly number[]): Uint8Array {
  return new Writer(2 + 2 * values.length).vector16((v) => {
    for (const value of values) v.u16(value);
  }).finish();
}
