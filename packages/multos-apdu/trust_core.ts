/**
 * A typed client for the MULTOS Trust Core applet: one method per command, with data longer
 * than the chip's buffer split the way each command allows.
 *
 * @module
 */

import { concatBytes } from "./_bytes.ts";
import { ApduError } from "./apdu_error.ts";
import { ApduChannel, type ApduTransmitter, type ChannelStats } from "./channel.ts";
import type { ApduForm, CommandApdu } from "./command.ts";
import { StatusWord, triesLeft } from "./status_word.ts";
import {
  AccessCondition,
  KeyType,
  MAX_COMMAND_DATA,
  PinReference,
  PsoOperation,
  type SeTemplate,
  TRUST_CORE_AID,
  TrustCoreCurve,
  type TrustCoreCurveName,
  TrustCoreIns as Ins,
} from "./trust_core_constants.ts";

/** Timeouts per kind of command, in milliseconds (the vendor's values are the defaults). */
export interface TrustCoreTimeouts {
  /** Plain commands. @default {1000} */
  command?: number;
  /** Encrypt, decrypt, sign, MAC, key block. @default {5000} */
  crypto?: number;
  /** RSA key generation. @default {30000} */
  keyGeneration?: number;
}

/** Options for {@linkcode TrustCore}. */
export interface TrustCoreOptions {
  /** APDU encoding; the chip's serial and I2C links use `multos`. @default {"multos"} */
  form?: ApduForm;
  /**
   * Most data bytes in one command. The chip's 3000-byte buffer holds the whole APDU, so
   * 2992 is the most a case 4 command can carry.
   * @default {2992}
   */
  maxDataLength?: number;
  /**
   * How a MAC over more than `maxDataLength` bytes is sent. Unconfirmed by the vendor sources,
   * whose record helper never MACs more than one buffer: `chain` sends an ISO command chain
   * (CLA 0x90 on all parts but the last), which this package's emulator accepts; `reject`
   * throws instead.
   * @default {"chain"}
   */
  largeMac?: "chain" | "reject";
  /**
   * Whether one MANAGE SECURITY ENVIRONMENT may carry several control reference tags. ISO
   * 7816-4 allows it and it saves APDUs; the vendor host stack always sends one tag per
   * command, so whether the applet accepts more is unconfirmed. `false` sends one tag each.
   * @default {true}
   */
  combineMseTags?: boolean;
  /**
   * Whether the loaded untrusted public key stays in the chip through ERASE TLS KEYS, so that
   * loading the same key again (the next handshake with the same server) is skipped. The
   * vendor sources leave it open: their host code loads the server key before every
   * premaster. The emulator keeps it until a reset. `false` forgets it on ERASE TLS KEYS, so
   * the next handshake loads it again.
   * @default {true}
   */
  untrustedKeySurvivesErase?: boolean;
  /** Per-command timeouts handed to the transport. */
  timeouts?: TrustCoreTimeouts;
}

/** What MANAGE SECURITY ENVIRONMENT SET puts into a template. */
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

/** What GENERATE KEY (master secret) is bound to. */
export type MasterSecretInput =
  | { readonly clientRandom: Uint8Array; readonly serverRandom: Uint8Array }
  | { readonly sessionHash: Uint8Array };

/** The master secret's handle and the protocol version the chip read from the premaster. */
export interface MasterSecretResult {
  /** Handle (key file) of the master secret. */
  handle: number;
  /** Version major and minor from the premaster's first two bytes. */
  version: readonly [number, number];
}

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

/** Access conditions for CREATE EF, as `AccessCondition` bits. */
export interface FileAccess {
  /** Who may read. @default {AccessCondition.always} */
  read?: number;
  /** Who may update. @default {AccessCondition.user} */
  update?: number;
}

const PIN_LENGTH = 12;
const READ_BLOCK = 240;
const UPDATE_BLOCK = 255;
const RANDOM_MAX = 248;
const AES_BLOCK = 16;

const split = (data: Uint8Array, size: number): Uint8Array[] => {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) parts.push(data.subarray(at, at + size));
  return parts.length ? parts : [data];
};

const u16 = (n: number): number[] => [n >> 8 & 0xff, n & 0xff];
const readU16 = (b: Uint8Array, at: number): number => b[at]! << 8 | b[at + 1]!;

