/**
 * Response APDUs: response data followed by the status word SW1 SW2.
 *
 * @module
 */

import { ApduError } from "./apdu_error.ts";

/** A decoded response APDU. */
export interface ResponseApdu {
  /** Response data, possibly empty. */
  readonly data: Uint8Array;
  /** The status word, SW1 << 8 | SW2. */
  readonly sw: number;
}

/**
 * Splits a response APDU into data and status word.
 *
 * @example Decoding
 * ```ts
 * import { decodeResponse } from "@anchortls/multos-apdu";
 * decodeResponse(Uint8Array.fromHex("01029000")).sw; // 0x9000
 * ```
 *
 * @param bytes Response data ‖ SW1 SW2.
 * @param command Name of the command it answers, for the error.
 * @returns The data (a copy) and the status word.
 * @throws {ApduError} When fewer than two bytes arrive, or SW1 is not a valid 6X/9X byte.
 */
export function decodeResponse(bytes: Uint8Array, command = "response"): ResponseApdu {
  if (bytes.length < 2) {
    throw new ApduError(undefined, command, {
      detail: `response of ${bytes.length} bytes has no status word`,
    });
  }
  const sw1 = bytes[bytes.length - 2]!;
  const sw = sw1 << 8 | bytes[bytes.length - 1]!;
  // ISO 7816-4 §5.1.3: SW1 is 6X or 9X, and 60 is a T=0 procedure byte, never a status.
  if ((sw1 & 0xf0) !== 0x60 && (sw1 & 0xf0) !== 0x90 || sw1 === 0x60) {
    throw new ApduError(sw, command, { detail: "SW1 is not a status byte" });
  }
  return { data: bytes.slice(0, bytes.length - 2), sw };
}

/**
 * Builds a response APDU.
 *
 * @example Encoding
 * ```ts
 * import { encodeResponse } from "@anchortls/multos-apdu";
 * encodeResponse(new Uint8Array([1, 2]), 0x9000).toHex(); // "01029000"
 * ```
 *
 * @param data Response data.
 * @param sw The status word.
 * @returns Data ‖ SW1 SW2.
 * @throws {ApduError} When `sw` is not a 16-bit value.
 */
export function encodeResponse(data: Uint8Array, sw: number): Uint8Array {
  if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) {
    throw new ApduError(undefined, "response", { detail: `status word ${sw} is not 16 bits` });
  }
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}
