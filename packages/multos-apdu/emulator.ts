/**
 * A software Trust Core: the applet's APDU behaviour in process, for tests, benchmarks and
 * development without a chip. It answers command-mode APDUs with response data ‖ SW1 SW2.
 *
 * @module
 */

import { cbc, ecb, gcm } from "@noble/ciphers/aes.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { rsaesPkcs1v15Encrypt, tls12Prf } from "@anchortls/handshake";
import { constantTimeEqual } from "@anchortls/record";
import {
  bigIntByteLength,
  bigIntToBytes,
  bytesToBigInt,
  parsePem,
  type RsaPublicNumbers,
} from "@anchortls/x509";
import {
  ANY_LENGTH,
  applyCrts,
  CbcInput,
  CHAINING_CLA,
  checkClass,
  CommandFormatError,
  CreateFile,
  DeleteFile,
  Deselect,
  GcmDecryptInput,
  GcmEncryptInput,
  GenerateEcdhPremaster,
  GenerateEcKey,
  GenerateKeyBlock,
  GenerateMasterSecret,
  GeneratePremaster,
  GetRandom,
  HandleResponse,
  Hash,
  KeyAttributesResponse,
  KeyBlockResponse,
  LoadUntrustedEcKey,
  LoadUntrustedRsaKey,
  MasterSecretResponse,
  MseSet,
  Pso,
  ReadBinary,
  ReadKeyAttributes,
  ReadModulus,
  type SecurityEnvironment,
  SelectApplet,
  SelectFile,
  SelectFileResponse,
  UpdateBinary,
  VerifyPin,
} from "./_commands.ts";
import { concatBytes } from "@anchortls/record";
import { type CommandApdu, decodeCommand } from "./command.ts";
import { encodeResponse } from "./response.ts";
import {
  importPkcs8Rsa,
  pkcs1Recover,
  pkcs1Sign,
  pssSign,
  type RsaPrivateNumbers,
} from "./_rsa.ts";
import {
  AccessCondition,
  CHIP_BUFFER_SIZE,
  DEVICE_CERTIFICATE_FILE,
  DEVICE_EC_KEY_FILE,
  DEVICE_KEY_FILE,
  KeyAttribute,
  KeyType,
  PinReference,
  PsoOperation,
  SeTemplate,
  TRUST_CORE_AID,
  TrustCoreAlgorithm as Alg,
  TrustCoreIns as Ins,
} from "./trust_core_constants.ts";

export type { RsaPrivateNumbers } from "./_rsa.ts";

/** Options for {@linkcode TrustCoreEmulator}. */
export interface TrustCoreEmulatorOptions {
  /** The user PIN (reference 1). @default {"0000"} */
  pin?: string;
  /** The security officer PIN (reference 3). @default {"12345678"} */
  soPin?: string;
  /** Tries before a PIN blocks. @default {3} */
  pinTries?: number;
  /** The device RSA key, stored in key file 6100. */
  deviceKey?: RsaPrivateNumbers;
  /**
   * The device EC key (its private scalar), stored in key file 6300 (tc_api.h
   * TC_EFTYPE_EC_PRIVKEY, where mtls.c's mtlsECDSASign takes it from), able to sign.
   */
  deviceEcKey?: { readonly curve: "P-256" | "P-384"; readonly secret: Uint8Array };
  /** The device certificate (DER), stored in file 5300. */
  deviceCertificate?: Uint8Array;
  /** Applet version returned by VERSION. @default {[1, 0]} */
  version?: readonly [number, number];
  /** Random source of the chip. @default {crypto.getRandomValues} */
  random?: (length: number) => Uint8Array;
  /** Bytes of file storage. @default {16384} */
  storage?: number;
  /**
   * Secret key slots (premaster, master secret, record keys); one full handshake takes six.
   * The vendor header declares ten.
   * @default {10}
   */
  secretSlots?: number;
  /**
   * Keeps a copy of every secret the chip makes, readable through
   * {@linkcode TrustCoreEmulator.secretsForTesting}, so a test can prove none of them ever
   * left through the APDU interface. Never enable outside tests.
   * @default {false}
   */
  exposeSecretsForTesting?: boolean;
  /**
   * Accept several control reference templates in one MANAGE SECURITY ENVIRONMENT (the
   * client's `combineMseTags` opt-in). The vendor never sends them, so by default they are
   * refused with `6A80`, and a client that combines them by mistake fails.
   * @default {false}
   */
  acceptCombinedMse?: boolean;
  /**
   * Accept an ISO command chain (CLA 0x90) for a MAC over more than one buffer (the client's
   * `largeMac: "chain"` opt-in). No vendor command chains; by default CLA 0x90 is refused with
   * `6E00` (class not supported), as an applet that knows only CLA 00 and 80 answers.
   * @default {false}
   */
  acceptChainedMac?: boolean;
  /**
   * The status word when the secret slots are full. The vendor's no-space word is `6381`
   * (tc_api.c tcCreateEF); what GENERATE KEY answers on a full chip is not in the vendor code,
   * so `6A84` (ISO "not enough memory") can be chosen to test the other answer.
   * @default {0x6381}
   */
  slotsFullStatus?: number;
  /**
   * The status word for a GCM record whose tag does not verify. The vendor host code checks
   * only for 9000 (tc_api.c tcDecryptGcm); `6A80` is what the applet answers for a bad
   * signature, and `TrustCore`'s `gcmTagFailureStatus` takes the same default.
   * @default {0x6a80}
   */
  gcmTagFailureStatus?: number;
  /**
   * The status word for SELECT EF of a file that does not exist. The vendor's tcSelectEF
   * treats any answer but `9000` as "absent"; `6A82` is ISO's, other applets differ.
   * @default {0x6a82}
   */
  fileNotFoundStatus?: number;
}

