/**
 * The Trust Core command set, each command written once: an `encode` that builds the command
 * APDU from typed parameters (used by the `TrustCore` client) and a `decode` that reads them
 * back (used by the emulator), with the same pair for every structured response. The forms
 * are the vendor's: `golden_vendor_test.ts` pins each one to a table transcribed from
 * `maosco/trust_core` (`workspace/cryptoki.so/tc_api.c`, `workspace/multosio*.so/apdu.c`).
 *
 * In the chip's command mode every APDU carries a 2-byte length field: `Le` 65536 here is the
 * vendor's case-4 `00 00` after the data ("any length"), and a command without data always
 * ends in its 2-byte Le (`00 00` when the vendor passes Le 0).
 *
 * @module
 */

import type { CommandApdu } from "./command.ts";
import {
  KeyType,
  PsoOperation,
  type SeTemplate,
  TRUST_CORE_AID,
  TrustCoreIns as Ins,
} from "./trust_core_constants.ts";

/** A command the applet cannot take as sent; `sw` is the status word the applet answers. */
export class CommandFormatError extends Error {
  override readonly name = "CommandFormatError";
  /** The status word the applet answers. */
  readonly sw: number;

  constructor(sw: number, message: string) {
    super(message);
    this.sw = sw;
  }
}

/** Status words for malformed commands (ISO 7816-4 §5.1.3). */
const Sw = {
  wrongLength: 0x6700,
  wrongData: 0x6a80,
  wrongP1P2: 0x6a86,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
} as const;

const fail = (sw: number, message: string): never => {
  throw new CommandFormatError(sw, message);
};

/** Any-length Le after command data: the vendor's case 4 with Le 0, on the wire `00 00`. */
export const ANY_LENGTH = 65536;

function apdu(
  cla: number,
  ins: number,
  p1: number,
  p2: number,
  data?: Uint8Array,
  le?: number,
): CommandApdu {
  return {
    cla,
    ins,
    p1,
    p2,
    ...(data !== undefined && data.length > 0 ? { data } : {}),
    ...(le !== undefined ? { le } : {}),
  };
}

const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8 & 0xff, n & 0xff);
const readU16 = (b: Uint8Array, at: number): number => b[at]! << 8 | b[at + 1]!;

function dataOf(command: CommandApdu, length?: number): Uint8Array {
  const data = command.data ?? new Uint8Array(0);
  if (length !== undefined && data.length !== length) {
    fail(Sw.wrongLength, `${data.length} data bytes, expected ${length}`);
  }
  return data;
}

function noData(command: CommandApdu): void {
  if (command.data?.length) fail(Sw.wrongLength, "the command takes no data");
}

// --- Applet selection -------------------------------------------------------------------

/** SELECT the applet by AID (tc_api.c tcSelectApp → apdu.c multosSelectApplication). */
export const SelectApplet = {
  encode(): CommandApdu {
    return apdu(0x00, Ins.select, 0x04, 0x0c, TRUST_CORE_AID);
  },
  decode(command: CommandApdu): { aid: Uint8Array } {
    if (command.p1 !== 0x04 || command.p2 !== 0x0c) fail(Sw.wrongP1P2, "SELECT by AID is 04 0C");
    return { aid: dataOf(command) };
  },
};

/** The master file 3F00 that the vendor selects to deselect the applet. */
export const MASTER_FILE = 0x3f00;

/** DESELECT: SELECT of the master file, CLA 00 (apdu.c multosDeselectCurrApplication). */
export const Deselect = {
  encode(): CommandApdu {
    return apdu(0x00, Ins.select, 0x00, 0x00, u16(MASTER_FILE));
  },
  decode(command: CommandApdu): void {
    if (command.p1 !== 0 || command.p2 !== 0) fail(Sw.wrongP1P2, "SELECT MF is 00 00");
    if (readU16(dataOf(command, 2), 0) !== MASTER_FILE) fail(Sw.wrongData, "not the MF");
  },
};

// --- PINs -------------------------------------------------------------------------------

/** The PIN field: 12 bytes, padded with FF (tc_api.h TC_PIN_SIZE). */
export const PIN_LENGTH = 12;

/** VERIFY PIN (tc_api.c tcVerifyPIN2 with data). */
export const VerifyPin = {
  encode(p: { reference: number; paddedPin: Uint8Array }): CommandApdu {
    return apdu(0x80, Ins.verify, 0, p.reference, p.paddedPin);
  },
  decode(command: CommandApdu): { reference: number; paddedPin: Uint8Array } {
    if (command.p1 !== 0) fail(Sw.wrongP1P2, "VERIFY P1 is 00");
    return { reference: command.p2, paddedPin: dataOf(command, PIN_LENGTH) };
  },
};

