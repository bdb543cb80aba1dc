/**
 * A software Trust Core: the applet's APDU behaviour in process, for tests, benchmarks and
 * development without a chip. It answers command-mode APDUs with response data ‖ SW1 SW2.
 *
 * @module
 */

import { cbc, ecb } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { rsaesPkcs1v15Encrypt, tls12Prf } from "@anchortls/handshake";
import {
  bigIntByteLength,
  bigIntToBytes,
  bytesToBigInt,
  parsePem,
  type RsaPublicNumbers,
} from "@anchortls/x509";
import { equalConstantTime } from "./_bytes.ts";
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
  DEVICE_KEY_FILE,
  KeyAttribute,
  KeyType,
  PinReference,
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
}

/** PEM inputs for {@linkcode TrustCoreEmulator.fromPem}. */
export interface TrustCoreEmulatorPem
  extends Omit<TrustCoreEmulatorOptions, "deviceKey" | "deviceCertificate"> {
  /** PKCS#8 `PRIVATE KEY` PEM of the device's RSA key. */
  keyPem: string;
  /** `CERTIFICATE` PEM of the device certificate (the first block is stored). */
  certificatePem: string;
}

type SecretKind = "premaster" | "master" | "mac" | "aes";
interface Secret {
  readonly kind: SecretKind;
  readonly bytes: Uint8Array;
}
interface EmulatedFile {
  data: Uint8Array;
  readonly read: number;
  readonly update: number;
}
interface Environment {
  algorithm?: number;
  keyFile?: number;
  cipherSuite?: number;
  keyLengths?: { key: number; mac: number; iv: number };
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
]);