/** PEM inputs for {@linkcode TrustCoreEmulator.fromPem}. */
export interface TrustCoreEmulatorPem
  extends Omit<TrustCoreEmulatorOptions, "deviceKey" | "deviceEcKey" | "deviceCertificate"> {
  /**
   * PKCS#8 `PRIVATE KEY` PEM of the device's key: RSA (into 6100) or EC P-256/P-384 (into
   * 6300).
   */
  keyPem: string;
  /** `CERTIFICATE` PEM of the device certificate (the first block is stored). */
  certificatePem: string;
}

type SecretKind = "premaster" | "master" | "mac" | "aes";
interface Secret {
  readonly kind: SecretKind;
  readonly bytes: Uint8Array;
  /** A premaster's protocol version, answered with the master secret. */
  readonly version?: readonly [number, number];
}

/** An EC private key in a 63xx key file. */
interface EcKey {
  readonly curve: EcCurve;
  readonly secret: Uint8Array;
  /** GENERATE KEY P2 1: the key may only agree (ECDH), never sign. */
  readonly ecdhOnly: boolean;
}

type EcCurve = typeof p256 | typeof p384;

/** The curves of GENERATE EC KEY, by the chip's code (tc_api.h TC_NAMED_CURVE_*). */
const EC_CURVES: ReadonlyMap<number, EcCurve> = new Map<number, EcCurve>([
  [0x17, p256],
  [0x18, p384],
]);

/** EC private key files (tc_api.h TC_EFTYPE_EC_PRIVKEY). */
const EC_KEY_CLASS = 0x63;

/**
 * An EC PKCS#8 key's curve and private scalar (through WebCrypto's JWK export), or
 * `undefined` for a key that is not EC P-256/P-384.
 */
async function importPkcs8Ec(
  pkcs8: Uint8Array,
): Promise<{ curve: "P-256" | "P-384"; secret: Uint8Array } | undefined> {
  for (const curve of ["P-256", "P-384"] as const) {
    try {
      const key = await crypto.subtle.importKey(
        "pkcs8",
        pkcs8.slice(),
        { name: "ECDSA", namedCurve: curve },
        true,
        ["sign"],
      );
      const jwk = await crypto.subtle.exportKey("jwk", key);
      return { curve, secret: Uint8Array.fromBase64(jwk.d!, { alphabet: "base64url" }) };
    } catch {
      // Not this curve, or not EC at all.
    }
  }
  return undefined;
}
interface EmulatedFile {
  data: Uint8Array;
  readonly read: number;
  readonly update: number;
}
interface Pin {
  readonly value: Uint8Array;
  tries: number;
}
type IncrementalHash = {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
  clone(): IncrementalHash;
};

class Refusal {
  constructor(readonly sw: number) {}
}

const refuse = (sw: number): never => {
  throw new Refusal(sw);
};

const SUITE_LENGTHS: ReadonlyMap<number, { key: number; mac: number; iv: number }> = new Map([
  [0x002f, { key: 16, mac: 20, iv: 16 }],
  [0x0035, { key: 32, mac: 20, iv: 16 }],
  [0x003c, { key: 16, mac: 32, iv: 16 }],
  [0x003d, { key: 32, mac: 32, iv: 16 }],
  // The GCM suites mtls.c runs (GCM_IV_LEN: a 4-byte implicit IV; no MAC keys).
  [0x009c, { key: 16, mac: 0, iv: 4 }],
  [0xc02b, { key: 16, mac: 0, iv: 4 }],
  [0xc02f, { key: 16, mac: 0, iv: 4 }],
]);

const FIRST_SESSION_HANDLE = 0x6210;

function hashFor(length: number): IncrementalHash {
  switch (length) {
    case 20:
      return sha1.create() as unknown as IncrementalHash;
    case 32:
      return sha256.create() as unknown as IncrementalHash;
    case 48:
      return sha384.create() as unknown as IncrementalHash;
    case 64:
      return sha512.create() as unknown as IncrementalHash;
  }
  return refuse(0x6a86);
}

function padPin(pin: string): Uint8Array {
  const bytes = new TextEncoder().encode(pin);
  if (bytes.length === 0 || bytes.length > 12) throw new RangeError("PIN must be 1 to 12 bytes");
  const out = new Uint8Array(12).fill(0xff);
  out.set(bytes);
  return out;
}

/**
 * The Trust Core applet in software, behind the same APDUs as the chip.
 *
 * It keeps files, key handles, PINs with tries counters, access conditions (`6982` until the
 * user PIN is verified) and the chip's 3000-byte buffer (`6700` for a longer command or answer). No
 * command returns a secret key: the premaster leaves only RSA-wrapped under the server key,
 * and key block keys stay as handles. Every response it sends is recorded, so a test can check
 * what crossed the link.
 *
 * @example Serving a TrustCore client in process
 * ```ts
 * import { TrustCore, TrustCoreEmulator } from "@anchortls/multos-apdu";
 * const chip = new TrustCoreEmulator({ pin: "1234" });
 * const tc = new TrustCore({ transmit: (apdu) => Promise.resolve(chip.handle(apdu)) });
 * await tc.select();
 * (await tc.version()).major; // 1
 * ```
 */