/** VERIFY without data: asks the tries left, answered `63Cx` (tcVerifyPIN2 without data). */
export const PinStatus = {
  encode(p: { reference: number }): CommandApdu {
    return apdu(0x80, Ins.verify, 0, p.reference);
  },
};

// --- MANAGE SECURITY ENVIRONMENT ---------------------------------------------------------

/** Control reference tags of MSE SET (tc_api.c tcMseSetAlgo, SetKeyFile, …). */
export const CrtTag = {
  algorithm: 0x80,
  keyFile: 0x81,
  cipherSuite: 0x85,
  keyLengths: 0x86,
} as const;

const CRT_LENGTHS: ReadonlyMap<number, number> = new Map([
  [CrtTag.algorithm, 1],
  [CrtTag.keyFile, 2],
  [CrtTag.cipherSuite, 2],
  [CrtTag.keyLengths, 3],
]);

/** One control reference template entry: a tag and its value. */
export interface Crt {
  readonly tag: number;
  readonly value: Uint8Array;
}

/** What MSE SET puts into a template. */
export interface SecurityEnvironment {
  /** Algorithm identifier (tag 80), see `TrustCoreAlgorithm`. */
  algorithm?: number;
  /** Key file or key handle (tag 81). */
  keyFile?: number;
  /** TLS cipher suite (tag 85). */
  cipherSuite?: number;
  /** TLS key lengths (tag 86): encryption key, MAC key, record IV. */
  keyLengths?: { key: number; mac: number; iv: number };
}

/** The entries of an environment, in tag order. */
export function crtsOf(environment: SecurityEnvironment): Crt[] {
  const crts: Crt[] = [];
  if (environment.algorithm !== undefined) {
    crts.push({ tag: CrtTag.algorithm, value: Uint8Array.of(environment.algorithm) });
  }
  if (environment.keyFile !== undefined) {
    crts.push({ tag: CrtTag.keyFile, value: u16(environment.keyFile) });
  }
  if (environment.cipherSuite !== undefined) {
    crts.push({ tag: CrtTag.cipherSuite, value: u16(environment.cipherSuite) });
  }
  if (environment.keyLengths !== undefined) {
    const { key, mac, iv } = environment.keyLengths;
    crts.push({ tag: CrtTag.keyLengths, value: Uint8Array.of(key, mac, iv) });
  }
  return crts;
}

/** Applies entries to an environment. */
export function applyCrts(environment: SecurityEnvironment, crts: readonly Crt[]): void {
  for (const { tag, value } of crts) {
    if (tag === CrtTag.algorithm) environment.algorithm = value[0]!;
    else if (tag === CrtTag.keyFile) environment.keyFile = readU16(value, 0);
    else if (tag === CrtTag.cipherSuite) environment.cipherSuite = readU16(value, 0);
    else environment.keyLengths = { key: value[0]!, mac: value[1]!, iv: value[2]! };
  }
}

/** MSE SET (P1 41) of one template; the vendor sends exactly one entry per command. */
export const MseSet = {
  encode(p: { template: SeTemplate; crts: readonly Crt[] }): CommandApdu {
    const data = new Uint8Array(p.crts.reduce((n, c) => n + 2 + c.value.length, 0));
    let at = 0;
    for (const { tag, value } of p.crts) {
      data.set([tag, value.length], at);
      data.set(value, at + 2);
      at += 2 + value.length;
    }
    return apdu(0x80, Ins.manageSecurityEnvironment, 0x41, p.template, data);
  },
  decode(command: CommandApdu): { template: number; crts: Crt[] } {
    const data = dataOf(command);
    if (data.length === 0) fail(Sw.wrongLength, "MSE SET without an entry");
    const crts: Crt[] = [];
    for (let at = 0; at < data.length;) {
      const tag = data[at]!;
      const length = data[at + 1];
      if (length === undefined || at + 2 + length > data.length) {
        fail(Sw.wrongData, "MSE entry runs past the data");
      }
      if (CRT_LENGTHS.get(tag) !== length) fail(Sw.wrongData, `MSE tag ${tag} of length ${length}`);
      crts.push({ tag, value: data.slice(at + 2, at + 2 + length!) });
      at += 2 + length!;
    }
    return { template: command.p2, crts };
  },
};

/** MSE RESTORE (P1 F3), P2 = the environment number (tc_api.c tcMseRestore). */
export const MseRestore = {
  encode(p: { environment: number }): CommandApdu {
    return apdu(0x80, Ins.manageSecurityEnvironment, 0xf3, p.environment);
  },
};

