/**
 * A tiny CoAP message codec (RFC 7252 §3): the 4-byte header, token, options with delta and
 * length nibbles (and their 1- and 2-byte extensions), and the payload after the 0xFF marker.
 * Enough for a confirmable GET and its response, including Block2 (RFC 7959).
 *
 * @example A GET for /sensors/temp and back
 * ```ts
 * import { coapGetRequest, decodeCoapMessage, encodeCoapMessage } from "./coap.ts";
 * const bytes = encodeCoapMessage(coapGetRequest(["sensors", "temp"], 0x1234, Uint8Array.of(7)));
 * decodeCoapMessage(bytes).options.length; // 2 Uri-Path options
 * ```
 *
 * @module
 */

/** Message types (RFC 7252 §3). */
export const CoapType = {
  confirmable: 0,
  nonConfirmable: 1,
  acknowledgement: 2,
  reset: 3,
} as const;

/** A message type code. */
export type CoapType = (typeof CoapType)[keyof typeof CoapType];

/** Option numbers used here (RFC 7252 §5.10, RFC 7959 §2.1). */
export const CoapOption = {
  uriHost: 3,
  uriPort: 7,
  uriPath: 11,
  contentFormat: 12,
  uriQuery: 15,
  block2: 23,
  size2: 28,
} as const;

/** Method and response codes as `class << 5 | detail`. */
export const CoapCode = {
  empty: 0,
  get: 1,
  content: (2 << 5) | 5,
  notFound: (4 << 5) | 4,
} as const;

/** One option: its number and raw value. */
export interface CoapOptionValue {
  /** The option number. */
  readonly number: number;
  /** The value bytes (strings are UTF-8, uints big-endian without leading zeros). */
  readonly value: Uint8Array;
}

/** A CoAP message. */
export interface CoapMessage {
  /** CON, NON, ACK or RST. */
  readonly type: CoapType;
  /** Method or response code, `class << 5 | detail`. */
  readonly code: number;
  /** Matches an ACK or RST to its message. */
  readonly messageId: number;
  /** Matches a response to its request; 0 to 8 bytes. */
  readonly token: Uint8Array;
  /** Options in any order (they are sorted when encoded, stably). */
  readonly options: readonly CoapOptionValue[];
  /** The payload; empty for none. */
  readonly payload: Uint8Array;
}

/** Bytes that are not a well-formed CoAP message. */
export class CoapFormatError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CoapFormatError";
  }
}

const PAYLOAD_MARKER = 0xff;
const VERSION = 1;

/**
 * Formats a code as `c.dd` with its name, e.g. `2.05 Content`.
 *
 * @param code The code byte.
 * @returns The dotted form, and the name when known.
 */
export function coapCodeString(code: number): string {
  const dotted = `${code >> 5}.${String(code & 0x1f).padStart(2, "0")}`;
  const name = CODE_NAMES[dotted];
  return name ? `${dotted} ${name}` : dotted;
}

/** Response code names (RFC 7252 §12.1.2). */
const CODE_NAMES: Readonly<Record<string, string>> = {
  "0.00": "Empty",
  "0.01": "GET",
  "2.01": "Created",
  "2.02": "Deleted",
  "2.03": "Valid",
  "2.04": "Changed",
  "2.05": "Content",
  "2.31": "Continue",
  "4.00": "Bad Request",
  "4.01": "Unauthorized",
  "4.02": "Bad Option",
  "4.03": "Forbidden",
  "4.04": "Not Found",
  "4.05": "Method Not Allowed",
  "4.06": "Not Acceptable",
  "4.08": "Request Entity Incomplete",
  "4.12": "Precondition Failed",
  "4.13": "Request Entity Too Large",
  "4.15": "Unsupported Content-Format",
  "5.00": "Internal Server Error",
  "5.01": "Not Implemented",
  "5.02": "Bad Gateway",
  "5.03": "Service Unavailable",
  "5.04": "Gateway Timeout",
  "5.05": "Proxying Not Supported",
};

/** Nibble and extension bytes for an option delta or length (RFC 7252 §3.1). */
function nibble(value: number): { nibble: number; extension: number[] } {
  if (value < 13) return { nibble: value, extension: [] };
  if (value < 269) return { nibble: 13, extension: [value - 13] };
  if (value < 65805) return { nibble: 14, extension: [(value - 269) >> 8, (value - 269) & 0xff] };
  throw new RangeError(`option delta or length ${value} is too large`);
}

/**
 * Encodes a message.
 *
 * @param message The message.
 * @returns Its bytes.
 * @throws {RangeError} For a token over 8 bytes, a message ID over 16 bits, or huge options.
 */