export class TrustCoreEmulator {
  readonly #pins = new Map<number, Pin>();
  readonly #files = new Map<number, EmulatedFile>();
  readonly #rsaKeys = new Map<number, RsaPrivateNumbers>();
  readonly #ecKeys = new Map<number, EcKey>();
  readonly #secrets = new Map<number, Secret>();
  readonly #environments = new Map<number, SecurityEnvironment>();
  readonly #verified = new Set<number>();
  readonly #random: (length: number) => Uint8Array;
  readonly #version: readonly [number, number];
  readonly #storage: number;
  readonly #pinTries: number;
  readonly #secretSlots: number;
  readonly #acceptCombinedMse: boolean;
  readonly #acceptChainedMac: boolean;
  readonly #slotsFullStatus: number;
  readonly #gcmTagFailureStatus: number;
  readonly #fileNotFoundStatus: number;
  readonly #sentToHost: Uint8Array[] = [];
  readonly #history: Uint8Array[] | undefined;
  #selected = false;
  #currentFile: number | undefined;
  #untrusted: { kind: "rsa"; key: RsaPublicNumbers } | {
    kind: "ec";
    curve: number;
    point: Uint8Array;
  } | undefined;
  #sha: IncrementalHash | undefined;
  #handshakeSha: IncrementalHash | undefined;
  #macChain: ReturnType<typeof hmac.create> | undefined;

  /**
   * Creates an emulated chip.
   *
   * @param options PINs, provisioned key and certificate, random source.
   */
  constructor(options: TrustCoreEmulatorOptions = {}) {
    const tries = options.pinTries ?? 3;
    this.#pinTries = tries;
    this.#pins.set(PinReference.user, { value: padPin(options.pin ?? "0000"), tries });
    this.#pins.set(PinReference.securityOfficer, {
      value: padPin(options.soPin ?? "12345678"),
      tries,
    });
    this.#random = options.random ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
    this.#version = options.version ?? [1, 0];
    this.#storage = options.storage ?? 16384;
    this.#secretSlots = options.secretSlots ?? 10;
    this.#acceptCombinedMse = options.acceptCombinedMse ?? false;
    this.#acceptChainedMac = options.acceptChainedMac ?? false;
    this.#slotsFullStatus = options.slotsFullStatus ?? 0x6381;
    this.#gcmTagFailureStatus = options.gcmTagFailureStatus ?? 0x6a80;
    this.#fileNotFoundStatus = options.fileNotFoundStatus ?? 0x6a82;
    this.#history = options.exposeSecretsForTesting ? [] : undefined;
    if (options.deviceEcKey) {
      const curve = options.deviceEcKey.curve === "P-256" ? p256 : p384;
      this.#ecKeys.set(DEVICE_EC_KEY_FILE, {
        curve,
        secret: options.deviceEcKey.secret.slice(),
        ecdhOnly: false,
      });
    }
    if (options.deviceKey) {
      this.#rsaKeys.set(DEVICE_KEY_FILE, options.deviceKey);
      this.#files.set(DEVICE_KEY_FILE, {
        data: new Uint8Array(0),
        read: AccessCondition.never,
        update: AccessCondition.never,
      });
    }
    if (options.deviceCertificate) {
      this.#files.set(DEVICE_CERTIFICATE_FILE, {
        data: options.deviceCertificate.slice(),
        read: AccessCondition.always,
        update: AccessCondition.securityOfficer,
      });
    }
  }

  /**
   * Creates a chip provisioned with a device key and certificate from PEM text.
   *
   * @example
   * ```ts ignore
   * import { TrustCoreEmulator } from "@anchortls/multos-apdu";
   * const chip = await TrustCoreEmulator.fromPem({
   *   keyPem: await Deno.readTextFile("client.key"),
   *   certificatePem: await Deno.readTextFile("client.pem"),
   * });
   * ```
   *
   * @param options The PEM texts and the other options.
   * @returns The provisioned emulator.
   */
  static async fromPem(options: TrustCoreEmulatorPem): Promise<TrustCoreEmulator> {
    const { keyPem, certificatePem, ...rest } = options;
    const pkcs8 = parsePem(keyPem, "PRIVATE KEY")[0];
    if (!pkcs8) throw new TypeError("no PKCS#8 PRIVATE KEY block in keyPem");
    const certificate = parsePem(certificatePem)[0];
    if (!certificate) throw new TypeError("no CERTIFICATE block in certificatePem");
    const ec = await importPkcs8Ec(pkcs8);
    return new TrustCoreEmulator({
      ...rest,
      ...(ec ? { deviceEcKey: ec } : { deviceKey: await importPkcs8Rsa(pkcs8) }),
      deviceCertificate: certificate,
    });
  }

  /**
   * Answers one command-mode APDU, as the chip would. Bound to the emulator, so it can be
   * passed on as a handler (`new CommandModeDevice(link, chip.handle)`).
   *
   * @param apdu The command APDU in MULTOS command-mode encoding.
   * @returns Response data ‖ SW1 SW2 (recorded in {@linkcode TrustCoreEmulator.sentToHost}).
   */
  readonly handle = (apdu: Uint8Array): Uint8Array => {
    let response: Uint8Array;
    try {
      response = this.#process(apdu);
    } catch (e) {
      response = encodeResponse(new Uint8Array(0), e instanceof Refusal ? e.sw : 0x6f00);
    }
    this.#sentToHost.push(response.slice());
    return response;
  };

  /**
   * Power-cycles the chip: deselects the applet and forgets verified PINs, the security
   * environment, running hashes and every session secret (they live in RAM). Files, keys and
   * PIN counters stay.
   *
   * @returns Nothing.
   */
  reset(): void {
    this.#selected = false;
    this.#verified.clear();
    this.#environments.clear();
    this.#currentFile = undefined;
    this.#untrusted = undefined;
    this.#sha = undefined;
    this.#handshakeSha = undefined;
    this.#eraseSessionSecrets();
  }

  /** Every response sent to the host so far, in order (copies). */
  get sentToHost(): Uint8Array[] {
    return this.#sentToHost.map((r) => r.slice());
  }

  /**
   * Forgets the recorded responses.
   *
   * @returns Nothing.
   */
  clearRecording(): void {
    this.#sentToHost.length = 0;
  }

  /**
   * Every secret the chip has made (premasters, master secrets, record keys), for tests that
   * check none of them crossed the link.
   *
   * @returns Copies of the secrets.
   * @throws {Error} Unless the emulator was created with `exposeSecretsForTesting`.
   */
  secretsForTesting(): Uint8Array[] {
    if (!this.#history) throw new Error("secrets are only exposed with exposeSecretsForTesting");
    return this.#history.map((s) => s.slice());
  }

  /** Number of secret key handles currently held. */
  get secretCount(): number {
    return this.#secrets.size;
  }

  /**
   * Redacts the emulator in `console.log`.
   *
   * @returns A summary without any key material.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /**
   * Redacts the emulator in JSON.
   *
   * @returns A summary without any key material.
   */
  toJSON(): { kind: string; secrets: number } {
    return { kind: "TrustCoreEmulator", secrets: this.#secrets.size };
  }

  /**
   * Redacts the emulator in string form.
   *
   * @returns A summary without any key material.
   */
  toString(): string {
    return `TrustCoreEmulator { ${this.#secrets.size} secret handles, keys redacted }`;
  }

  #process(apdu: Uint8Array): Uint8Array {
    if (apdu.length > CHIP_BUFFER_SIZE) return refuse(0x6700);
    let command: CommandApdu;
    try {
      command = decodeCommand(apdu, "multos");
    } catch {
      return refuse(0x6700);
    }
    try {
      return this.#dispatch(command);
    } catch (e) {
      if (e instanceof CommandFormatError) return refuse(e.sw);
      throw e;
    }
  }

  #dispatch(command: CommandApdu): Uint8Array {
    checkClass(command, this.#acceptChainedMac);
    const { cla, ins } = command;
    const chained = cla === CHAINING_CLA;
    const isMac = ins === Ins.performSecurityOperation &&
      (command.p1 << 8 | command.p2) === PsoOperation.signOrMac;
    if (!chained && this.#macChain && !isMac) this.#macChain = undefined;
    if (cla === 0x00) return this.#selectByClass00(command);
    if (!this.#selected) return refuse(0x6985);
    if (chained && !isMac) return refuse(0x6884);
    switch (ins) {
      case Ins.verify:
        return this.#verify(command);
      case Ins.manageSecurityEnvironment:
        return this.#mse(command);
      case Ins.performSecurityOperation:
        return this.#pso(command, chained);
      case Ins.generateKey:
        return this.#generate(command);
      case Ins.getRandom:
        return this.#ok(command, this.#random(GetRandom.decode(command).length));
      case Ins.sha:
      case Ins.handshakeSha:
        return this.#hash(command);
      case Ins.version:
        return this.#ok(command, Uint8Array.from(this.#version));
      case Ins.readModulus:
        return this.#readModulus(command);
      case Ins.select:
        return this.#selectFile(command);
      case Ins.readBinary:
        return this.#readBinary(command);
      case Ins.updateBinary:
        return this.#updateBinary(command);
      case Ins.createFile:
        return this.#createFile(command);
      case Ins.deleteFile:
        return this.#deleteFile(command);
      case Ins.readKeyAttributes:
        return this.#readKeyAttributes(command);
      case Ins.loadUntrustedKey:
        return this.#loadUntrusted(command);
      case Ins.eraseTlsKeys:
        this.#eraseSessionSecrets();
        return this.#ok(command);
    }
    return refuse(0x6d00);
  }

  #ok(command: CommandApdu, data: Uint8Array = new Uint8Array(0)): Uint8Array {
    const ne = command.le;
    if (ne !== undefined && ne !== 0 && ne !== ANY_LENGTH && data.length > ne) {
      return refuse(data.length <= 256 ? 0x6c00 | (data.length & 0xff) : 0x6700);
    }
    // The answer is built in the same public buffer as the command, status word included.
    if (data.length + 2 > CHIP_BUFFER_SIZE) return refuse(0x6700);
    return encodeResponse(data, 0x9000);
  }

  #requirePin(reference: number = PinReference.user): void {
    if (!this.#verified.has(reference)) refuse(0x6982);
  }

  #forgetSession(): void {
    this.#verified.clear();
    this.#environments.clear();
    this.#currentFile = undefined;
  }

  #selectByClass00(command: CommandApdu): Uint8Array {
    if (command.p1 === 0x00) {
      // SELECT of the MF deselects the applet, as the vendor's multosDeselectCurrApplication.
      Deselect.decode(command);
      this.#selected = false;
      this.#forgetSession();
      return this.#ok(command);
    }
    const { aid } = SelectApplet.decode(command);
    if (!constantTimeEqual(aid, TRUST_CORE_AID)) return refuse(0x6a82);
    this.#selected = true;
    this.#forgetSession();
    return this.#ok(command);
  }

  #verify(command: CommandApdu): Uint8Array {
    const pin = this.#pins.get(command.p2);
    if (command.p1 !== 0 || !pin) return refuse(0x6a88);
    if (!command.data) return refuse(0x63c0 | pin.tries);
    const { paddedPin } = VerifyPin.decode(command);
    if (pin.tries === 0) return refuse(0x6983);
    if (constantTimeEqual(paddedPin, pin.value)) {
      pin.tries = this.#pinTries;
      this.#verified.add(command.p2);
      return this.#ok(command);
    }
    pin.tries--;
    this.#verified.delete(command.p2);
    return refuse(0x63c0 | pin.tries);
  }

  #mse(command: CommandApdu): Uint8Array {
    if (command.p1 === 0xf3) {
      this.#environments.clear();
      return this.#ok(command);
    }
    if (command.p1 !== 0x41) return refuse(0x6a86);
    const { template, crts } = MseSet.decode(command);
    if (
      template !== SeTemplate.signature && template !== SeTemplate.confidentiality &&
      template !== SeTemplate.tls
    ) {
      return refuse(0x6a86);
    }
    // The vendor never sends two entries in one MSE; whether the applet takes them is unknown,
    // so this emulator refuses them unless told to accept them.
    if (crts.length > 1 && !this.#acceptCombinedMse) return refuse(0x6a80);
    const env: SecurityEnvironment = { ...this.#environments.get(template) };
    applyCrts(env, crts);
    this.#environments.set(template, env);
    return this.#ok(command);
  }

  #secret(handle: number | undefined, kinds: SecretKind[]): Secret {
    const secret = handle === undefined ? undefined : this.#secrets.get(handle);
    if (!secret || !kinds.includes(secret.kind)) return refuse(0x6a88);
    return secret;
  }

  #store(kind: SecretKind, bytes: Uint8Array, version?: readonly [number, number]): number {
    if (this.#secrets.size >= this.#secretSlots) return refuse(this.#slotsFullStatus);
    let handle = FIRST_SESSION_HANDLE;
    while (this.#secrets.has(handle)) handle++;
    this.#secrets.set(handle, { kind, bytes, ...(version ? { version } : {}) });
    this.#history?.push(bytes.slice());
    return handle;
  }

  #eraseSessionSecrets(): void {
    for (const secret of this.#secrets.values()) secret.bytes.fill(0);
    this.#secrets.clear();
    this.#macChain = undefined;
  }

  #pso(command: CommandApdu, chained: boolean): Uint8Array {
    this.#requirePin();
    const { operation, data } = Pso.decode(command);
    const conf = this.#environments.get(SeTemplate.confidentiality) ?? {};
    const sig = this.#environments.get(SeTemplate.signature) ?? {};
    switch (operation) {
      case "encrypt":
      case "decrypt": {
        if (conf.algorithm === Alg.aesGcm) return this.#gcm(command, operation, conf, data);
        if (conf.algorithm !== Alg.aesCbc) return refuse(0x6985);
        const key = this.#secret(conf.keyFile, ["aes"]);
        const input = CbcInput.decode(data);
        const cipher = cbc(key.bytes, input.iv, { disablePadding: true });
        return this.#ok(
          command,
          operation === "encrypt" ? cipher.encrypt(input.data) : cipher.decrypt(input.data),
        );
      }
      case "signOrMac":
        return this.#signOrMac(command, sig, data, chained);
      case "verify": {
        if (sig.algorithm !== Alg.rsaPkcs1) {
          return refuse(sig.algorithm === Alg.ecdsa ? 0x6a81 : 0x6985);
        }
        if (this.#untrusted?.kind !== "rsa") return refuse(0x6985);
        const recovered = pkcs1Recover(this.#untrusted.key, data);
        return recovered ? this.#ok(command, recovered) : refuse(0x6a80);
      }
      case "wrap": {
        if (conf.algorithm !== Alg.rsaPkcs1 || this.#untrusted?.kind !== "rsa") {
          return refuse(0x6985);
        }
        if (data.length !== 2) return refuse(0x6700);
        const premaster = this.#secret(HandleResponse.decode(data), ["premaster"]);
        return this.#ok(
          command,
          rsaesPkcs1v15Encrypt(this.#untrusted.key, premaster.bytes, this.#random),
        );
      }
      case "unwrap":
        return refuse(0x6a81);
    }
  }

  #signOrMac(
    command: CommandApdu,
    sig: SecurityEnvironment,
    data: Uint8Array,
    chained: boolean,
  ): Uint8Array {
    const algorithm = sig.algorithm;
    if (algorithm === Alg.hmacSha1 || algorithm === Alg.hmacSha256) {
      const key = this.#secret(sig.keyFile, ["mac"]);
      this.#macChain ??= hmac.create(algorithm === Alg.hmacSha1 ? sha1 : sha256, key.bytes);
      this.#macChain.update(data);
      if (chained) return this.#ok(command);
      const mac = this.#macChain.digest();
      this.#macChain = undefined;
      return this.#ok(command, mac);
    }
    if (chained) return refuse(0x6884);
    if (algorithm === Alg.clientFinished || algorithm === Alg.serverFinished) {
      const master = this.#secret(sig.keyFile, ["master"]);
      if (data.length !== 32) return refuse(0x6700);
      const label = algorithm === Alg.clientFinished ? "client finished" : "server finished";
      return this.#ok(command, tls12Prf(master.bytes, label, data, 12));
    }
    if (algorithm === Alg.ecdsa) {
      const key = sig.keyFile === undefined ? undefined : this.#ecKeys.get(sig.keyFile);
      if (!key) return refuse(0x6a88);
      // An ECDH-only key (GENERATE KEY P2 1) never signs; the vendor code does not say which
      // word the applet answers, 6982 (security status) is ISO's for a key not usable here.
      if (key.ecdhOnly) return refuse(0x6982);
      if (data.length !== 32 && data.length !== 48) return refuse(0x6700);
      // The signature is r ‖ s, each the field's length (mtls.c mtlsECDSASign's 132-byte
      // buffer is P-521's 2 × 66).
      return this.#ok(command, key.curve.sign(data, key.secret, { prehash: false }));
    }
    if (algorithm === Alg.rsaPkcs1 || algorithm === Alg.pssSha256) {
      const key = sig.keyFile === undefined ? undefined : this.#rsaKeys.get(sig.keyFile);
      if (!key) return refuse(0x6a88);
      if (algorithm === Alg.pssSha256) {
        if (data.length !== 32) return refuse(0x6700);
        return this.#ok(command, pssSign(key, data, this.#random));
      }
      if (data.length > bigIntByteLength(key.n) - 11) return refuse(0x6700);
      return this.#ok(command, pkcs1Sign(key, data));
    }
    return refuse(algorithm === undefined ? 0x6985 : 0x6a81);
  }

  #generate(command: CommandApdu): Uint8Array {
    this.#requirePin();
    switch (command.p1) {
      case KeyType.premaster: {
        if (command.p2 === 1) return this.#ecdhPremaster(command);
        if (command.p2 !== 0) return refuse(0x6a86);
        const { major, minor } = GeneratePremaster.decode(command);
        const premaster = new Uint8Array(48);
        premaster.set([major, minor]);
        premaster.set(this.#random(46), 2);
        const handle = this.#store("premaster", premaster, [major, minor]);
        return this.#ok(command, HandleResponse.encode(handle));
      }
      case KeyType.masterSecret: {
        const { premaster: handle, extended, seed } = GenerateMasterSecret.decode(command);
        const premaster = this.#secret(handle, ["premaster"]);
        if (extended ? seed.length !== 32 && seed.length !== 48 : seed.length !== 64) {
          return refuse(0x6700);
        }
        const master = tls12Prf(
          premaster.bytes,
          extended ? "extended master secret" : "master secret",
          seed,
          48,
        );
        const version = premaster.version ?? [premaster.bytes[0]!, premaster.bytes[1]!];
        return this.#ok(
          command,
          MasterSecretResponse.encode({ version, handle: this.#store("master", master) }),
        );
      }
      case KeyType.keyBlock:
        return this.#keyBlock(command);
      case KeyType.ec:
        return this.#generateEcKey(command);
      case KeyType.rsa:
      case KeyType.aes:
        return refuse(0x6a81);
    }
    return refuse(0x6a86);
  }

  #keyBlock(command: CommandApdu): Uint8Array {
    const tls = this.#environments.get(SeTemplate.tls) ?? {};
    const master = this.#secret(tls.keyFile, ["master"]);
    const lengths = tls.keyLengths ??
      (tls.cipherSuite === undefined ? undefined : SUITE_LENGTHS.get(tls.cipherSuite));
    // CBC's 16-byte IVs, or GCM's 4-byte implicit IV; keys of 16 or 32 bytes.
    if (!lengths || (lengths.iv !== 16 && lengths.iv !== 4)) return refuse(0x6985);
    const { serverRandom, clientRandom } = GenerateKeyBlock.decode(command);
    const { key, mac, iv } = lengths;
    if (this.#secrets.size + (mac > 0 ? 4 : 2) > this.#secretSlots) {
      return refuse(this.#slotsFullStatus);
    }
    const block = tls12Prf(
      master.bytes,
      "key expansion",
      concatBytes([serverRandom, clientRandom]),
      2 * (key + mac + iv),
    );
    const take = (at: number, n: number) => block.slice(at, at + n);
    // The answer keeps its 40-byte form (tc_api.c tcGenerateSessionKeys insists on La 40):
    // 16-byte IV fields, a GCM IV in the first 4 bytes and zeros after it, and MAC handles 0
    // when the suite has no MAC keys. The vendor code is silent on both; the provider reads
    // the IV length from the suite, not from the answer.
    const field = (at: number): Uint8Array => {
      const out = new Uint8Array(16);
      out.set(take(at, iv));
      return out;
    };
    const out = KeyBlockResponse.encode({
      clientMac: mac > 0 ? this.#store("mac", take(0, mac)) : 0,
      serverMac: mac > 0 ? this.#store("mac", take(mac, mac)) : 0,
      clientWrite: this.#store("aes", take(2 * mac, key)),
      serverWrite: this.#store("aes", take(2 * mac + key, key)),
      clientIv: field(2 * (mac + key)),
      serverIv: field(2 * (mac + key) + iv),
    });
    block.fill(0);
    return this.#ok(command, out);
  }

  /** GENERATE KEY P1 01: an EC key pair in a 63xx file; the public key X ‖ Y comes back. */
  #generateEcKey(command: CommandApdu): Uint8Array {
    const { keyFile, curve: code, ecdhOnly } = GenerateEcKey.decode(command);
    if (keyFile >> 8 !== EC_KEY_CLASS) return refuse(0x6a80);
    // P-521 is in the vendor's host code; this emulator has P-256 and P-384 only.
    const curve = EC_CURVES.get(code);
    if (!curve) return refuse(0x6a80);
    const secret = curve.utils.randomSecretKey(this.#random(curve.lengths.seed!));
    this.#ecKeys.get(keyFile)?.secret.fill(0);
    this.#ecKeys.set(keyFile, { curve, secret, ecdhOnly });
    this.#history?.push(secret.slice());
    return this.#ok(command, curve.getPublicKey(secret, false).subarray(1));
  }

  /**
   * GENERATE KEY P1 03 P2 01: ECDH of the TLS template's EC key (algorithm 0C) with the peer's
   * X ‖ Y; the premaster is the shared point's X coordinate (RFC 8422 §5.10).
   */
  #ecdhPremaster(command: CommandApdu): Uint8Array {
    const tls = this.#environments.get(SeTemplate.tls) ?? {};
    if (tls.algorithm !== Alg.ecdh) return refuse(0x6985);
    const key = tls.keyFile === undefined ? undefined : this.#ecKeys.get(tls.keyFile);
    if (!key) return refuse(0x6a88);
    const { peerPoint } = GenerateEcdhPremaster.decode(command);
    if (peerPoint.length !== key.curve.lengths.publicKeyUncompressed! - 1) return refuse(0x6700);
    let shared: Uint8Array;
    try {
      shared = key.curve.getSharedSecret(key.secret, Uint8Array.of(4, ...peerPoint), true);
    } catch {
      return refuse(0x6a80);
    }
    // The vendor code says nothing of the version an ECDH premaster answers with its master
    // secret (there is no client_version in it); TLS 1.2's is given.
    const handle = this.#store("premaster", shared.slice(1), [3, 3]);
    shared.fill(0);
    return this.#ok(command, HandleResponse.encode(handle));
  }

  /** PSO ENCRYPT/DECRYPT under algorithm 0B: the vendor's GCM data forms. */
  #gcm(
    command: CommandApdu,
    operation: "encrypt" | "decrypt",
    conf: SecurityEnvironment,
    data: Uint8Array,
  ): Uint8Array {
    const key = this.#secret(conf.keyFile, ["aes"]);
    if (operation === "encrypt") {
      const input = GcmEncryptInput.decode(data);
      if (input.iv.length + input.aad.length < 16) return refuse(0x6a80);
      return this.#ok(command, gcm(key.bytes, input.iv, input.aad).encrypt(input.plaintext));
    }
    const input = GcmDecryptInput.decode(data);
    try {
      const sealed = concatBytes([input.ciphertext, input.tag]);
      return this.#ok(command, gcm(key.bytes, input.iv, input.aad).decrypt(sealed));
    } catch {
      return refuse(this.#gcmTagFailureStatus);
    }
  }

  #hash(command: CommandApdu): Uint8Array {
    const step = Hash.decode(command);
    const handshake = step.kind === "handshake";
    const current = handshake ? this.#handshakeSha : this.#sha;
    const set = (h: IncrementalHash | undefined) =>
      handshake ? this.#handshakeSha = h : this.#sha = h;
    switch (step.step) {
      case "init":
        set(hashFor(step.hashLength));
        return this.#ok(command);
      case "update":
        if (!current) return refuse(0x6985);
        current.update(step.data);
        return this.#ok(command);
      case "final": {
        if (!current) return refuse(0x6985);
        // The handshake hash keeps running: Finished and EMS read it at several points.
        const digest = handshake ? current.clone().digest() : current.digest();
        if (!handshake) set(undefined);
        return this.#ok(command, digest);
      }
      case "oneShot": {
        const h = hashFor(step.hashLength);
        h.update(step.data);
        return this.#ok(command, h.digest());
      }
    }
  }

  #readModulus(command: CommandApdu): Uint8Array {
    const key = this.#rsaKeys.get(ReadModulus.decode(command).keyFile);
    if (!key) return refuse(0x6a82);
    return this.#ok(command, bigIntToBytes(key.n));
  }

  #selectFile(command: CommandApdu): Uint8Array {
    const { fileId } = SelectFile.decode(command);
    const file = this.#files.get(fileId);
    if (!file) return refuse(this.#fileNotFoundStatus);
    this.#currentFile = fileId;
    return this.#ok(command, SelectFileResponse.encode({ fileId, size: file.data.length }));
  }

  #allowed(condition: number): boolean {
    if (condition & AccessCondition.always) return true;
    if (condition & AccessCondition.user && this.#verified.has(PinReference.user)) return true;
    if (condition & AccessCondition.keyManager && this.#verified.has(PinReference.keyManager)) {
      return true;
    }
    return (condition & AccessCondition.securityOfficer) !== 0 &&
      this.#verified.has(PinReference.securityOfficer);
  }

  #current(): [number, EmulatedFile] {
    const id = this.#currentFile;
    const file = id === undefined ? undefined : this.#files.get(id);
    if (id === undefined || !file) return refuse(0x6986);
    return [id, file];
  }

  #readBinary(command: CommandApdu): Uint8Array {
    const [id, file] = this.#current();
    const secretClass = id >> 8 === 0x61 || id >> 8 === 0x62 || id >> 8 === 0x63;
    if (secretClass || !this.#allowed(file.read)) return refuse(0x6982);
    const { offset, length } = ReadBinary.decode(command);
    const n = length === undefined || length === 0 || length === ANY_LENGTH
      ? file.data.length - offset
      : length;
    if (offset + n > file.data.length || n < 0) return refuse(0x6b00);
    return this.#ok(command, file.data.slice(offset, offset + n));
  }

  #updateBinary(command: CommandApdu): Uint8Array {
    const [, file] = this.#current();
    if (!this.#allowed(file.update)) return refuse(0x6982);
    const { offset, data } = UpdateBinary.decode(command);
    if (offset + data.length > file.data.length) return refuse(0x6a84);
    file.data.set(data, offset);
    return this.#ok(command);
  }

  #used(): number {
    let total = 0;
    for (const f of this.#files.values()) total += f.data.length;
    return total;
  }

  #createFile(command: CommandApdu): Uint8Array {
    this.#requirePin();
    const { fileId, size, read, update } = CreateFile.decode(command);
    if (this.#files.has(fileId)) return refuse(0x6a89);
    if (this.#used() + size > this.#storage) return refuse(0x6381);
    this.#files.set(fileId, { data: new Uint8Array(size), read, update });
    return this.#ok(command);
  }

  #deleteFile(command: CommandApdu): Uint8Array {
    this.#requirePin();
    const { fileId } = DeleteFile.decode(command);
    const secret = this.#secrets.get(fileId);
    if (secret) {
      // Session secrets are key files of class 62xx, so DELETE EF frees one slot (the only
      // way short of ERASE TLS KEYS, which frees them all).
      secret.bytes.fill(0);
      this.#secrets.delete(fileId);
      return this.#ok(command);
    }
    const file = this.#files.get(fileId);
    if (!file) return refuse(0x6a82);
    if (!this.#allowed(file.update)) return refuse(0x6982);
    file.data.fill(0);
    this.#files.delete(fileId);
    this.#rsaKeys.delete(fileId);
    if (this.#currentFile === fileId) this.#currentFile = undefined;
    return this.#ok(command);
  }

  #readKeyAttributes(command: CommandApdu): Uint8Array {
    this.#requirePin();
    const secret = this.#secret(ReadKeyAttributes.decode(command).handle, [
      "premaster",
      "master",
      "mac",
      "aes",
    ]);
    const { keyType, attributes } = {
      premaster: {
        keyType: KeyType.premaster,
        attributes: KeyAttribute.generateMasterSecret | KeyAttribute.wrap,
      },
      master: {
        keyType: KeyType.masterSecret,
        attributes: KeyAttribute.generateSessionKeys | KeyAttribute.generateMac,
      },
      mac: { keyType: KeyType.aes, attributes: KeyAttribute.generateMac },
      aes: { keyType: KeyType.aes, attributes: KeyAttribute.encrypt | KeyAttribute.decrypt },
    }[secret.kind];
    const checkValue = secret.kind === "aes"
      ? ecb(secret.bytes, { disablePadding: true }).encrypt(new Uint8Array(16)).subarray(0, 3)
      : new Uint8Array(3);
    return this.#ok(
      command,
      KeyAttributesResponse.encode({
        label: "",
        keyType,
        keyLength: secret.bytes.length,
        attributes,
        checkValue,
      }),
    );
  }

  #loadUntrusted(command: CommandApdu): Uint8Array {
    if (command.p1 === 0) {
      const key = LoadUntrustedRsaKey.decode(command);
      const exponent = bytesToBigInt(key.exponent);
      const modulus = bytesToBigInt(key.modulus);
      // rsaesPkcs1v15Encrypt refuses any other key; refusing it here keeps the chip's 6A80.
      if (modulus < 1n << 511n || exponent < 3n || exponent % 2n === 0n) return refuse(0x6a80);
      this.#untrusted = { kind: "rsa", key: { modulus, exponent } };
      return this.#ok(command);
    }
    if (command.p1 === 1) {
      const { curve, point } = LoadUntrustedEcKey.decode(command);
      const sizes: Record<number, number> = { 0x17: 64, 0x18: 96, 0x19: 132 };
      const size = sizes[curve];
      if (size === undefined || point.length !== size) return refuse(0x6a80);
      this.#untrusted = { kind: "ec", curve, point: point.slice() };
      return this.#ok(command);
    }
    return refuse(0x6a86);
  }
}