// --- PERFORM SECURITY OPERATION ----------------------------------------------------------

/** The PSO operations by name. */
export type PsoName = keyof typeof PsoOperation;

const PSO_BY_P1P2: ReadonlyMap<number, PsoName> = new Map(
  (Object.entries(PsoOperation) as [PsoName, number][]).map(([name, p1p2]) => [p1p2, name]),
);

/**
 * PSO: P1 names the output's tag, P2 the input's (ISO 7816-8; tc_api.c tcEncrypt 86 80,
 * tcDecrypt 80 86, tcSign 9E 9A, tcVerify 9F 9A, tcWrapKey 81 86, tcUnwrapKey 86 81). Every
 * vendor PSO is case 4; UNWRAP asks Le 2 (a handle), the others any length.
 */
export const Pso = {
  encode(p: { operation: PsoName; data: Uint8Array }): CommandApdu {
    const p1p2 = PsoOperation[p.operation];
    return apdu(
      0x80,
      Ins.performSecurityOperation,
      p1p2 >> 8,
      p1p2 & 0xff,
      p.data,
      p.operation === "unwrap" ? 2 : ANY_LENGTH,
    );
  },
  decode(command: CommandApdu): { operation: PsoName; data: Uint8Array } {
    const operation = PSO_BY_P1P2.get(command.p1 << 8 | command.p2);
    if (!operation) return fail(Sw.wrongP1P2, "no such PSO");
    const data = dataOf(command);
    if (data.length === 0) fail(Sw.wrongLength, "every PSO carries data");
    return { operation, data };
  },
};

/** The AES block, and the CBC IV the vendor puts before the data (tcEncrypt, tcDecrypt). */
export const AES_BLOCK = 16;

/** PSO ENCRYPT/DECRYPT data for AES-CBC: IV ‖ whole blocks. */
export const CbcInput = {
  encode(p: { iv: Uint8Array; data: Uint8Array }): Uint8Array {
    const out = new Uint8Array(p.iv.length + p.data.length);
    out.set(p.iv);
    out.set(p.data, p.iv.length);
    return out;
  },
  decode(data: Uint8Array): { iv: Uint8Array; data: Uint8Array } {
    if (data.length < 2 * AES_BLOCK || data.length % AES_BLOCK !== 0) {
      fail(Sw.wrongLength, "CBC input must be an IV and whole blocks");
    }
    return { iv: data.subarray(0, AES_BLOCK), data: data.subarray(AES_BLOCK) };
  },
};

/** The AES-GCM tag length of the vendor's GCM functions (mtls.c GCM_TAG_LEN). */
export const GCM_TAG = 16;

/** ivLen ‖ IV ‖ aadLen ‖ AAD, the head of both GCM data forms; lengths are one byte each. */
function gcmHead(iv: Uint8Array, aad: Uint8Array, rest: number): { out: Uint8Array; at: number } {
  if (iv.length > 255 || aad.length > 255) {
    fail(Sw.wrongLength, "GCM IV and AAD take one length byte");
  }
  const out = new Uint8Array(2 + iv.length + aad.length + rest);
  out[0] = iv.length;
  out.set(iv, 1);
  out[1 + iv.length] = aad.length;
  out.set(aad, 2 + iv.length);
  return { out, at: 2 + iv.length + aad.length };
}

function readGcmHead(data: Uint8Array): { iv: Uint8Array; aad: Uint8Array; at: number } {
  const ivLength = data[0];
  if (ivLength === undefined || 2 + ivLength > data.length) {
    fail(Sw.wrongLength, "GCM IV cut short");
  }
  const aadLength = data[1 + ivLength!]!;
  const at = 2 + ivLength! + aadLength;
  if (at > data.length) fail(Sw.wrongLength, "GCM AAD cut short");
  return { iv: data.subarray(1, 1 + ivLength!), aad: data.subarray(2 + ivLength!, at), at };
}

/**
 * PSO ENCRYPT data for AES-GCM: ivLen ‖ IV ‖ aadLen ‖ AAD ‖ plaintext (tc_api.c tcEncryptGcm,
 * which refuses, before sending, an IV and AAD shorter than one AES block together). The chip
 * answers ciphertext ‖ tag (mtls.c leaves room for the tag after the data).
 */