/**
 * The Trust Core applet, one method per command.
 *
 * Methods resolve with the command's result and reject with {@linkcode ApduError} when the
 * chip answers anything but `9000` (a wrong PIN gives `63Cx`, a missing PIN `6982`). The
 * client remembers what MANAGE SECURITY ENVIRONMENT last set in each template and skips
 * commands that would set the same values again, which halves the APDUs per record, and
 * which untrusted key it loaded, so a handshake with the same server does not load it again.
 * Both assume this client is the chip's only one.
 *
 * @example Against the in-process emulator
 * ```ts
 * import { TrustCore, TrustCoreEmulator } from "@anchortls/multos-apdu";
 * const chip = new TrustCoreEmulator({ pin: "1234" });
 * const tc = new TrustCore({ transmit: (apdu) => Promise.resolve(chip.handle(apdu)) });
 * await tc.select();
 * await tc.verifyPin("1234");
 * (await tc.getRandom(32)).length; // 32
 * ```
 */
export class TrustCore {
  readonly #channel: ApduChannel;
  readonly #maxData: number;
  readonly #largeMac: "chain" | "reject";
  readonly #combineMse: boolean;
  readonly #keepUntrustedOnErase: boolean;
  readonly #timeouts: Required<TrustCoreTimeouts>;
  #se = new Map<number, Map<number, string>>();
  /** The LOAD UNTRUSTED KEY command (P1 and data, hex) the chip last accepted. */
  #untrustedKey: string | undefined;

  /**
   * Creates a client over a transport that carries single APDUs.
   *
   * @param transport E.g. `CommandModeTransport` from `@anchortls/transport-serial`, or an
   *   in-process emulator.
   * @param options Encoding, buffer size and timeouts.
   */
  constructor(transport: ApduTransmitter, options: TrustCoreOptions = {}) {
    this.#channel = new ApduChannel(transport, { form: options.form ?? "multos" });
    this.#maxData = options.maxDataLength ?? MAX_COMMAND_DATA;
    if (!Number.isInteger(this.#maxData) || this.#maxData < 64) {
      throw new RangeError(`maxDataLength ${this.#maxData} is below 64`);
    }
    this.#largeMac = options.largeMac ?? "chain";
    this.#combineMse = options.combineMseTags ?? true;
    this.#keepUntrustedOnErase = options.untrustedKeySurvivesErase ?? true;
    this.#timeouts = {
      command: options.timeouts?.command ?? 1000,
      crypto: options.timeouts?.crypto ?? 5000,
      keyGeneration: options.timeouts?.keyGeneration ?? 30000,
    };
  }

  /** APDUs and bytes sent and received so far. */
  get stats(): ChannelStats {
    return this.#channel.stats;
  }

  /** Most data bytes per command. */
  get maxDataLength(): number {
    return this.#maxData;
  }

