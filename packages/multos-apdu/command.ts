/**
 * Command APDUs (ISO/IEC 7816-4 §5.1) in the three encodings the package speaks: ISO short,
 * ISO extended, and MULTOS command mode (2-byte Lc and Le always, no extended prefixes).
 *
 * @module
 */

import { ApduError } from "./apdu_error.ts";

/** A command APDU before encoding. */
export interface CommandApdu {
  /** Class byte. */
  readonly cla: number;
  /** Instruction byte. */
  readonly ins: number;
  /** Parameter 1. */
  readonly p1: number;
  /** Parameter 2. */
  readonly p2: number;
  /** Command data; absent or empty means no Lc field. */
  readonly data?: Uint8Array;
  /**
   * Ne, the most response bytes expected; absent means no Le field. 256 (short) and 65536
   * (extended, and MULTOS case 4) are written as zeros, as ISO 7816-4 §5.1 defines.
   */
  readonly le?: number;
}

/**
 * Wire encodings: `short` and `extended` are ISO 7816-4, `auto` picks short when the lengths
 * fit and extended otherwise, `multos` is the chip's command mode.
 */
export type ApduForm = "short" | "extended" | "auto" | "multos";

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");

/**
 * Names a command by its header bytes, for error messages.
 *
 * @example Naming a header
 * ```ts
 * import { commandHeader } from "@anchortls/multos-apdu";
 * commandHeader({ cla: 0x80, ins: 0x2a, p1: 0x9e, p2: 0x9a }); // "80 2A 9E 9A"
 * ```
 *
 * @param command The command.
 * @returns `CLA INS P1 P2` in hex.
 */
export function commandHeader(command: Pick<CommandApdu, "cla" | "ins" | "p1" | "p2">): string {
  return [command.cla, command.ins, command.p1, command.p2].map(hex2).join(" ");
}

function checkHeader(command: CommandApdu, name: string): void {
  for (
    const [field, value] of [["CLA", command.cla], ["INS", command.ins], ["P1", command.p1], [
      "P2",
      command.p2,
    ]] as const
  ) {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) {
      throw new ApduError(undefined, name, { detail: `${field} ${value} is not a byte` });
    }
  }
}

function checkLe(le: number, max: number, name: string): void {
  if (!Number.isInteger(le) || le < 1 || le > max) {
    throw new ApduError(undefined, name, { detail: `Le ${le} outside 1..${max}` });
  }
}

function fitsShort(command: CommandApdu): boolean {
  return (command.data?.length ?? 0) <= 255 && (command.le ?? 0) <= 256;
}

/**
 * Encodes a command APDU.
 *
 * @example MULTOS command mode, case 4
 * ```ts
 * import { encodeCommand } from "@anchortls/multos-apdu";
 * const apdu = encodeCommand({ cla: 0x80, ins: 0x46, p1: 3, p2: 0, data: new Uint8Array([3, 3]), le: 2 }, "multos");
 * apdu.toHex(); // "80460300000203030002"
 * ```
 *
 * @param command The command.
 * @param form The wire encoding.
 * @returns The encoded bytes.
 * @throws {ApduError} When a header byte, Lc or Le is out of range for the form.
 */
export function encodeCommand(command: CommandApdu, form: ApduForm): Uint8Array {
  const name = commandHeader(command);
  checkHeader(command, name);
  const data = command.data ?? new Uint8Array(0);
  const nc = data.length;
  const le = command.le;
  if (form === "auto") form = fitsShort(command) ? "short" : "extended";
  const parts: number[] = [command.cla, command.ins, command.p1, command.p2];
  if (form === "short") {
    if (nc > 255) throw new ApduError(undefined, name, { detail: `Lc ${nc} exceeds 255 (short)` });
    if (le !== undefined) checkLe(le, 256, name);
    if (nc > 0) parts.push(nc);
    const out = new Uint8Array(parts.length + nc + (le === undefined ? 0 : 1));
    out.set(parts);
    out.set(data, parts.length);
    if (le !== undefined) out[out.length - 1] = le & 0xff;
    return out;
  }
  if (form === "extended") {
    if (nc > 65535) {
      throw new ApduError(undefined, name, { detail: `Lc ${nc} exceeds 65535 (extended)` });
    }
    if (le !== undefined) checkLe(le, 65536, name);
    if (nc > 0) parts.push(0, nc >> 8, nc & 0xff);
    const leBytes = le === undefined ? [] : nc > 0 ? [le >> 8 & 0xff, le & 0xff] : [
      0,
      le >> 8 & 0xff,
      le & 0xff,
    ];
    return concat(parts, data, leBytes);
  }
  if (nc > 65535) throw new ApduError(undefined, name, { detail: `Lc ${nc} exceeds 65535` });
  if (nc === 0) {
    // Case 1 and case 2 share one layout here: a zero Le field is case 1, so Ne 65536 has no
    // encoding without data.
    if (le !== undefined) checkLe(le, 65535, name);
    return concat(parts, data, [(le ?? 0) >> 8, (le ?? 0) & 0xff]);
  }
  if (le !== undefined) checkLe(le, 65536, name);
  const leBytes = le === undefined ? [] : [le >> 8 & 0xff, le & 0xff];
  return concat([...parts, nc >> 8, nc & 0xff], data, leBytes);
}