export const GcmEncryptInput = {
  encode(p: { iv: Uint8Array; aad: Uint8Array; plaintext: Uint8Array }): Uint8Array {
    const { out, at } = gcmHead(p.iv, p.aad, p.plaintext.length);
    out.set(p.plaintext, at);
    return out;
  },
  decode(data: Uint8Array): { iv: Uint8Array; aad: Uint8Array; plaintext: Uint8Array } {
    const { iv, aad, at } = readGcmHead(data);
    return { iv, aad, plaintext: data.subarray(at) };
  },
};

/**
 * PSO DECRYPT data for AES-GCM: ivLen ‖ IV ‖ aadLen ‖ AAD ‖ tag(16) ‖ ciphertext — the tag
 * first, moved from the end of the record (tc_api.c tcDecryptGcm). The chip answers the
 * plaintext.
 */
export const GcmDecryptInput = {
  encode(
    p: { iv: Uint8Array; aad: Uint8Array; tag: Uint8Array; ciphertext: Uint8Array },
  ): Uint8Array {
    const { out, at } = gcmHead(p.iv, p.aad, GCM_TAG + p.ciphertext.length);
    out.set(p.tag.subarray(0, GCM_TAG), at);
    out.set(p.ciphertext, at + GCM_TAG);
    return out;
  },
  decode(
    data: Uint8Array,
  ): { iv: Uint8Array; aad: Uint8Array; tag: Uint8Array; ciphertext: Uint8Array } {
    const { iv, aad, at } = readGcmHead(data);
    if (data.length < at + GCM_TAG) fail(Sw.wrongLength, "GCM input without a tag");
    return {
      iv,
      aad,
      tag: data.subarray(at, at + GCM_TAG),
      ciphertext: data.subarray(at + GCM_TAG),
    };
  },
};

// --- GENERATE KEY ------------------------------------------------------------------------

/** GENERATE KEY P1 03 P2 00: the RSA premaster (tcGeneratePreMasterSecret) → a handle. */
export const GeneratePremaster = {
  encode(p: { major: number; minor: number }): CommandApdu {
    return apdu(
      0x80,
      Ins.generateKey,
      KeyType.premaster,
      0,
      Uint8Array.of(p.major, p.minor),
      ANY_LENGTH,
    );
  },
  decode(command: CommandApdu): { major: number; minor: number } {
    const data = dataOf(command, 2);
    return { major: data[0]!, minor: data[1]! };
  },
};

/**
 * GENERATE KEY P1 03 P2 01: the ECDH premaster (algorithm 0C in the TLS template, its key file
 * the EC private key) from the peer's public key as raw X ‖ Y, no 04 prefix (tc_api.c
 * tcGeneratePreMasterSecretAlgo, fed by key_management.c's CKM_ECDH1_DERIVE) → a handle.
 */
export const GenerateEcdhPremaster = {
  encode(p: { peerPoint: Uint8Array }): CommandApdu {
    return apdu(0x80, Ins.generateKey, KeyType.premaster, 1, p.peerPoint, ANY_LENGTH);
  },
  decode(command: CommandApdu): { peerPoint: Uint8Array } {
    return { peerPoint: dataOf(command) };
  },
};

/** GENERATE KEY P1 04: the master secret, P2 1 extended (tcGenerateMasterSecret). */
export const GenerateMasterSecret = {
  encode(p: { premaster: number; extended: boolean; seed: Uint8Array }): CommandApdu {
    const data = new Uint8Array(2 + p.seed.length);
    data.set(u16(p.premaster));
    data.set(p.seed, 2);
    return apdu(0x80, Ins.generateKey, KeyType.masterSecret, p.extended ? 1 : 0, data, ANY_LENGTH);
  },
  decode(command: CommandApdu): { premaster: number; extended: boolean; seed: Uint8Array } {
    if (command.p2 > 1) fail(Sw.wrongP1P2, "master secret P2 is 0 or 1");
    const data = dataOf(command);
    if (data.length < 2) fail(Sw.wrongLength, "no premaster handle");
    return { premaster: readU16(data, 0), extended: command.p2 === 1, seed: data.subarray(2) };
  },
};

/** GENERATE KEY P1 05: the key block from server random ‖ client random (tcGenerateSessionKeys). */
export const GenerateKeyBlock = {
  encode(p: { serverRandom: Uint8Array; clientRandom: Uint8Array }): CommandApdu {
    const data = new Uint8Array(64);
    data.set(p.serverRandom);
    data.set(p.clientRandom, 32);
    return apdu(0x80, Ins.generateKey, KeyType.keyBlock, 0, data, ANY_LENGTH);
  },
  decode(command: CommandApdu): { serverRandom: Uint8Array; clientRandom: Uint8Array } {
    const data = dataOf(command, 64);
    return { serverRandom: data.subarray(0, 32), clientRandom: data.subarray(32) };
  },
};

