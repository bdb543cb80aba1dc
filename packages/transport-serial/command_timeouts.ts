/**
 * Deadlines per class of command, shared by the APDU transports.
 *
 * @module
 */

/** Deadlines per class of command, in milliseconds. */
export interface CommandTimeouts {
  /** Ordinary commands. @default {1000} */
  standard: number;
  /** Encrypt, decrypt, sign, key derivation. @default {5000} */
  long: number;
  /** RSA or EC key generation. @default {30000} */
  keyGeneration: number;
}

/** A class of command, picking its deadline from {@linkcode CommandTimeouts}. */
export type CommandTimeoutClass = keyof CommandTimeouts;

/**
 * Sorts Trust Core applet commands by how long the chip may take, after the vendor's
 * timeouts: GENERATE KEY with P1 00 (RSA) or 01 (EC) is key generation; the rest of GENERATE
 * KEY (premaster, master secret, key block) and PERFORM SECURITY OPERATION (INS 2A) are long;
 * everything else is standard.
 *
 * @example
 * ```ts
 * import { trustCoreTimeoutClass } from "@anchortls/transport-serial";
 * trustCoreTimeoutClass(Uint8Array.fromHex("8046000000030061000800")); // "keyGeneration"
 * ```
 *
 * @param apdu A command-mode APDU.
 * @returns Its timeout class.
 */
export function trustCoreTimeoutClass(apdu: Uint8Array): CommandTimeoutClass {
  const ins = apdu[1];
  if (ins === 0x46) return apdu[2] === 0x00 || apdu[2] === 0x01 ? "keyGeneration" : "long";
  if (ins === 0x2a) return "long";
  return "standard";
}