export function encodeCoapMessage(message: CoapMessage): Uint8Array {
  if (message.token.length > 8) throw new RangeError("a CoAP token has at most 8 bytes");
  if (!(message.messageId >= 0 && message.messageId <= 0xffff)) {
    throw new RangeError(`message ID ${message.messageId} is not 16 bits`);
  }
  const out: number[] = [
    (VERSION << 6) | (message.type << 4) | message.token.length,
    message.code,
    message.messageId >> 8,
    message.messageId & 0xff,
    ...message.token,
  ];
  const options = [...message.options].sort((a, b) => a.number - b.number);
  let previous = 0;
  for (const option of options) {
    const delta = nibble(option.number - previous);
    const length = nibble(option.value.length);
    out.push((delta.nibble << 4) | length.nibble, ...delta.extension, ...length.extension);
    out.push(...option.value);
    previous = option.number;
  }
  if (message.payload.length > 0) out.push(PAYLOAD_MARKER, ...message.payload);
  return Uint8Array.from(out);
}

/**
 * Decodes a message.
 *
 * @param bytes One datagram's (or one DTLS record's) content.
 * @returns The message.
 * @throws {CoapFormatError} For a short header, another version, a token length over 8, a cut
 *   token or option, a reserved nibble (15), or a payload marker with no payload.
 */
export function decodeCoapMessage(bytes: Uint8Array): CoapMessage {
  if (bytes.length < 4) throw new CoapFormatError(`${bytes.length} bytes: shorter than a header`);
  const first = bytes[0]!;
  if (first >> 6 !== VERSION) throw new CoapFormatError(`version ${first >> 6}, not 1`);
  const tokenLength = first & 0x0f;
  if (tokenLength > 8) throw new CoapFormatError(`token length ${tokenLength} (at most 8)`);
  if (bytes.length < 4 + tokenLength) throw new CoapFormatError("the token is cut short");
  const token = bytes.slice(4, 4 + tokenLength);
  const options: CoapOptionValue[] = [];
  let at = 4 + tokenLength;
  let number = 0;
  const extended = (value: number, what: string): number => {
    if (value < 13) return value;
    if (value === 15) throw new CoapFormatError(`reserved option ${what} nibble 15`);
    const size = value === 13 ? 1 : 2;
    if (bytes.length < at + size) throw new CoapFormatError(`option ${what} extension cut short`);
    const extension = size === 1 ? bytes[at]! + 13 : ((bytes[at]! << 8) | bytes[at + 1]!) + 269;
    at += size;
    return extension;
  };
  while (at < bytes.length && bytes[at] !== PAYLOAD_MARKER) {
    const head = bytes[at++]!;
    number += extended(head >> 4, "delta");
    const length = extended(head & 0x0f, "length");
    if (bytes.length < at + length) throw new CoapFormatError(`option ${number} value cut short`);
    options.push({ number, value: bytes.slice(at, at + length) });
    at += length;
  }
  let payload = new Uint8Array(0);
  if (at < bytes.length) {
    if (at + 1 === bytes.length) throw new CoapFormatError("payload marker with no payload");
    payload = bytes.slice(at + 1);
  }
  return {
    type: ((first >> 4) & 0x03) as CoapType,
    code: bytes[1]!,
    messageId: (bytes[2]! << 8) | bytes[3]!,
    token,
    options,
    payload,
  };
}

/**
 * An option value as an unsigned integer (big-endian, empty = 0).
 *
 * @param value The option bytes.
 * @returns The number.
 */
export function coapUint(value: Uint8Array): number {
  return value.reduce((n, byte) => n * 256 + byte, 0);
}

/**
 * An unsigned integer as an option value (shortest form).
 *
 * @param n The number.
 * @returns The bytes.
 */
export function coapUintBytes(n: number): Uint8Array {
  const out: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) out.unshift(rest % 256);
  return Uint8Array.from(out);
}

/** A Block2 option's content (RFC 7959 §2.2). */
export interface Block2 {
  /** Block number. */
  readonly num: number;
  /** Whether more blocks follow. */
  readonly more: boolean;
  /** Block size exponent: size = 2^(szx + 4). */
  readonly szx: number;
}

/**
 * Reads the Block2 option of a message.
 *
 * @param message The message.
 * @returns The block, or undefined when absent.
 */
export function block2Of(message: CoapMessage): Block2 | undefined {
  const option = message.options.find((o) => o.number === CoapOption.block2);
  if (!option) return undefined;
  const value = coapUint(option.value);
  return { num: Math.floor(value / 16), more: (value & 0x08) !== 0, szx: value & 0x07 };
}

/**
 * A confirmable GET.
 *
 * @param path Path segments, each one Uri-Path option.
 * @param messageId The message ID.
 * @param token The token.
 * @param extra More options (Uri-Host, Uri-Query, Block2 …).
 * @returns The request.
 */
export function coapGetRequest(
  path: readonly string[],
  messageId: number,
  token: Uint8Array,
  extra: readonly CoapOptionValue[] = [],
): CoapMessage {
  const encoder = new TextEncoder();
  return {
    type: CoapType.confirmable,
    code: CoapCode.get,
    messageId,
    token,
    options: [
      ...path.map((segment) => ({ number: CoapOption.uriPath, value: encoder.encode(segment) })),
      ...extra,
    ],
    payload: new Uint8Array(0),
  };
}