/** The modulus-size byte of GENERATE RSA KEY (tcGenerateRsaKey). */
export const RSA_KEY_SIZE_CODES = { 512: 0x40, 768: 0x60, 1024: 0x80, 2048: 0x00 } as const;

/** GENERATE KEY P1 00: an RSA key pair in a key file (tcGenerateRsaKey). */
export const GenerateRsaKey = {
  encode(p: { keyFile: number; bits: keyof typeof RSA_KEY_SIZE_CODES }): CommandApdu {
    return apdu(
      0x80,
      Ins.generateKey,
      KeyType.rsa,
      0,
      Uint8Array.of(...u16(p.keyFile), RSA_KEY_SIZE_CODES[p.bits]),
      ANY_LENGTH,
    );
  },
};

/** GENERATE KEY P1 01: an EC key pair, P2 1 for ECDH only (tcGenerateEcKey). */
export const GenerateEcKey = {
  encode(p: { keyFile: number; curve: number; ecdhOnly: boolean }): CommandApdu {
    return apdu(
      0x80,
      Ins.generateKey,
      KeyType.ec,
      p.ecdhOnly ? 1 : 0,
      Uint8Array.of(...u16(p.keyFile), p.curve),
      ANY_LENGTH,
    );
  },
  decode(command: CommandApdu): { keyFile: number; curve: number; ecdhOnly: boolean } {
    if (command.p2 > 1) fail(Sw.wrongP1P2, "EC key P2 is 0 or 1");
    const data = dataOf(command, 3);
    return { keyFile: readU16(data, 0), curve: data[2]!, ecdhOnly: command.p2 === 1 };
  },
};

// --- Untrusted public keys and TLS keys ---------------------------------------------------

/** The RSA exponent field of LOAD UNTRUSTED KEY: 3 bytes, left-aligned (tcLoadUntrustedPublicKey). */
const EXPONENT_FIELD = 3;

/** LOAD UNTRUSTED PUBLIC KEY P1 00: expLen ‖ modLen(2) ‖ exponent(3) ‖ modulus, no Le. */
export const LoadUntrustedRsaKey = {
  encode(p: { modulus: Uint8Array; exponent: Uint8Array }): CommandApdu {
    const data = new Uint8Array(3 + EXPONENT_FIELD + p.modulus.length);
    data[0] = p.exponent.length;
    data.set(u16(p.modulus.length), 1);
    data.set(p.exponent.subarray(0, EXPONENT_FIELD), 3);
    data.set(p.modulus, 3 + EXPONENT_FIELD);
    return apdu(0x80, Ins.loadUntrustedKey, 0, 0, data);
  },
  decode(command: CommandApdu): { modulus: Uint8Array; exponent: Uint8Array } {
    const data = dataOf(command);
    if (data.length < 3 + EXPONENT_FIELD + 1) fail(Sw.wrongLength, "RSA key too short");
    const exponentLength = data[0]!;
    const modulusLength = readU16(data, 1);
    if (
      exponentLength < 1 || exponentLength > EXPONENT_FIELD ||
      data.length !== 3 + EXPONENT_FIELD + modulusLength
    ) {
      fail(Sw.wrongData, "RSA key lengths do not add up");
    }
    return {
      exponent: data.subarray(3, 3 + exponentLength),
      modulus: data.subarray(3 + EXPONENT_FIELD),
    };
  },
};

/** LOAD UNTRUSTED PUBLIC KEY P1 01: curve ‖ X ‖ Y, no Le (tcLoadUntrustedPublicEccKey). */
export const LoadUntrustedEcKey = {
  encode(p: { curve: number; point: Uint8Array }): CommandApdu {
    return apdu(0x80, Ins.loadUntrustedKey, 1, 0, Uint8Array.of(p.curve, ...p.point));
  },
  decode(command: CommandApdu): { curve: number; point: Uint8Array } {
    const data = dataOf(command);
    if (data.length < 2) fail(Sw.wrongLength, "EC key too short");
    return { curve: data[0]!, point: data.subarray(1) };
  },
};

/** ERASE TLS KEYS, no data (tcEraseTLSKeys). */
export const EraseTlsKeys = {
  encode(): CommandApdu {
    return apdu(0x80, Ins.eraseTlsKeys, 0, 0);
  },
};

// --- Randoms, hashes, version, modulus ----------------------------------------------------

/** Most bytes one GET RANDOM returns (mtls.c MAX_RAND_SIZE). */
export const RANDOM_MAX = 248;

