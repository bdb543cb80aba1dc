/**
 * Identifiers of the MULTOS Trust Core applet: its AID, instruction bytes, security
 * environment templates and algorithms, PIN references and file classes.
 *
 * @module
 */

/** The Trust Core applet's AID, `A0 00 00 01 44 54 43 4F 52 45` ("TCORE"). */
export const TRUST_CORE_AID: Uint8Array = Uint8Array.fromHex("a00000014454434f5245");

/** Instruction bytes of the Trust Core applet (CLA 0x80, SELECT uses CLA 0x00). */
export const TrustCoreIns = {
  verify: 0x20,
  manageSecurityEnvironment: 0x22,
  performSecurityOperation: 0x2a,
  readModulus: 0x40,
  generateKey: 0x46,
  getRandom: 0x84,
  sha: 0x85,
  handshakeSha: 0x86,
  version: 0x88,
  select: 0xa4,
  readBinary: 0xb0,
  readKeyAttributes: 0xb1,
  getResponse: 0xc0,
  updateBinary: 0xd6,
  createFile: 0xe0,
  deleteFile: 0xe4,
  loadUntrustedKey: 0xe6,
  eraseTlsKeys: 0xe7,
} as const;

/** MANAGE SECURITY ENVIRONMENT templates (P2). */
export const SeTemplate = {
  /** Digital signature and MAC, and Finished. */
  signature: 0xb6,
  /** Confidentiality: encrypt, decrypt, wrap. */
  confidentiality: 0xb8,
  /** TLS key derivation. */
  tls: 0xba,
} as const;

/** A MANAGE SECURITY ENVIRONMENT template value. */
export type SeTemplate = (typeof SeTemplate)[keyof typeof SeTemplate];

/** Algorithm identifiers carried in MSE tag 0x80. */
export const TrustCoreAlgorithm = {
  rsaPkcs1: 0x01,
  tls: 0x02,
  pssSha1: 0x03,
  pssSha256: 0x04,
  aesCbc: 0x05,
  hmacSha1: 0x06,
  hmacSha256: 0x07,
  clientFinished: 0x08,
  serverFinished: 0x09,
  ecdsa: 0x0a,
  aesGcm: 0x0b,
  ecdh: 0x0c,
} as const;

/** PIN references for VERIFY (P2). */
export const PinReference = {
  user: 1,
  keyManager: 2,
  securityOfficer: 3,
} as const;

/** A PIN reference value. */
export type PinReference = (typeof PinReference)[keyof typeof PinReference];

/** First file ID of each file class; the low byte numbers files within a class. */
export const FileClass = {
  certificate: 0x5300,
  publicKey: 0x6000,
  rsaPrivateKey: 0x6100,
  secret: 0x6200,
  ecPrivateKey: 0x6300,
} as const;

/** The device's RSA identity key. */
export const DEVICE_KEY_FILE = 0x6100;
/** The device's EC identity key: the first EC key file (tc_api.h TC_EFTYPE_EC_PRIVKEY). */
export const DEVICE_EC_KEY_FILE = 0x6300;
/** The file the device certificate (DER) is stored in, by this package's convention. */
export const DEVICE_CERTIFICATE_FILE = 0x5300;

/** Named-curve identifiers for LOAD UNTRUSTED PUBLIC KEY (EC). */
export const TrustCoreCurve = {
  "P-256": 0x17,
  "P-384": 0x18,
  "P-521": 0x19,
} as const;

/** A curve name the chip knows. */
export type TrustCoreCurveName = keyof typeof TrustCoreCurve;

/** Access condition bits for CREATE EF (read and update access). */
export const AccessCondition = {
  never: 0x00,
  always: 0x01,
  user: 0x02,
  keyManager: 0x04,
  securityOfficer: 0x08,
} as const;

/**
 * PSO P1P2 pairs: P1 names the output's tag, P2 the input's (ISO 7816-8): 86 cryptogram,
 * 80 plain value, 9E signature, 9A data to sign, 9F verify, 81 wrapped key. Taken from tc_api.c
 * (tcEncrypt `TC_PARAM_CRYPTOGRAM, TC_PARAM_PLAIN`, tcDecrypt the reverse, tcSign, tcVerify,
 * tcWrapKey, tcUnwrapKey).
 */
export const PsoOperation = {
  encrypt: 0x8680,
  decrypt: 0x8086,
  signOrMac: 0x9e9a,
  verify: 0x9f9a,
  wrap: 0x8186,
  unwrap: 0x8681,
} as const;

/** Secret key attribute bits, as READ KEY ATTRIBUTES returns them. */
export const KeyAttribute = {
  encrypt: 0x0080,
  decrypt: 0x0040,
  wrap: 0x0020,
  unwrap: 0x0010,
  extract: 0x0008,
  generateMasterSecret: 0x0004,
  generateSessionKeys: 0x0002,
  generateMac: 0x0001,
} as const;

/** GENERATE KEY P1 key types. */
export const KeyType = {
  rsa: 0x00,
  ec: 0x01,
  aes: 0x02,
  premaster: 0x03,
  masterSecret: 0x04,
  keyBlock: 0x05,
} as const;

/** The chip's public buffer, which holds one whole command APDU. */
export const CHIP_BUFFER_SIZE = 3000;
/** Most data bytes per command: the buffer less header, Lc and Le (2992). */
export const MAX_COMMAND_DATA = CHIP_BUFFER_SIZE - 8;
