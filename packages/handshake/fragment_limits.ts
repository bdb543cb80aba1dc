/**
 * Smaller records on request: max_fragment_length (RFC 6066 §4) and record_size_limit
 * (RFC 8449), what the ClientHello offers and what the ServerHello settles for each direction.
 *
 * @module
 */

import {
  AlertDescription,
  MAX_PLAINTEXT_LENGTH,
  MIN_RECORD_SIZE_LIMIT,
  TlsAlertError,
} from "@anchortls/record";
import { type Extension, ExtensionType } from "./messages/extensions.ts";

/** The fragment lengths RFC 6066 can ask for. */
export type MaxFragmentLength = 512 | 1024 | 2048 | 4096;

const MFL_CODES: ReadonlyMap<MaxFragmentLength, number> = new Map([
  [512, 1],
  [1024, 2],
  [2048, 3],
  [4096, 4],
]);

/** What to ask the server for; each absent one is not offered. */
export interface FragmentOffer {
  /** max_fragment_length to offer. */
  readonly maxFragmentLength?: MaxFragmentLength;
  /** record_size_limit to offer: the most plaintext bytes we take in one record. */
  readonly recordSizeLimit?: number;
}

/** The plaintext limits of one connection after the ServerHello, per direction. */
export interface FragmentLimits {
  /** Most plaintext bytes per record we send. */
  readonly send: number;
  /** Most plaintext bytes per record the server may send us. */
  readonly receive: number;
  /** Which extension the server took, or `none` (the RFC 5246 limit of 2^14 both ways). */
  readonly negotiatedBy: "max_fragment_length" | "record_size_limit" | "none";
}

/** The limits without either extension. */
export const UNLIMITED_FRAGMENTS: FragmentLimits = Object.freeze({
  send: MAX_PLAINTEXT_LENGTH,
  receive: MAX_PLAINTEXT_LENGTH,
  negotiatedBy: "none",
});

/**
 * The largest max_fragment_length that is not above a limit, or `undefined` when even 512 is.
 *
 * @param limit Most plaintext bytes a record may carry.
 * @returns The fragment length to offer.
 */
export function maxFragmentLengthWithin(limit: number): MaxFragmentLength | undefined {
  let best: MaxFragmentLength | undefined;
  for (const length of MFL_CODES.keys()) if (length <= limit) best = length;
  return best;
}

/**
 * Checks an offer and builds its ClientHello extensions.
 *
 * @param offer What to ask for.
 * @returns The extensions, max_fragment_length first.
 * @throws {RangeError} For a length RFC 6066 or RFC 8449 cannot express.
 */
export function fragmentExtensions(offer: FragmentOffer): Extension[] {
  const extensions: Extension[] = [];
  if (offer.maxFragmentLength !== undefined) {
    const code = MFL_CODES.get(offer.maxFragmentLength);
    if (code === undefined) {
      throw new RangeError(
        `maxFragmentLength ${offer.maxFragmentLength} is not 512/1024/2048/4096`,
      );
    }
    extensions.push({ type: ExtensionType.max_fragment_length, data: Uint8Array.of(code) });
  }
  const limit = offer.recordSizeLimit;
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < MIN_RECORD_SIZE_LIMIT || limit > MAX_PLAINTEXT_LENGTH) {
      throw new RangeError(`recordSizeLimit ${limit} outside 64..16384`);
    }
    extensions.push({
      type: ExtensionType.record_size_limit,
      data: Uint8Array.of(limit >> 8, limit & 0xff),
    });
  }
  return extensions;
}

/**
 * Settles the limits from the ServerHello's extensions.
 *
 * @param offer What we asked for.
 * @param serverExtensions The ServerHello's extensions (already checked to be ones we offered).
 * @returns Both directions' limits.
 * @throws {TlsAlertError} `illegal_parameter` when the server answers with another fragment
 *   length (RFC 6066 §4), a record_size_limit below 64 (RFC 8449 §4), or both extensions
 *   (RFC 8449 §5); `decode_error` for a malformed body.
 */
export function negotiateFragmentLimits(
  offer: FragmentOffer,
  serverExtensions: readonly Extension[],
): FragmentLimits {
  const mfl = serverExtensions.find((e) => e.type === ExtensionType.max_fragment_length);
  const rsl = serverExtensions.find((e) => e.type === ExtensionType.record_size_limit);
  if (mfl && rsl) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      "server sent both max_fragment_length and record_size_limit (RFC 8449 §5)",
    );
  }
  if (mfl) {
    if (mfl.data.length !== 1) {
      throw new TlsAlertError(AlertDescription.decode_error, "max_fragment_length is one byte");
    }
    const offered = offer.maxFragmentLength;
    if (offered === undefined || mfl.data[0] !== MFL_CODES.get(offered)) {
      throw new TlsAlertError(
        AlertDescription.illegal_parameter,
        `server answered max_fragment_length ${
          mfl.data[0]
        }, not the value we offered (RFC 6066 §4)`,
      );
    }
    return { send: offered, receive: offered, negotiatedBy: "max_fragment_length" };
  }
  if (rsl) {
    if (rsl.data.length !== 2) {
      throw new TlsAlertError(AlertDescription.decode_error, "record_size_limit is two bytes");
    }
    const serverLimit = rsl.data[0]! << 8 | rsl.data[1]!;
    if (serverLimit < MIN_RECORD_SIZE_LIMIT) {
      throw new TlsAlertError(
        AlertDescription.illegal_parameter,
        `server record_size_limit ${serverLimit} is below 64 (RFC 8449 §4)`,
      );
    }
    return {
      send: Math.min(serverLimit, MAX_PLAINTEXT_LENGTH),
      receive: offer.recordSizeLimit ?? MAX_PLAINTEXT_LENGTH,
      negotiatedBy: "record_size_limit",
    };
  }
  return UNLIMITED_FRAGMENTS;
}