  async #run(
    name: string,
    command: CommandApdu,
    timeout: keyof TrustCoreTimeouts = "command",
    chunkSize?: number,
  ): Promise<Uint8Array> {
    return await this.#channel.transmitOk(command, {
      name,
      timeoutMs: this.#timeouts[timeout],
      ...(chunkSize === undefined ? {} : { chunkSize }),
    });
  }

  #cmd(ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): CommandApdu {
    const command: {
      cla: number;
      ins: number;
      p1: number;
      p2: number;
      data?: Uint8Array;
      le?: number;
    } = {
      cla: 0x80,
      ins,
      p1,
      p2,
    };
    if (data !== undefined && data.length > 0) command.data = data;
    if (le !== undefined) command.le = le;
    return command;
  }

  #checkData(name: string, data: Uint8Array): void {
    if (data.length > this.#maxData) {
      throw new ApduError(undefined, name, {
        detail: `${data.length} data bytes exceed the chip buffer (${this.#maxData})`,
      });
    }
  }

  /**
   * Selects the Trust Core applet and forgets any cached security environment and untrusted
   * key.
   *
   * @returns When the applet is selected.
   */
  async select(): Promise<void> {
    this.#se.clear();
    this.#untrustedKey = undefined;
    await this.#run("SELECT", {
      cla: 0x00,
      ins: Ins.select,
      p1: 0x04,
      p2: 0x0c,
      data: TRUST_CORE_AID,
    });
  }

  /**
   * Verifies a PIN (12 bytes on the chip, padded with FF).
   *
   * @param pin The PIN, as text (UTF-8) or bytes, at most 12 bytes.
   * @param reference Which PIN.
   * @returns When the PIN is accepted.
   * @throws {ApduError} `63Cx` wrong PIN with x tries left, `6983` blocked.
   */
  async verifyPin(
    pin: string | Uint8Array,
    reference: PinReference = PinReference.user,
  ): Promise<void> {
    const bytes = typeof pin === "string" ? new TextEncoder().encode(pin) : pin;
    if (bytes.length === 0 || bytes.length > PIN_LENGTH) {
      throw new ApduError(undefined, "VERIFY PIN", { detail: `PIN must be 1 to 12 bytes` });
    }
    const padded = new Uint8Array(PIN_LENGTH).fill(0xff);
    padded.set(bytes);
    try {
      await this.#run("VERIFY PIN", this.#cmd(Ins.verify, 0, reference, padded));
    } finally {
      padded.fill(0);
    }
  }

  /**
   * Asks how many tries a PIN has left, without trying it.
   *
   * @param reference Which PIN.
   * @returns The counter from `63Cx`; 0 means blocked.
   * @throws {ApduError} When the chip answers anything but `63Cx`.
   */
  async pinTriesLeft(reference: PinReference = PinReference.user): Promise<number> {
    const response = await this.#channel.transmit(this.#cmd(Ins.verify, 0, reference), {
      name: "VERIFY PIN (tries left)",
      timeoutMs: this.#timeouts.command,
    });
    const tries = triesLeft(response.sw);
    if (tries === undefined) {
      if (response.sw === StatusWord.authenticationBlocked) return 0;
      throw new ApduError(response.sw, "VERIFY PIN (tries left)");
    }
    return tries;
  }

  /**
   * MANAGE SECURITY ENVIRONMENT SET: puts an algorithm, key and TLS parameters into a
   * template. Values the template already holds (as far as this client set them) are not
   * sent again.
   *
   * @param template Which template.
   * @param environment What to set.
   * @returns When the chip accepted every tag.
   */
  async setSecurityEnvironment(
    template: SeTemplate,
    environment: SecurityEnvironment,
  ): Promise<void> {
    const cached = this.#se.get(template) ?? new Map<number, string>();
    const tags: [number, Uint8Array][] = [];
    if (environment.algorithm !== undefined) {
      tags.push([0x80, Uint8Array.of(environment.algorithm)]);
    }
    if (environment.keyFile !== undefined) {
      tags.push([0x81, Uint8Array.from(u16(environment.keyFile))]);
    }
    if (environment.cipherSuite !== undefined) {
      tags.push([0x85, Uint8Array.from(u16(environment.cipherSuite))]);
    }
    if (environment.keyLengths !== undefined) {
      const { key, mac, iv } = environment.keyLengths;
      tags.push([0x86, Uint8Array.of(key, mac, iv)]);
    }
    const fresh = tags.filter(([tag, value]) => cached.get(tag) !== value.toHex());
    if (fresh.length === 0) return;
    const groups = this.#combineMse ? [fresh] : fresh.map((t) => [t]);
    for (const group of groups) {
      const data = concatBytes(
        group.map(([tag, value]) => Uint8Array.of(tag, value.length, ...value)),
      );
      try {
        await this.#run("MSE SET", this.#cmd(Ins.manageSecurityEnvironment, 0x41, template, data));
      } catch (e) {
        this.#se.delete(template);
        throw e;
      }
      for (const [tag, value] of group) cached.set(tag, value.toHex());
      this.#se.set(template, cached);
    }
  }

  /**
   * MANAGE SECURITY ENVIRONMENT RESTORE: returns to a stored environment.
   *
   * @param environment Security environment number.
   * @returns When restored.
   */
  async restoreSecurityEnvironment(environment: number): Promise<void> {
    this.#se.clear();
    await this.#run("MSE RESTORE", this.#cmd(Ins.manageSecurityEnvironment, 0xf3, environment));
  }

  /**
   * Generates a premaster secret inside the chip: version ‖ 46 random bytes.
   *
   * @param major Version major byte. @default {3}
   * @param minor Version minor byte. @default {3}
   * @returns The premaster's handle.
   */
  async generatePremaster(major = 3, minor = 3): Promise<number> {
    const out = await this.#run(
      "GENERATE PREMASTER",
      this.#cmd(Ins.generateKey, KeyType.premaster, 0, Uint8Array.of(major, minor), 65536),
    );
    return this.#handle("GENERATE PREMASTER", out, 2, 0);
  }

  /**
   * Derives the master secret inside the chip, standard (randoms) or extended (session hash).
   *
   * @param premaster The premaster's handle.
   * @param input Client and server randoms, or the session hash for EMS (RFC 7627).
   * @returns The master secret's handle and the version in the premaster.
   */
  async generateMasterSecret(
    premaster: number,
    input: MasterSecretInput,
  ): Promise<MasterSecretResult> {
    const extended = "sessionHash" in input;
    const seed = extended
      ? input.sessionHash
      : concatBytes([input.clientRandom, input.serverRandom]);
    if (!extended && (input.clientRandom.length !== 32 || input.serverRandom.length !== 32)) {
      throw new ApduError(undefined, "GENERATE MASTER SECRET", {
        detail: "randoms must be 32 bytes",
      });
    }
    const data = concatBytes([Uint8Array.from(u16(premaster)), seed]);
    const out = await this.#run(
      "GENERATE MASTER SECRET",
      this.#cmd(Ins.generateKey, KeyType.masterSecret, extended ? 1 : 0, data, 65536),
    );
    return {
      handle: this.#handle("GENERATE MASTER SECRET", out, 4, 2),
      version: [out[0]!, out[1]!],
    };
  }

  /**
   * Expands the master secret (set in the TLS template as key file) into the key block; the
   * keys stay in the chip as handles.
   *
   * @param serverRandom ServerHello.random.
   * @param clientRandom ClientHello.random.
   * @returns Four key handles and the two IVs.
   */
  async generateKeyBlock(
    serverRandom: Uint8Array,
    clientRandom: Uint8Array,
  ): Promise<KeyBlockHandles> {
    const out = await this.#run(
      "GENERATE KEY BLOCK",
      this.#cmd(
        Ins.generateKey,
        KeyType.keyBlock,
        0,
        concatBytes([serverRandom, clientRandom]),
        65536,
      ),
      "crypto",
    );
    if (out.length !== 40) {
      throw new ApduError(StatusWord.ok, "GENERATE KEY BLOCK", {
        detail: `${out.length} bytes, expected 40`,
      });
    }
    return {
      clientMac: readU16(out, 0),
      serverMac: readU16(out, 2),
      clientWrite: readU16(out, 4),
      serverWrite: readU16(out, 6),
      clientIv: out.slice(8, 24),
      serverIv: out.slice(24, 40),
    };
  }

  /**
   * Generates an RSA key pair in a private key file.
   *
   * @param keyFile E.g. `0x6100`.
   * @param bits 512, 768, 1024 or 2048.
   * @returns When generated.
   */
  async generateRsaKey(keyFile: number, bits: 512 | 768 | 1024 | 2048): Promise<void> {
    const size = { 512: 0x40, 768: 0x60, 1024: 0x80, 2048: 0x00 }[bits];
    await this.#run(
      "GENERATE RSA KEY",
      this.#cmd(Ins.generateKey, KeyType.rsa, 0, Uint8Array.of(...u16(keyFile), size), 65536),
      "keyGeneration",
    );
  }

  /**
   * Generates an EC key pair in a private key file.
   *
   * @param keyFile E.g. `0x6300`.
   * @param curve The named curve.
   * @param ecdhOnly Restrict the key to ECDH (P2 1). @default {false}
   * @returns The public key as the chip returns it.
   */
  async generateEcKey(
    keyFile: number,
    curve: TrustCoreCurveName,
    ecdhOnly = false,
  ): Promise<Uint8Array> {
    return await this.#run(
      "GENERATE EC KEY",
      this.#cmd(
        Ins.generateKey,
        KeyType.ec,
        ecdhOnly ? 1 : 0,
        Uint8Array.of(...u16(keyFile), TrustCoreCurve[curve]),
        65536,
      ),
      "keyGeneration",
    );
  }

  /**
   * Loads a server's RSA public key as the untrusted key for wrap and verify. The exponent
   * goes in a 3-byte field, left-aligned, as the vendor host stack sends it. Nothing is sent
   * when this client last loaded the same key and nothing has removed it since (SELECT, a
   * failed load, ERASE TLS KEYS with `untrustedKeySurvivesErase: false`,
   * {@linkcode TrustCore.forgetUntrustedKey}).
   *
   * @param modulus Big-endian modulus.
   * @param exponent Big-endian exponent, at most 3 bytes (e.g. `01 00 01`).
   * @returns Whether a command was sent (`false`: the key was in place already).
   */
  async loadUntrustedRsaKey(modulus: Uint8Array, exponent: Uint8Array): Promise<boolean> {
    if (exponent.length === 0 || exponent.length > 3) {
      throw new ApduError(undefined, "LOAD UNTRUSTED KEY", {
        detail: "exponent must be 1 to 3 bytes",
      });
    }
    const data = new Uint8Array(6 + modulus.length);
    data[0] = exponent.length;
    data.set(u16(modulus.length), 1);
    data.set(exponent, 3);
    data.set(modulus, 6);
    this.#checkData("LOAD UNTRUSTED KEY", data);
    return await this.#loadUntrusted(0, data);
  }

  async #loadUntrusted(p1: number, data: Uint8Array): Promise<boolean> {
    const key = `${p1}:${data.toHex()}`;
    if (this.#untrustedKey === key) return false;
    // Whatever a refused load leaves in the chip, it is not known to be this key.
    this.#untrustedKey = undefined;
    await this.#run("LOAD UNTRUSTED KEY", this.#cmd(Ins.loadUntrustedKey, p1, 0, data));
    this.#untrustedKey = key;
    return true;
  }

  /**
   * Forgets which untrusted key the chip holds, so the next load is sent even for the same
   * key. For when the chip may have lost it, e.g. a wrap refused after a skipped load.
   *
   * @returns Nothing.
   */
  forgetUntrustedKey(): void {
    this.#untrustedKey = undefined;
  }

  /**
   * Loads a server's EC public key as the untrusted key.
   *
   * @param curve The named curve.
   * @param x Affine X, big-endian, field length.
   * @param y Affine Y, big-endian, field length.
   * @returns Whether a command was sent (`false`: the key was in place already, as for
   *   {@linkcode TrustCore.loadUntrustedRsaKey}).
   */
  async loadUntrustedEcKey(
    curve: TrustCoreCurveName,
    x: Uint8Array,
    y: Uint8Array,
  ): Promise<boolean> {
    return await this.#loadUntrusted(1, concatBytes([Uint8Array.of(TrustCoreCurve[curve]), x, y]));
  }

  /**
   * Erases every TLS key the chip holds (premaster, master secret, key block) and forgets the
   * cached security environment (and the untrusted key with `untrustedKeySurvivesErase:
   * false`).
   *
   * @returns When erased.
   */
  async eraseTlsKeys(): Promise<void> {
    this.#se.clear();
    if (!this.#keepUntrustedOnErase) this.#untrustedKey = undefined;
    await this.#run("ERASE TLS KEYS", this.#cmd(Ins.eraseTlsKeys, 0, 0));
  }

  #pso(name: string, operation: number, data: Uint8Array, chunkSize?: number): Promise<Uint8Array> {
    return this.#run(
      name,
      this.#cmd(Ins.performSecurityOperation, operation >> 8, operation & 0xff, data, 65536),
      "crypto",
      chunkSize,
    );
  }

  /**
   * Wraps (encrypts) a key held in the chip under the confidentiality template's key, e.g. the
   * premaster under the loaded server key with algorithm RSA PKCS#1.
   *
   * @param keyHandle Handle of the key to wrap.
   * @returns The wrapped key.
   */
  wrap(keyHandle: number): Promise<Uint8Array> {
    return this.#pso("PSO WRAP", PsoOperation.wrap, Uint8Array.from(u16(keyHandle)));
  }

  /**
   * Unwraps a key into the chip.
   *
   * @param wrapped The wrapped key with its attributes, as the applet expects.
   * @returns The new key's handle.
   */
  async unwrap(wrapped: Uint8Array): Promise<number> {
    this.#checkData("PSO UNWRAP", wrapped);
    const out = await this.#pso("PSO UNWRAP", PsoOperation.unwrap, wrapped);
    return this.#handle("PSO UNWRAP", out, 2, 0);
  }

  async #cbc(
    name: string,
    operation: number,
    iv: Uint8Array,
    data: Uint8Array,
  ): Promise<Uint8Array> {
    if (iv.length !== AES_BLOCK || data.length === 0 || data.length % AES_BLOCK !== 0) {
      throw new ApduError(undefined, name, { detail: "IV must be 16 bytes and data whole blocks" });
    }
    // CBC chains through the last ciphertext block, so long data runs as several commands,
    // each with the previous command's last ciphertext block as its IV.
    const perCommand = Math.floor((this.#maxData - AES_BLOCK) / AES_BLOCK) * AES_BLOCK;
    const out: Uint8Array[] = [];
    let chainIv = iv;
    for (const part of split(data, perCommand)) {
      const result = await this.#pso(name, operation, concatBytes([chainIv, part]));
      if (result.length !== part.length) {
        throw new ApduError(StatusWord.ok, name, {
          detail: `${result.length} bytes for ${part.length}`,
        });
      }
      out.push(result);
      const cipherPart = operation === PsoOperation.encrypt ? result : part;
      chainIv = cipherPart.slice(cipherPart.length - AES_BLOCK);
    }
    return concatBytes(out);
  }

  /**
   * AES-CBC encrypts whole blocks with the confidentiality template's key.
   *
   * @param iv The 16-byte IV.
   * @param plaintext Whole 16-byte blocks (padding is the caller's).
   * @returns The ciphertext, as long as the plaintext.
   */
  encrypt(iv: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#cbc("PSO ENCRYPT", PsoOperation.encrypt, iv, plaintext);
  }

  /**
   * AES-CBC decrypts whole blocks with the confidentiality template's key.
   *
   * @param iv The 16-byte IV.
   * @param ciphertext Whole 16-byte blocks.
   * @returns The plaintext, padding still on.
   */
  decrypt(iv: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    return this.#cbc("PSO DECRYPT", PsoOperation.decrypt, iv, ciphertext);
  }

  /**
   * Signs or MACs with the signature template's algorithm and key: HMAC over the data,
   * Finished over a handshake hash, RSA over a DigestInfo.
   *
   * @param data The input.
   * @returns The MAC, verify_data or signature.
   */
  async signOrMac(data: Uint8Array): Promise<Uint8Array> {
    if (data.length > this.#maxData && this.#largeMac === "reject") {
      this.#checkData("PSO SIGN/MAC", data);
    }
    return await this.#pso("PSO SIGN/MAC", PsoOperation.signOrMac, data, this.#maxData);
  }

  /**
   * Verifies a signature with the untrusted key and the signature template's algorithm.
   *
   * @param input The signature (RSA), or signature ‖ hash (ECDSA), as the applet expects.
   * @returns What the chip recovered (the DigestInfo for RSA PKCS#1, empty for ECDSA) on
   *   `9000`, or `undefined` when the chip answers `6A80` (bad signature).
   */
  async verify(input: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkData("PSO VERIFY", input);
    const response = await this.#channel.transmit(
      this.#cmd(Ins.performSecurityOperation, 0x9f, 0x9a, input, 65536),
      { name: "PSO VERIFY", timeoutMs: this.#timeouts.crypto },
    );
    if (response.sw === StatusWord.ok) return response.data;
    if (response.sw === StatusWord.wrongData) return undefined;
    throw new ApduError(response.sw, "PSO VERIFY");
  }

  async #hash(
    ins: number,
    name: string,
    p1: number,
    p2: number,
    data?: Uint8Array,
  ): Promise<Uint8Array> {
    return await this.#run(
      name,
      this.#cmd(ins, p1, p2, data, p2 === 2 ? 64 : p2 === 3 ? 65536 : undefined),
    );
  }

  /**
   * SHA-256 in one command, or in init/update/final commands when the data exceeds the buffer.
   *
   * @param data The message.
   * @param hashLength Digest length (P1). @default {32}
   * @returns The digest.
   */
  async sha(data: Uint8Array, hashLength = 32): Promise<Uint8Array> {
    if (data.length > 0 && data.length <= this.#maxData) {
      return await this.#hash(Ins.sha, "SHA", hashLength, 3, data);
    }
    await this.shaInit(hashLength);
    await this.shaUpdate(data);
    return await this.shaFinal();
  }

  /**
   * Starts a SHA computation.
   *
   * @param hashLength Digest length. @default {32}
   * @returns When started.
   */
  async shaInit(hashLength = 32): Promise<void> {
    await this.#hash(Ins.sha, "SHA INIT", hashLength, 0);
  }

  /**
   * Adds data to the SHA computation, in buffer-sized commands.
   *
   * @param data More message.
   * @returns When added.
   */
  async shaUpdate(data: Uint8Array): Promise<void> {
    for (const part of split(data, this.#maxData)) {
      if (part.length) await this.#hash(Ins.sha, "SHA UPDATE", 0, 1, part);
    }
  }

  /**
   * Finishes the SHA computation.
   *
   * @returns The digest.
   */
  shaFinal(): Promise<Uint8Array> {
    return this.#hash(Ins.sha, "SHA FINAL", 0, 2);
  }

  /**
   * Starts the handshake hash the chip keeps for Finished and EMS.
   *
   * @param hashLength Digest length. @default {32}
   * @returns When started.
   */
  async handshakeShaInit(hashLength = 32): Promise<void> {
    await this.#hash(Ins.handshakeSha, "HANDSHAKE SHA INIT", hashLength, 0);
  }

  /**
   * Adds handshake messages to the chip's handshake hash, in buffer-sized commands.
   *
   * @param data Handshake message bytes.
   * @returns When added.
   */
  async handshakeShaUpdate(data: Uint8Array): Promise<void> {
    for (const part of split(data, this.#maxData)) {
      if (part.length) await this.#hash(Ins.handshakeSha, "HANDSHAKE SHA UPDATE", 0, 1, part);
    }
  }

  /**
   * Reads the current handshake hash; the hash keeps running, so it can be read again later.
   *
   * @returns The digest so far.
   */
  handshakeShaFinal(): Promise<Uint8Array> {
    return this.#hash(Ins.handshakeSha, "HANDSHAKE SHA FINAL", 0, 2);
  }

  /**
   * Hashes data in one handshake-SHA command (P2 3).
   *
   * @param data At most one buffer of data.
   * @param hashLength Digest length. @default {32}
   * @returns The digest.
   */
  async handshakeSha(data: Uint8Array, hashLength = 32): Promise<Uint8Array> {
    this.#checkData("HANDSHAKE SHA", data);
    return await this.#hash(Ins.handshakeSha, "HANDSHAKE SHA", hashLength, 3, data);
  }

  /**
   * Gets random bytes from the chip's generator, 248 per command.
   *
   * @param length How many bytes.
   * @returns The bytes.
   */
  async getRandom(length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1) {
      throw new ApduError(undefined, "GET RANDOM", { detail: `length ${length} is not positive` });
    }
    const parts: Uint8Array[] = [];
    for (let left = length; left > 0; left -= RANDOM_MAX) {
      const n = Math.min(left, RANDOM_MAX);
      const out = await this.#run("GET RANDOM", this.#cmd(Ins.getRandom, 0, 0, undefined, n));
      if (out.length !== n) {
        throw new ApduError(StatusWord.ok, "GET RANDOM", {
          detail: `${out.length} bytes for ${n}`,
        });
      }
      parts.push(out);
    }
    return concatBytes(parts);
  }

  /**
   * Reads the applet version.
   *
   * @returns Major and minor.
   */
  async version(): Promise<{ major: number; minor: number }> {
    const out = await this.#run("VERSION", this.#cmd(Ins.version, 0, 0, undefined, 2));
    if (out.length !== 2) {
      throw new ApduError(StatusWord.ok, "VERSION", { detail: "expected 2 bytes" });
    }
    return { major: out[0]!, minor: out[1]! };
  }

  /**
   * Reads the modulus of an RSA key pair.
   *
   * @param keyFile E.g. `0x6100`.
   * @returns The big-endian modulus.
   */
  readModulus(keyFile: number): Promise<Uint8Array> {
    return this.#run(
      "READ MODULUS",
      this.#cmd(Ins.readModulus, keyFile >> 8, keyFile & 0xff, undefined, 512),
    );
  }

  /**
   * Selects an elementary file.
   *
   * @param fileId E.g. `0x5300`.
   * @returns The file's size in bytes.
   */
  async selectFile(fileId: number): Promise<number> {
    const out = await this.#run(
      "SELECT EF",
      this.#cmd(Ins.select, 0, 0, Uint8Array.from(u16(fileId)), 4),
    );
    if (out.length !== 4) {
      throw new ApduError(StatusWord.ok, "SELECT EF", { detail: "expected 4 bytes" });
    }
    return readU16(out, 2);
  }

  /**
   * Reads from the selected file in 240-byte blocks.
   *
   * @param offset Where to start.
   * @param length How many bytes.
   * @returns The bytes.
   */
  async readBinary(offset: number, length: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (let at = offset; at < offset + length; at += READ_BLOCK) {
      const n = Math.min(READ_BLOCK, offset + length - at);
      const out = await this.#run(
        "READ BINARY",
        this.#cmd(Ins.readBinary, at >> 8, at & 0xff, undefined, n),
      );
      if (out.length !== n) {
        throw new ApduError(StatusWord.ok, "READ BINARY", { detail: "short read" });
      }
      parts.push(out);
    }
    return concatBytes(parts);
  }

  /**
   * Writes to the selected file in 255-byte blocks.
   *
   * @param offset Where to start.
   * @param data The bytes.
   * @returns When written.
   */
  async updateBinary(offset: number, data: Uint8Array): Promise<void> {
    if (offset + data.length > 0xffff) {
      throw new ApduError(undefined, "UPDATE BINARY", { detail: "offset beyond 65535" });
    }
    for (let at = 0; at < data.length; at += UPDATE_BLOCK) {
      const o = offset + at;
      await this.#run(
        "UPDATE BINARY",
        this.#cmd(Ins.updateBinary, o >> 8, o & 0xff, data.subarray(at, at + UPDATE_BLOCK)),
      );
    }
  }

  /**
   * Selects a file and reads all of it.
   *
   * @param fileId The file.
   * @returns Its content.
   */
  async readFile(fileId: number): Promise<Uint8Array> {
    const size = await this.selectFile(fileId);
    return await this.readBinary(0, size);
  }

  /**
   * Selects a file and writes data from its start.
   *
   * @param fileId The file.
   * @param data The content; must fit the file.
   * @returns When written.
   */
  async writeFile(fileId: number, data: Uint8Array): Promise<void> {
    const size = await this.selectFile(fileId);
    if (data.length > size) {
      throw new ApduError(undefined, "UPDATE BINARY", {
        detail: `${data.length} bytes exceed file size ${size}`,
      });
    }
    await this.updateBinary(0, data);
  }

  /**
   * Creates an elementary file.
   *
   * @param fileId The new file's ID; its class is the high byte.
   * @param size Its size in bytes.
   * @param access Read and update conditions.
   * @returns When created.
   * @throws {ApduError} `6381` no space, `6982` not allowed.
   */
  async createFile(fileId: number, size: number, access: FileAccess = {}): Promise<void> {
    const data = new Uint8Array(14);
    data.set(u16(fileId), 1);
    data.set(u16(size), 3);
    data[8] = access.read ?? AccessCondition.always;
    data[12] = access.update ?? AccessCondition.user;
    await this.#run("CREATE EF", this.#cmd(Ins.createFile, 0, 0, data));
  }

  /**
   * Deletes an elementary file, or frees the slot of a session secret (its handle is its file
   * ID).
   *
   * @param fileId The file.
   * @returns When deleted.
   */
  async deleteFile(fileId: number): Promise<void> {
    // A template naming the deleted file must be set again, even if a new key gets its ID.
    const named = Uint8Array.from(u16(fileId)).toHex();
    for (const cached of this.#se.values()) {
      if (cached.get(0x81) === named) cached.delete(0x81);
    }
    await this.#run("DELETE EF", this.#cmd(Ins.deleteFile, 0, 0, Uint8Array.from(u16(fileId))));
  }

  /**
   * Reads a secret key's attributes (never its value).
   *
   * @param handle The key's handle.
   * @returns Label, type, length, attribute bits and check value.
   */
  async readKeyAttributes(handle: number): Promise<KeyAttributes> {
    const out = await this.#run(
      "READ KEY ATTRIBUTES",
      this.#cmd(Ins.readKeyAttributes, handle >> 8, handle & 0xff, undefined, 35),
    );
    if (out.length !== 35) {
      throw new ApduError(StatusWord.ok, "READ KEY ATTRIBUTES", { detail: "expected 35 bytes" });
    }
    const labelEnd = out.subarray(0, 28).indexOf(0);
    return {
      label: new TextDecoder().decode(out.subarray(0, labelEnd < 0 ? 27 : labelEnd)),
      keyType: out[28]!,
      keyLength: out[29]!,
      // Little-endian, as the vendor host stack writes key flags.
      attributes: out[30]! | out[31]! << 8,
      checkValue: out.slice(32, 35),
    };
  }

  #handle(name: string, out: Uint8Array, length: number, at: number): number {
    if (out.length !== length) {
      throw new ApduError(StatusWord.ok, name, {
        detail: `${out.length} bytes, expected ${length}`,
      });
    }
    return readU16(out, at);
  }
}