/** GET RANDOM, Le = count (tcAskRandom). */
export const GetRandom = {
  encode(p: { length: number }): CommandApdu {
    return apdu(0x80, Ins.getRandom, 0, 0, undefined, p.length);
  },
  decode(command: CommandApdu): { length: number } {
    noData(command);
    const length = command.le ?? 0;
    if (length < 1 || length > RANDOM_MAX) fail(Sw.wrongLength, `Le ${length} for GET RANDOM`);
    return { length };
  },
};

/** The hash steps of SHA (INS 85) and HANDSHAKE SHA (INS 86), P2 (tc_api.h TC_P2_SHA_*). */
export const HashStep = { init: 0, update: 1, final: 2, oneShot: 3 } as const;

/** Which running hash: the general one (INS 85) or the TLS handshake hash (INS 86). */
export type HashKind = "sha" | "handshake";

/**
 * SHA and HANDSHAKE SHA: init (P1 = hash length, no data), update (data, no Le), final (no
 * data, Le 0: the vendor's tcShaFinal and tcHandshakeShaFinal), and for INS 85 only a one-shot
 * (P1 = hash length, data, case 4, tcSha). The vendor code has no one-shot for INS 86.
 */
export const Hash = {
  encode(
    p:
      | { kind: HashKind; step: "init"; hashLength: number }
      | { kind: HashKind; step: "update"; data: Uint8Array }
      | { kind: HashKind; step: "final" }
      | { kind: "sha"; step: "oneShot"; hashLength: number; data: Uint8Array },
  ): CommandApdu {
    const ins = p.kind === "sha" ? Ins.sha : Ins.handshakeSha;
    switch (p.step) {
      case "init":
        return apdu(0x80, ins, p.hashLength, HashStep.init);
      case "update":
        return apdu(0x80, ins, 0, HashStep.update, p.data);
      case "final":
        return apdu(0x80, ins, 0, HashStep.final);
      case "oneShot":
        return apdu(0x80, ins, p.hashLength, HashStep.oneShot, p.data, ANY_LENGTH);
    }
  },
  decode(
    command: CommandApdu,
  ):
    | { kind: HashKind; step: "init"; hashLength: number }
    | { kind: HashKind; step: "update"; data: Uint8Array }
    | { kind: HashKind; step: "final" }
    | { kind: "sha"; step: "oneShot"; hashLength: number; data: Uint8Array } {
    const kind: HashKind = command.ins === Ins.sha ? "sha" : "handshake";
    switch (command.p2) {
      case HashStep.init:
        noData(command);
        return { kind, step: "init", hashLength: command.p1 };
      case HashStep.update:
        return { kind, step: "update", data: dataOf(command) };
      case HashStep.final:
        noData(command);
        return { kind, step: "final" };
      case HashStep.oneShot:
        // HANDSHAKE SHA has no one-shot in the vendor code: a real applet answers 6A86.
        if (kind !== "sha") break;
        return { kind, step: "oneShot", hashLength: command.p1, data: dataOf(command) };
    }
    return fail(Sw.wrongP1P2, `no hash step ${command.p2} for INS ${command.ins.toString(16)}`);
  },
};

/** VERSION, Le 2 (tcGetVersion). */
export const Version = {
  encode(): CommandApdu {
    return apdu(0x80, Ins.version, 0, 0, undefined, 2);
  },
};

/** READ MODULUS, P1P2 = the key file, Le 0 (tcReadRsaModulus). */
export const ReadModulus = {
  encode(p: { keyFile: number }): CommandApdu {
    return apdu(0x80, Ins.readModulus, p.keyFile >> 8, p.keyFile & 0xff);
  },
  decode(command: CommandApdu): { keyFile: number } {
    noData(command);
    return { keyFile: command.p1 << 8 | command.p2 };
  },
};

// --- Files --------------------------------------------------------------------------------

/** Most bytes per READ BINARY (tcReadCurrentEF) and UPDATE BINARY (tcWriteEF). */
export const READ_BLOCK = 240;
/** Most bytes per UPDATE BINARY. */
export const UPDATE_BLOCK = 255;

/** SELECT EF, CLA 80: FID, Le 4 → FID ‖ size (tcSelectEF). */
export const SelectFile = {
  encode(p: { fileId: number }): CommandApdu {
    return apdu(0x80, Ins.select, 0, 0, u16(p.fileId), 4);
  },
  decode(command: CommandApdu): { fileId: number } {
    if (command.p1 !== 0 || command.p2 !== 0) fail(Sw.wrongP1P2, "SELECT EF is 00 00");
    return { fileId: readU16(dataOf(command, 2), 0) };
  },
};