function concat(head: number[], data: Uint8Array, tail: number[]): Uint8Array {
  const out = new Uint8Array(head.length + data.length + tail.length);
  out.set(head);
  out.set(data, head.length);
  out.set(tail, head.length + data.length);
  return out;
}

function decoded(bytes: Uint8Array, data?: Uint8Array, le?: number): CommandApdu {
  const command: {
    cla: number;
    ins: number;
    p1: number;
    p2: number;
    data?: Uint8Array;
    le?: number;
  } = {
    cla: bytes[0]!,
    ins: bytes[1]!,
    p1: bytes[2]!,
    p2: bytes[3]!,
  };
  if (data !== undefined) command.data = data;
  if (le !== undefined) command.le = le;
  return command;
}

/**
 * Decodes a command APDU, the inverse of {@linkcode encodeCommand}. `short` and `extended` are
 * both accepted under `auto`.
 *
 * @example Decoding a MULTOS case 2 command
 * ```ts
 * import { decodeCommand } from "@anchortls/multos-apdu";
 * decodeCommand(Uint8Array.fromHex("808400000020"), "multos").le; // 32
 * ```
 *
 * @param bytes The encoded command.
 * @param form The encoding it is in.
 * @returns The command.
 * @throws {ApduError} When the lengths do not add up to the number of bytes given.
 */
export function decodeCommand(bytes: Uint8Array, form: ApduForm): CommandApdu {
  const name = bytes.length >= 4 ? commandHeader(decoded(bytes)) : "command";
  const malformed = (detail: string) => new ApduError(undefined, name, { detail });
  if (bytes.length < 4) throw malformed(`${bytes.length} bytes is shorter than a header`);
  const n = bytes.length;
  if (form === "multos") {
    if (n === 4) throw malformed("command mode needs a 2-byte Lc or Le");
    if (n < 6) throw malformed(`truncated length field (${n} bytes)`);
    const first = bytes[4]! << 8 | bytes[5]!;
    if (n === 6) return first === 0 ? decoded(bytes) : decoded(bytes, undefined, first);
    if (first === 0) throw malformed("Lc 0 followed by data");
    const rest = n - 6 - first;
    if (rest !== 0 && rest !== 2) {
      throw malformed(`Lc ${first} does not match ${n - 6} bytes after it`);
    }
    const data = bytes.slice(6, 6 + first);
    if (rest === 0) return decoded(bytes, data);
    const le = bytes[n - 2]! << 8 | bytes[n - 1]!;
    return decoded(bytes, data, le === 0 ? 65536 : le);
  }
  if (n === 4) return decoded(bytes);
  const b4 = bytes[4]!;
  const extendedAllowed = form !== "short";
  const shortAllowed = form !== "extended";
  if (shortAllowed && n === 5) return decoded(bytes, undefined, b4 === 0 ? 256 : b4);
  if (shortAllowed && b4 !== 0 && (n === 5 + b4 || n === 6 + b4)) {
    const data = bytes.slice(5, 5 + b4);
    if (n === 5 + b4) return decoded(bytes, data);
    const le = bytes[n - 1]!;
    return decoded(bytes, data, le === 0 ? 256 : le);
  }
  if (extendedAllowed && b4 === 0 && n >= 7) {
    const value = bytes[5]! << 8 | bytes[6]!;
    if (n === 7) return decoded(bytes, undefined, value === 0 ? 65536 : value);
    if (value !== 0 && (n === 7 + value || n === 9 + value)) {
      const data = bytes.slice(7, 7 + value);
      if (n === 7 + value) return decoded(bytes, data);
      const le = bytes[n - 2]! << 8 | bytes[n - 1]!;
      return decoded(bytes, data, le === 0 ? 65536 : le);
    }
  }
  throw malformed(`lengths do not match ${n} bytes in ${form} form`);
}