const FIRST_SESSION_HANDLE = 0x6210;
const RANDOM_MAX = 248;

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
  readonly #secrets = new Map<number, Secret>();
  readonly #environments = new Map<number, Environment>();
  readonly #verified = new Set<number>();
  readonly #random: (length: number) => Uint8Array;
  readonly #version: readonly [number, number];
  readonly #storage: number;
  readonly #pinTries: number;
  readonly #secretSlots: number;
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
    this.#history = options.exposeSecretsForTesting ? [] : undefined;
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
    return new TrustCoreEmulator({
      ...rest,
      deviceKey: await importPkcs8Rsa(pkcs8),
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
    const { cla, ins } = command;
    if (cla !== 0x00 && cla !== 0x80 && cla !== 0x90) return refuse(0x6e00);
    const chained = cla === 0x90;
    if (
      !chained && this.#macChain && !(ins === Ins.performSecurityOperation && command.p1 === 0x9e)
    ) {
      this.#macChain = undefined;
    }
    if (cla === 0x00) {
      if (ins !== Ins.select) return refuse(0x6d00);
      return this.#selectApplet(command);
    }
    if (!this.#selected) return refuse(0x6985);
    if (
      chained &&
      !(ins === Ins.performSecurityOperation && command.p1 === 0x9e && command.p2 === 0x9a)
    ) {
      return refuse(0x6884);
    }
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
        return this.#getRandom(command);
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
    if (ne !== undefined && ne !== 65536 && data.length > ne) {
      return refuse(data.length <= 256 ? 0x6c00 | (data.length & 0xff) : 0x6700);
    }
    // The answer is built in the same public buffer as the command, status word included.
    if (data.length + 2 > CHIP_BUFFER_SIZE) return refuse(0x6700);
    return encodeResponse(data, 0x9000);
  }

  #data(command: CommandApdu, length?: number): Uint8Array {
    const data = command.data ?? new Uint8Array(0);
    if (length !== undefined && data.length !== length) return refuse(0x6700);
    return data;
  }

  #requirePin(reference: number = PinReference.user): void {
    if (!this.#verified.has(reference)) refuse(0x6982);
  }

  #selectApplet(command: CommandApdu): Uint8Array {
    if (command.p1 !== 0x04) return refuse(0x6a86);
    const aid = this.#data(command);
    if (!equalConstantTime(aid, TRUST_CORE_AID)) return refuse(0x6a82);
    this.#selected = true;
    this.#verified.clear();
    this.#environments.clear();
    this.#currentFile = undefined;
    return this.#ok(command);
  }

  #verify(command: CommandApdu): Uint8Array {
    const pin = this.#pins.get(command.p2);
    if (command.p1 !== 0 || !pin) return refuse(0x6a88);
    if (!command.data) return refuse(0x63c0 | pin.tries);
    const offered = this.#data(command, 12);
    if (pin.tries === 0) return refuse(0x6983);
    if (equalConstantTime(offered, pin.value)) {
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
    const template = command.p2;
    if (
      template !== SeTemplate.signature && template !== SeTemplate.confidentiality &&
      template !== SeTemplate.tls
    ) {
      return refuse(0x6a86);
    }
    const data = this.#data(command);
    const env: Environment = { ...this.#environments.get(template) };
    let at = 0;
    while (at < data.length) {
      const tag = data[at]!;
      const length = data[at + 1];
      if (length === undefined || at + 2 + length > data.length) return refuse(0x6a80);
      const value = data.subarray(at + 2, at + 2 + length);
      if (tag === 0x80 && length === 1) env.algorithm = value[0]!;
      else if (tag === 0x81 && length === 2) env.keyFile = value[0]! << 8 | value[1]!;
      else if (tag === 0x85 && length === 2) env.cipherSuite = value[0]! << 8 | value[1]!;
      else if (tag === 0x86 && length === 3) {
        env.keyLengths = { key: value[0]!, mac: value[1]!, iv: value[2]! };
      } else return refuse(0x6a80);
      at += 2 + length;
    }
    this.#environments.set(template, env);
    return this.#ok(command);
  }

  #secret(handle: number | undefined, kinds: SecretKind[]): Secret {
    const secret = handle === undefined ? undefined : this.#secrets.get(handle);
    if (!secret || !kinds.includes(secret.kind)) return refuse(0x6a88);
    return secret;
  }

  #store(kind: SecretKind, bytes: Uint8Array): number {
    if (this.#secrets.size >= this.#secretSlots) return refuse(0x6a84);
    let handle = FIRST_SESSION_HANDLE;
    while (this.#secrets.has(handle)) handle++;
    this.#secrets.set(handle, { kind, bytes });
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
    const operation = command.p1 << 8 | command.p2;
    const data = this.#data(command);
    const conf = this.#environments.get(SeTemplate.confidentiality) ?? {};
    const sig = this.#environments.get(SeTemplate.signature) ?? {};
    switch (operation) {
      case 0x8086:
      case 0x8680: {
        if (conf.algorithm !== Alg.aesCbc) return refuse(0x6985);
        const key = this.#secret(conf.keyFile, ["aes"]);
        if (data.length < 32 || data.length % 16 !== 0) return refuse(0x6700);
        const cipher = cbc(key.bytes, data.subarray(0, 16), { disablePadding: true });
        const body = data.subarray(16);
        return this.#ok(
          command,
          operation === 0x8086 ? cipher.encrypt(body) : cipher.decrypt(body),
        );
      }
      case 0x9e9a:
        return this.#signOrMac(command, sig, data, chained);
      case 0x9f9a: {
        if (sig.algorithm !== Alg.rsaPkcs1) {
          return refuse(sig.algorithm === Alg.ecdsa ? 0x6a81 : 0x6985);
        }
        if (this.#untrusted?.kind !== "rsa") return refuse(0x6985);
        const recovered = pkcs1Recover(this.#untrusted.key, data);
        return recovered ? this.#ok(command, recovered) : refuse(0x6a80);
      }
      case 0x8186: {
        if (conf.algorithm !== Alg.rsaPkcs1 || this.#untrusted?.kind !== "rsa") {
          return refuse(0x6985);
        }
        const premaster = this.#secret(data.length === 2 ? data[0]! << 8 | data[1]! : undefined, [
          "premaster",
        ]);
        return this.#ok(
          command,
          rsaesPkcs1v15Encrypt(this.#untrusted.key, premaster.bytes, this.#random),
        );
      }
      case 0x8681:
        return refuse(0x6a81);
    }
    return refuse(0x6a86);
  }

  #signOrMac(
    command: CommandApdu,
    sig: Environment,
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
    if (algorithm === Alg.rsaPkcs1) {
      const key = sig.keyFile === undefined ? undefined : this.#rsaKeys.get(sig.keyFile);
      if (!key) return refuse(0x6a88);
      if (data.length > bigIntByteLength(key.n) - 11) return refuse(0x6700);
      return this.#ok(command, pkcs1Sign(key, data));
    }
    if (algorithm === Alg.pssSha256) {
      const key = sig.keyFile === undefined ? undefined : this.#rsaKeys.get(sig.keyFile);
      if (!key) return refuse(0x6a88);
      if (data.length !== 32) return refuse(0x6700);
      return this.#ok(command, pssSign(key, data, this.#random));
    }
    return refuse(algorithm === undefined ? 0x6985 : 0x6a81);
  }

  #generate(command: CommandApdu): Uint8Array {
    this.#requirePin();
    const data = this.#data(command);
    switch (command.p1) {
      case KeyType.premaster: {
        if (command.p2 !== 0) return refuse(0x6a81);
        if (data.length !== 2) return refuse(0x6700);
        const premaster = new Uint8Array(48);
        premaster.set(data);
        premaster.set(this.#random(46), 2);
        const handle = this.#store("premaster", premaster);
        return this.#ok(command, Uint8Array.of(handle >> 8, handle & 0xff));
      }
      case KeyType.masterSecret: {
        if (command.p2 > 1 || data.length < 2) return refuse(command.p2 > 1 ? 0x6a86 : 0x6700);
        const premaster = this.#secret(data[0]! << 8 | data[1]!, ["premaster"]);
        const seed = data.subarray(2);
        const extended = command.p2 === 1;
        if (extended ? seed.length !== 32 && seed.length !== 48 : seed.length !== 64) {
          return refuse(0x6700);
        }
        const master = tls12Prf(
          premaster.bytes,
          extended ? "extended master secret" : "master secret",
          seed,
          48,
        );
        const handle = this.#store("master", master);
        return this.#ok(
          command,
          Uint8Array.of(premaster.bytes[0]!, premaster.bytes[1]!, handle >> 8, handle & 0xff),
        );
      }
      case KeyType.keyBlock:
        return this.#keyBlock(command, data);
      case KeyType.rsa:
      case KeyType.ec:
      case KeyType.aes:
        return refuse(0x6a81);
    }
    return refuse(0x6a86);
  }

  #keyBlock(command: CommandApdu, data: Uint8Array): Uint8Array {
    const tls = this.#environments.get(SeTemplate.tls) ?? {};
    const master = this.#secret(tls.keyFile, ["master"]);
    const lengths = tls.keyLengths ??
      (tls.cipherSuite === undefined ? undefined : SUITE_LENGTHS.get(tls.cipherSuite));
    if (!lengths || lengths.iv !== 16) return refuse(0x6985);
    if (data.length !== 64) return refuse(0x6700);
    if (this.#secrets.size + 4 > this.#secretSlots) return refuse(0x6a84);
    const { key, mac, iv } = lengths;
    const block = tls12Prf(master.bytes, "key expansion", data, 2 * (key + mac + iv));
    const take = (at: number, n: number) => block.slice(at, at + n);
    const handles = [
      this.#store("mac", take(0, mac)),
      this.#store("mac", take(mac, mac)),
      this.#store("aes", take(2 * mac, key)),
      this.#store("aes", take(2 * mac + key, key)),
    ];
    const out = new Uint8Array(40);
    handles.forEach((h, i) => out.set([h >> 8, h & 0xff], 2 * i));
    out.set(take(2 * (mac + key), 16), 8);
    out.set(take(2 * (mac + key) + 16, 16), 24);
    block.fill(0);
    return this.#ok(command, out);
  }

  #getRandom(command: CommandApdu): Uint8Array {
    const n = command.le;
    if (n === undefined || n > RANDOM_MAX || command.data) return refuse(0x6700);
    return this.#ok(command, this.#random(n));
  }

  #hash(command: CommandApdu): Uint8Array {
    const handshake = command.ins === Ins.handshakeSha;
    const current = handshake ? this.#handshakeSha : this.#sha;
    const set = (h: IncrementalHash | undefined) =>
      handshake ? this.#handshakeSha = h : this.#sha = h;
    switch (command.p2) {
      case 0:
        set(hashFor(command.p1));
        return this.#ok(command);
      case 1:
        if (!current) return refuse(0x6985);
        current.update(this.#data(command));
        return this.#ok(command);
      case 2: {
        if (!current) return refuse(0x6985);
        // The handshake hash keeps running: Finished and EMS read it at several points.
        const digest = handshake ? current.clone().digest() : current.digest();
        if (!handshake) set(undefined);
        return this.#ok(command, digest);
      }
      case 3: {
        const h = hashFor(command.p1);
        h.update(this.#data(command));
        return this.#ok(command, h.digest());
      }
    }
    return refuse(0x6a86);
  }

  #readModulus(command: CommandApdu): Uint8Array {
    const key = this.#rsaKeys.get(command.p1 << 8 | command.p2);
    if (!key) return refuse(0x6a82);
    return this.#ok(command, bigIntToBytes(key.n));
  }

  #selectFile(command: CommandApdu): Uint8Array {
    if (command.p1 !== 0 || command.p2 !== 0) return refuse(0x6a86);
    const data = this.#data(command, 2);
    const id = data[0]! << 8 | data[1]!;
    const file = this.#files.get(id);
    if (!file) return refuse(0x6a82);
    this.#currentFile = id;
    return this.#ok(
      command,
      Uint8Array.of(data[0]!, data[1]!, file.data.length >> 8, file.data.length & 0xff),
    );
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
    const offset = command.p1 << 8 | command.p2;
    const n = command.le === undefined || command.le === 65536
      ? file.data.length - offset
      : command.le;
    if (offset + n > file.data.length || n < 0) return refuse(0x6b00);
    return this.#ok(command, file.data.slice(offset, offset + n));
  }

  #updateBinary(command: CommandApdu): Uint8Array {
    const [, file] = this.#current();
    if (!this.#allowed(file.update)) return refuse(0x6982);
    const offset = command.p1 << 8 | command.p2;
    const data = this.#data(command);
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
    const data = this.#data(command, 14);
    const id = data[1]! << 8 | data[2]!;
    const size = data[3]! << 8 | data[4]!;
    if (this.#files.has(id)) return refuse(0x6a89);
    if (this.#used() + size > this.#storage) return refuse(0x6381);
    this.#files.set(id, { data: new Uint8Array(size), read: data[8]!, update: data[12]! });
    return this.#ok(command);
  }

  #deleteFile(command: CommandApdu): Uint8Array {
    this.#requirePin();
    const data = this.#data(command, 2);
    const id = data[0]! << 8 | data[1]!;
    const secret = this.#secrets.get(id);
    if (secret) {
      // Session secrets are key files of class 62xx, so DELETE EF frees one slot (the only
      // way short of ERASE TLS KEYS, which frees them all).
      secret.bytes.fill(0);
      this.#secrets.delete(id);
      return this.#ok(command);
    }
    const file = this.#files.get(id);
    if (!file) return refuse(0x6a82);
    if (!this.#allowed(file.update)) return refuse(0x6982);
    file.data.fill(0);
    this.#files.delete(id);
    this.#rsaKeys.delete(id);
    if (this.#currentFile === id) this.#currentFile = undefined;
    return this.#ok(command);
  }

  #readKeyAttributes(command: CommandApdu): Uint8Array {
    this.#requirePin();
    const secret = this.#secret(command.p1 << 8 | command.p2, [
      "premaster",
      "master",
      "mac",
      "aes",
    ]);
    const out = new Uint8Array(35);
    const { type, attributes } = {
      premaster: {
        type: KeyType.premaster,
        attributes: KeyAttribute.generateMasterSecret | KeyAttribute.wrap,
      },
      master: {
        type: KeyType.masterSecret,
        attributes: KeyAttribute.generateSessionKeys | KeyAttribute.generateMac,
      },
      mac: { type: KeyType.aes, attributes: KeyAttribute.generateMac },
      aes: { type: KeyType.aes, attributes: KeyAttribute.encrypt | KeyAttribute.decrypt },
    }[secret.kind];
    out[28] = type;
    out[29] = secret.bytes.length;
    out[30] = attributes & 0xff;
    out[31] = attributes >> 8;
    if (secret.kind === "aes") {
      out.set(
        ecb(secret.bytes, { disablePadding: true }).encrypt(new Uint8Array(16)).subarray(0, 3),
        32,
      );
    }
    return this.#ok(command, out);
  }

  #loadUntrusted(command: CommandApdu): Uint8Array {
    const data = this.#data(command);
    if (command.p1 === 0) {
      if (data.length < 7) return refuse(0x6700);
      const exponentLength = data[0]!;
      const modulusLength = data[1]! << 8 | data[2]!;
      if (exponentLength < 1 || exponentLength > 3 || data.length !== 6 + modulusLength) {
        return refuse(0x6a80);
      }
      const exponent = bytesToBigInt(data.subarray(3, 3 + exponentLength));
      const modulus = bytesToBigInt(data.subarray(6));
      // rsaesPkcs1v15Encrypt refuses any other key; refusing it here keeps the chip's 6A80.
      if (modulus < 1n << 511n || exponent < 3n || exponent % 2n === 0n) return refuse(0x6a80);
      this.#untrusted = { kind: "rsa", key: { modulus, exponent } };
      return this.#ok(command);
    }
    if (command.p1 === 1) {
      const sizes: Record<number, number> = { 0x17: 64, 0x18: 96, 0x19: 132 };
      const size = sizes[data[0] ?? 0];
      if (size === undefined || data.length !== 1 + size) return refuse(0x6a80);
      this.#untrusted = { kind: "ec", curve: data[0]!, point: data.slice(1) };
      return this.#ok(command);
    }
    return refuse(0x6a86);
  }
}