/** READ BINARY of the selected file: P1P2 = offset, Le = count (tcReadCurrentEF). */
export const ReadBinary = {
  encode(p: { offset: number; length: number }): CommandApdu {
    return apdu(0x80, Ins.readBinary, p.offset >> 8, p.offset & 0xff, undefined, p.length);
  },
  decode(command: CommandApdu): { offset: number; length: number | undefined } {
    noData(command);
    const le = command.le;
    return { offset: command.p1 << 8 | command.p2, length: le === undefined ? undefined : le };
  },
};

/** UPDATE BINARY of the selected file: P1P2 = offset, no Le (tcWriteEF). */
export const UpdateBinary = {
  encode(p: { offset: number; data: Uint8Array }): CommandApdu {
    return apdu(0x80, Ins.updateBinary, p.offset >> 8, p.offset & 0xff, p.data);
  },
  decode(command: CommandApdu): { offset: number; data: Uint8Array } {
    return { offset: command.p1 << 8 | command.p2, data: dataOf(command) };
  },
};

/**
 * CREATE EF: 00 ‖ FID ‖ size ‖ read access (4 bytes) ‖ update access (4 bytes) ‖ 00
 * (tcCreateEF, which refuses access values above 0x0F).
 */
export const CreateFile = {
  encode(p: { fileId: number; size: number; read: number; update: number }): CommandApdu {
    const data = new Uint8Array(14);
    data.set(u16(p.fileId), 1);
    data.set(u16(p.size), 3);
    data[8] = p.read;
    data[12] = p.update;
    return apdu(0x80, Ins.createFile, 0, 0, data);
  },
  decode(command: CommandApdu): { fileId: number; size: number; read: number; update: number } {
    const data = dataOf(command, 14);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const read = view.getUint32(5);
    const update = view.getUint32(9);
    if (data[0] !== 0 || data[13] !== 0 || read > 0x0f || update > 0x0f) {
      fail(Sw.wrongData, "CREATE EF fields outside the vendor's form");
    }
    return { fileId: readU16(data, 1), size: readU16(data, 3), read, update };
  },
};

/** DELETE EF: FID, no Le (tcDeleteFile). */
export const DeleteFile = {
  encode(p: { fileId: number }): CommandApdu {
    return apdu(0x80, Ins.deleteFile, 0, 0, u16(p.fileId));
  },
  decode(command: CommandApdu): { fileId: number } {
    return { fileId: readU16(dataOf(command, 2), 0) };
  },
};

/** READ KEY ATTRIBUTES: P1P2 = the key, Le 35 (tcReadSecretKeyAttrs). */
export const ReadKeyAttributes = {
  encode(p: { handle: number }): CommandApdu {
    return apdu(0x80, Ins.readKeyAttributes, p.handle >> 8, p.handle & 0xff, undefined, 35);
  },
  decode(command: CommandApdu): { handle: number } {
    noData(command);
    return { handle: command.p1 << 8 | command.p2 };
  },
};

// --- Responses ----------------------------------------------------------------------------

/** A response the client cannot use (wrong length); the message says which. */
export class ResponseFormatError extends Error {
  override readonly name = "ResponseFormatError";
}

function expectLength(out: Uint8Array, length: number, what: string): void {
  if (out.length !== length) {
    throw new ResponseFormatError(`${what}: ${out.length} bytes, expected ${length}`);
  }
}

/** A 2-byte key handle (premaster, unwrapped key). */
export const HandleResponse = {
  encode(handle: number): Uint8Array {
    return u16(handle);
  },
  decode(out: Uint8Array): number {
    expectLength(out, 2, "handle");
    return readU16(out, 0);
  },
};

/** GENERATE MASTER SECRET's answer: version major ‖ minor ‖ handle (tcGenerateMasterSecret). */
export const MasterSecretResponse = {
  encode(p: { version: readonly [number, number]; handle: number }): Uint8Array {
    return Uint8Array.of(p.version[0], p.version[1], ...u16(p.handle));
  },
  decode(out: Uint8Array): { version: readonly [number, number]; handle: number } {
    expectLength(out, 4, "master secret");
    return { version: [out[0]!, out[1]!], handle: readU16(out, 2) };
  },
};

/** The key block as the chip returns it: four key handles and the two CBC IVs. */
export interface KeyBlockHandles {
  /** Handle of client_write_MAC_key. */
  clientMac: number;
  /** Handle of server_write_MAC_key. */
  serverMac: number;
  /** Handle of client_write_key. */
  clientWrite: number;
  /** Handle of server_write_key. */
  serverWrite: number;
  /** client_write_IV (16 bytes; unused by TLS 1.2 CBC, which sends explicit IVs). */
  clientIv: Uint8Array;
  /** server_write_IV (16 bytes). */
  serverIv: Uint8Array;
}

