/**
 * The messages of MULTOS serial command mode, built on the compact TLV.
 *
 * | message | direction | bytes |
 * | --- | --- | --- |
 * | ACK | chip → host | `01` |
 * | NACK | chip → host | `3F` |
 * | Reset | host → chip | `06` |
 * | Comms Parameters | host → chip | `44 03 option baud(2)` |
 * | Command APDU | host → chip | `80 len(2) apdu` |
 * | Response | chip → host | tag 0x40–0xBF, value = data ‖ SW1 SW2 |
 *
 * @module
 */

import { encodeTlv } from "./tlv.ts";

/** Tags of the command-mode messages. */
export const MessageTag = {
  /** The chip accepted a message (ACK mode only). */
  ack: 0x01,
  /** The chip refused a message. */
  nack: 0x3f,
  /** The host asks the chip to reset its command-mode state. */
  reset: 0x06,
  /** The host changes ACK mode and line speed. */
  commsParameters: 0x44,
  /** The host sends a command APDU. */
  commandApdu: 0x80,
  /** The tag our device emulator answers with by default (2-byte length, as the vendor host expects). */
  response: 0x80,
} as const;

/** Lowest tag a response may carry. */
export const RESPONSE_TAG_MIN = 0x40;
/** Highest tag a response may carry. */
export const RESPONSE_TAG_MAX = 0xbf;

/**
 * Whether a tag can carry a response (0x40–0xBF; the exact value is not fixed by the sources).
 *
 * @param tag A decoded tag.
 * @returns True for 0x40–0xBF.
 */
export function isResponseTag(tag: number): boolean {
  return tag >= RESPONSE_TAG_MIN && tag <= RESPONSE_TAG_MAX;
}

/**
 * Wraps a command-mode APDU in a Command APDU message.
 *
 * @example
 * ```ts
 * import { encodeCommandApdu } from "@anchortls/transport-serial";
 * encodeCommandApdu(Uint8Array.fromHex("00a40000")).toHex(); // "80000400a40000"
 * ```
 *
 * @param apdu The APDU (CLA INS P1 P2 [Lc(2) data] [Le(2)]).
 * @returns `80 len(2) apdu`.
 */
export function encodeCommandApdu(apdu: Uint8Array): Uint8Array {
  return encodeTlv(MessageTag.commandApdu, apdu);
}

/**
 * The Reset message.
 *
 * @returns `06`.
 */
export function encodeReset(): Uint8Array {
  return encodeTlv(MessageTag.reset);
}

/** Turns a baud rate into the 2-byte Comms Parameters field and back. */
export interface BaudRateCoding {
  /** The field value for a baud rate (0–0xFFFF). */
  encode(baudRate: number): number;
  /** The baud rate a field value stands for. */
  decode(field: number): number;
}

/**
 * The default baud rate field: the rate in units of 100 baud (115200 → 1152 = `04 80`), so that
 * every standard rate from 9600 to 921600 fits in two bytes. The vendor sources leave the
 * encoding open; pass your own {@linkcode BaudRateCoding} when the chip documents another.
 */
export const hundredsOfBaud: BaudRateCoding = {
  encode(baudRate: number): number {
    if (!Number.isInteger(baudRate) || baudRate % 100 !== 0 || baudRate <= 0) {
      throw new RangeError(`baud rate ${baudRate} is not a positive multiple of 100`);
    }
    const field = baudRate / 100;
    if (field > 0xffff) throw new RangeError(`baud rate ${baudRate} too high`);
    return field;
  },
  decode(field: number): number {
    return field * 100;
  },
};

/** What a Comms Parameters message sets. */
export interface CommsParameters {
  /** True: the chip ACKs every message (option 2); false: no ACKs (option 1). */
  ackMode: boolean;
  /** The new line speed. */
  baudRate: number;
}

/**
 * Encodes a Comms Parameters message.
 *
 * @example 115200 baud with ACKs
 * ```ts
 * import { encodeCommsParameters } from "@anchortls/transport-serial";
 * encodeCommsParameters({ ackMode: true, baudRate: 115200 }).toHex(); // "4403020480"
 * ```
 *
 * @param parameters ACK mode and baud rate.
 * @param coding How the baud rate becomes two bytes.
 * @returns `44 03 option baud(2)`.
 */
export function encodeCommsParameters(
  parameters: CommsParameters,
  coding: BaudRateCoding = hundredsOfBaud,
): Uint8Array {
  const field = coding.encode(parameters.baudRate);
  const option = parameters.ackMode ? 2 : 1;
  return encodeTlv(
    MessageTag.commsParameters,
    new Uint8Array([option, field >> 8, field & 0xff]),
  );
}

/**
 * Decodes the value of a Comms Parameters message (device side).
 *
 * @param value The 3-byte value.
 * @param coding How two bytes become a baud rate.
 * @returns The parameters, or undefined when the value is malformed.
 */
export function decodeCommsParameters(
  value: Uint8Array,
  coding: BaudRateCoding = hundredsOfBaud,
): CommsParameters | undefined {
  if (value.length !== 3) return undefined;
  const option = value[0]!;
  if (option !== 1 && option !== 2) return undefined;
  return { ackMode: option === 2, baudRate: coding.decode((value[1]! << 8) | value[2]!) };
}
