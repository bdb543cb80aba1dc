/**
 * ISO/IEC 7816-4 status words and the ones the MULTOS Trust Core applet returns, with their
 * meanings.
 *
 * @module
 */

/** Status words this package acts on or names. Unknown ones stay plain numbers. */
export const StatusWord = {
  ok: 0x9000,
  noSpace: 0x6381,
  wrongLength: 0x6700,
  logicalChannelNotSupported: 0x6881,
  chainingNotSupported: 0x6884,
  commandIncompatible: 0x6981,
  securityStatusNotSatisfied: 0x6982,
  authenticationBlocked: 0x6983,
  referenceDataNotUsable: 0x6984,
  conditionsNotSatisfied: 0x6985,
  commandNotAllowed: 0x6986,
  wrongData: 0x6a80,
  functionNotSupported: 0x6a81,
  fileNotFound: 0x6a82,
  recordNotFound: 0x6a83,
  notEnoughMemory: 0x6a84,
  incorrectP1P2: 0x6a86,
  referencedDataNotFound: 0x6a88,
  fileAlreadyExists: 0x6a89,
  wrongP1P2: 0x6b00,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
  noPreciseDiagnosis: 0x6f00,
} as const;

const fixedMeanings: ReadonlyMap<number, string> = new Map([
  [0x9000, "success"],
  [0x6281, "part of returned data may be corrupted"],
  [0x6282, "end of file reached before reading Le bytes"],
  [0x6381, "no space left (file or memory full)"],
  [0x6400, "execution error, state of non-volatile memory unchanged"],
  [0x6581, "memory failure"],
  [0x6700, "wrong length"],
  [0x6881, "logical channel not supported"],
  [0x6882, "secure messaging not supported"],
  [0x6883, "last command of the chain expected"],
  [0x6884, "command chaining not supported"],
  [0x6981, "command incompatible with file structure"],
  [0x6982, "security status not satisfied"],
  [0x6983, "authentication method blocked"],
  [0x6984, "reference data not usable"],
  [0x6985, "conditions of use not satisfied"],
  [0x6986, "command not allowed (no current EF)"],
  [0x6a80, "incorrect parameters in the data field"],
  [0x6a81, "function not supported"],
  [0x6a82, "file or application not found"],
  [0x6a83, "record not found"],
  [0x6a84, "not enough memory space in the file"],
  [0x6a86, "incorrect parameters P1-P2"],
  [0x6a88, "referenced data or reference data not found"],
  [0x6a89, "file already exists"],
  [0x6b00, "wrong parameters P1-P2"],
  [0x6d00, "instruction code not supported or invalid"],
  [0x6e00, "class not supported"],
  [0x6f00, "no precise diagnosis"],
]);

/**
 * Formats a status word as four upper-case hex digits.
 *
 * @example Formatting
 * ```ts
 * import { formatStatusWord } from "@anchortls/multos-apdu";
 * formatStatusWord(0x6982); // "6982"
 * ```
 *
 * @param sw The status word (SW1 << 8 | SW2).
 * @returns The hex form, e.g. `"9000"`.
 */
export function formatStatusWord(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, "0");
}

/**
 * Tells what a status word means, including the ranges whose low byte is a count.
 *
 * @example Tries left
 * ```ts
 * import { statusWordMeaning } from "@anchortls/multos-apdu";
 * statusWordMeaning(0x63c2); // "verification failed, 2 tries left"
 * ```
 *
 * @param sw The status word (SW1 << 8 | SW2).
 * @returns A short English description.
 */
export function statusWordMeaning(sw: number): string {
  const fixed = fixedMeanings.get(sw);
  if (fixed !== undefined) return fixed;
  const sw1 = sw >> 8;
  const sw2 = sw & 0xff;
  if (sw1 === 0x61) return `${sw2 === 0 ? 256 : sw2} more bytes available (GET RESPONSE)`;
  if (sw1 === 0x6c) return `wrong Le, ${sw2 === 0 ? 256 : sw2} bytes available`;
  if (sw1 === 0x63 && (sw2 & 0xf0) === 0xc0) {
    return `verification failed, ${sw2 & 0x0f} tries left`;
  }
  if (sw1 === 0x62 || sw1 === 0x63) return "warning";
  if (sw1 === 0x64 || sw1 === 0x65) return "execution error";
  if (sw1 === 0x67) return "wrong length";
  if (sw1 === 0x68) return "function in CLA not supported";
  if (sw1 === 0x69) return "command not allowed";
  if (sw1 === 0x6a) return "wrong parameters P1-P2";
  return "unknown status";
}

/**
 * Tells the tries left encoded in a `63Cx` status word.
 *
 * @example Reading the counter
 * ```ts
 * import { triesLeft } from "@anchortls/multos-apdu";
 * triesLeft(0x63c1); // 1
 * triesLeft(0x9000); // undefined
 * ```
 *
 * @param sw The status word.
 * @returns The count `x` of `63Cx`, or `undefined` for any other status word.
 */
export function triesLeft(sw: number): number | undefined {
  return (sw & 0xfff0) === 0x63c0 ? sw & 0x0f : undefined;
}