/**
 * GENERATE KEY BLOCK's 40 bytes: client MAC, server MAC, client write, server write handles
 * (2 each) ‖ client IV (16) ‖ server IV (16) (tcGenerateSessionKeys).
 */
export const KeyBlockResponse = {
  encode(p: KeyBlockHandles): Uint8Array {
    const out = new Uint8Array(40);
    [p.clientMac, p.serverMac, p.clientWrite, p.serverWrite].forEach((h, i) =>
      out.set(u16(h), 2 * i)
    );
    out.set(p.clientIv.subarray(0, 16), 8);
    out.set(p.serverIv.subarray(0, 16), 24);
    return out;
  },
  decode(out: Uint8Array): KeyBlockHandles {
    expectLength(out, 40, "key block");
    return {
      clientMac: readU16(out, 0),
      serverMac: readU16(out, 2),
      clientWrite: readU16(out, 4),
      serverWrite: readU16(out, 6),
      clientIv: out.slice(8, 24),
      serverIv: out.slice(24, 40),
    };
  },
};

/** SELECT EF's answer: FID ‖ size (tcSelectEF). */
export const SelectFileResponse = {
  encode(p: { fileId: number; size: number }): Uint8Array {
    return Uint8Array.of(...u16(p.fileId), ...u16(p.size));
  },
  decode(out: Uint8Array): { fileId: number; size: number } {
    expectLength(out, 4, "SELECT EF");
    return { fileId: readU16(out, 0), size: readU16(out, 2) };
  },
};

/** VERSION's answer: major ‖ minor. */
export const VersionResponse = {
  encode(p: { major: number; minor: number }): Uint8Array {
    return Uint8Array.of(p.major, p.minor);
  },
  decode(out: Uint8Array): { major: number; minor: number } {
    expectLength(out, 2, "VERSION");
    return { major: out[0]!, minor: out[1]! };
  },
};

/** Attributes of a secret key, from READ KEY ATTRIBUTES. */
export interface KeyAttributes {
  /** Label, up to 27 characters. */
  label: string;
  /** Key type, see `KeyType`. */
  keyType: number;
  /** Key length in bytes. */
  keyLength: number;
  /** Attribute bits, see `KeyAttribute`. */
  attributes: number;
  /** Key check value (3 bytes). */
  checkValue: Uint8Array;
}

const LABEL_FIELD = 28;

/**
 * READ KEY ATTRIBUTES' 35 bytes, the vendor's TC_SECRET_KEY_ATTRS: label (27 + NUL) ‖ type ‖
 * length ‖ attribute flags (little-endian, as the vendor writes key flags in tcGenerateAesKey)
 * ‖ check value (3).
 */
export const KeyAttributesResponse = {
  encode(p: KeyAttributes): Uint8Array {
    const out = new Uint8Array(35);
    out.set(new TextEncoder().encode(p.label).subarray(0, LABEL_FIELD - 1));
    out[28] = p.keyType;
    out[29] = p.keyLength;
    out[30] = p.attributes & 0xff;
    out[31] = p.attributes >> 8;
    out.set(p.checkValue.subarray(0, 3), 32);
    return out;
  },
  decode(out: Uint8Array): KeyAttributes {
    expectLength(out, 35, "key attributes");
    const labelEnd = out.subarray(0, LABEL_FIELD).indexOf(0);
    return {
      label: new TextDecoder().decode(out.subarray(0, labelEnd < 0 ? LABEL_FIELD - 1 : labelEnd)),
      keyType: out[28]!,
      keyLength: out[29]!,
      attributes: out[30]! | out[31]! << 8,
      checkValue: out.slice(32, 35),
    };
  },
};

/** CLA of the last parts of an ISO command chain: an opt-in with no vendor counterpart. */
export const CHAINING_CLA = 0x90;

/**
 * Reports a CLA the applet does not take; the vendor sends only 00 (SELECT) and 80. An ISO
 * chain (CLA 90) passes only when `chaining` is allowed.
 */
export function checkClass(command: CommandApdu, chaining: boolean): void {
  const { cla } = command;
  if (cla !== 0x00 && cla !== 0x80 && !(chaining && cla === CHAINING_CLA)) {
    fail(Sw.claNotSupported, `CLA ${cla.toString(16)}`);
  }
  if (cla === 0x00 && command.ins !== Ins.select) {
    fail(Sw.insNotSupported, "only SELECT uses CLA 00");
  }
}
