/**
 * A typed client for the MULTOS Trust Core applet: one method per command, with data longer
 * than the chip's buffer split the way each command allows.
 *
 * @module
 */

import { concatBytes } from "@anchortls/record";
import {
  AES_BLOCK,
  CbcInput,
  CreateFile,
  type Crt,
  crtsOf,
  CrtTag,
  DeleteFile,
  Deselect,
  EraseTlsKeys,
  GCM_TAG,
  GcmDecryptInput,
  GcmEncryptInput,
  GenerateEcdhPremaster,
  GenerateEcKey,
  GenerateKeyBlock,
  GenerateMasterSecret,
  GeneratePremaster,
  GenerateRsaKey,
  GetRandom,
  HandleResponse,
  Hash,
  type HashKind,
  type KeyAttributes,
  KeyAttributesResponse,
  type KeyBlockHandles,
  KeyBlockResponse,
  LoadUntrustedEcKey,
  LoadUntrustedRsaKey,
  MasterSecretResponse,
  MseRestore,
  MseSet,
  PIN_LENGTH,
  PinStatus,
  Pso,
  type PsoName,
  RANDOM_MAX,
  READ_BLOCK,
  ReadBinary,
  ReadKeyAttributes,
  ReadModulus,
  ResponseFormatError,
  type SecurityEnvironment,
  SelectApplet,
  SelectFile,
  SelectFileResponse,
  UPDATE_BLOCK,
  UpdateBinary,
  VerifyPin,
  Version,
  VersionResponse,
} from "./_commands.ts";
import { ApduError } from "./apdu_error.ts";
import { ApduChannel, type ApduTransmitter, type ChannelStats } from "./channel.ts";
import type { ApduForm, CommandApdu } from "./command.ts";
import { StatusWord, triesLeft } from "./status_word.ts";
import {
  AccessCondition,
  MAX_COMMAND_DATA,
  PinReference,
  type SeTemplate,
  TrustCoreCurve,
  type TrustCoreCurveName,
} from "./trust_core_constants.ts";

/** Timeouts per kind of command, in milliseconds (the vendor's values are the defaults). */
export interface TrustCoreTimeouts {
  /** Plain commands. @default {1000} */
  command?: number;
  /** Encrypt, decrypt, sign, MAC, key block. @default {5000} */
  crypto?: number;
  /** RSA and EC key generation. @default {30000} */
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
   * How a MAC over more than `maxDataLength` bytes is sent. The vendor's sign refuses more
   * than one buffer (tc_api.c tcSign) and no vendor call chains, so the default refuses
   * (`reject`: an `ApduError` before anything is sent). `chain` is an opt-in with no vendor
   * counterpart: an ISO command chain (CLA 0x90 on all parts but the last), which a real
   * applet is not known to accept; this package's emulator takes it only with its
   * `acceptChainedMac` option.
   * @default {"reject"}
   */
  largeMac?: "chain" | "reject";
  /**
   * Whether one MANAGE SECURITY ENVIRONMENT may carry several control reference templates.
   * ISO 7816-4 allows it and it saves APDUs, but the vendor host code never sends two in one
   * command (tc_api.c tcMseSetAlgo, tcMseSetKeyFile, …), so a real applet is not known to
   * accept it: `true` is an opt-in. The default sends one entry per command.
   * @default {false}
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
  /**
   * The status word with which the chip refuses a GCM record whose tag does not verify. The
   * vendor host code checks only for 9000 (tc_api.c tcDecryptGcm), so the applet's word is not
   * known; 6A80 (wrong data) is what it answers for a bad signature (PSO VERIFY) and what this
   * package's emulator answers. `decryptGcm` reports this word as a failed tag, any other as an
   * `ApduError`.
   * @default {0x6a80}
   */
  gcmTagFailureStatus?: number;
  /** Per-command timeouts handed to the transport. */
  timeouts?: TrustCoreTimeouts;
}

export type { KeyAttributes, KeyBlockHandles, SecurityEnvironment } from "./_commands.ts";

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

/** Access conditions for CREATE EF, as `AccessCondition` bits. */
export interface FileAccess {
  /** Who may read. @default {AccessCondition.always} */
  read?: number;
  /** Who may update. @default {AccessCondition.user} */
  update?: number;
}

const split = (data: Uint8Array, size: number): Uint8Array[] => {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) parts.push(data.subarray(at, at + size));
  return parts.length ? parts : [data];
};

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
  readonly #gcmTagFailureStatus: number;
  readonly #timeouts: Required<TrustCoreTimeouts>;
  /** What this client last set in each template, tag → value in hex. */
  #se = new Map<number, Map<number, string>>();
  /** The LOAD UNTRUSTED KEY command (P1 and data, hex) the chip last accepted. */
  #untrustedKey: string | undefined;
  readonly #transport: ApduTransmitter;
  /** The transport's reset count this client has caught up with. */
  #seenResets: number;
  #afterReset: (() => Promise<void>) | undefined;

  /**
   * Creates a client over a transport that carries single APDUs.
   *
   * @param transport E.g. `CommandModeTransport` from `@anchortls/transport-serial`, or an
   *   in-process emulator.
   * @param options Encoding, buffer size and timeouts.
   */
  constructor(transport: ApduTransmitter, options: TrustCoreOptions = {}) {
    this.#transport = transport;
    this.#seenResets = transport.resets ?? 0;
    this.#channel = new ApduChannel({
      transmit: async (apdu, transmitOptions) => {
        await this.#catchUpWithReset();
        return await transport.transmit(apdu, transmitOptions);
      },
    }, { form: options.form ?? "multos" });
    this.#maxData = options.maxDataLength ?? MAX_COMMAND_DATA;
    if (!Number.isInteger(this.#maxData) || this.#maxData < 64) {
      throw new RangeError(`maxDataLength ${this.#maxData} is below 64`);
    }
    this.#largeMac = options.largeMac ?? "reject";
    this.#combineMse = options.combineMseTags ?? false;
    this.#keepUntrustedOnErase = options.untrustedKeySurvivesErase ?? true;
    this.#gcmTagFailureStatus = options.gcmTagFailureStatus ?? StatusWord.wrongData;
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

  /** Whether MSE commands may carry several entries (the `combineMseTags` opt-in). */
  get combinesMseTags(): boolean {
    return this.#combineMse;
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

  /** Decodes a response with its codec; a wrong shape is an `ApduError` after `9000`. */
  #decode<T>(name: string, decode: (out: Uint8Array) => T, out: Uint8Array): T {
    try {
      return decode(out);
    } catch (e) {
      if (!(e instanceof ResponseFormatError)) throw e;
      throw new ApduError(StatusWord.ok, name, { detail: e.message });
    }
  }

  #checkData(name: string, data: Uint8Array): void {
    if (data.length > this.#maxData) {
      throw new ApduError(undefined, name, {
        detail: `${data.length} data bytes exceed the chip buffer (${this.#maxData})`,
      });
    }
  }

  #forgetState(): void {
    this.#se.clear();
    this.#untrustedKey = undefined;
  }

  /**
   * Before each APDU: when the transport reset the chip since the last one, the applet is
   * deselected and its environment gone, so forget what it held and let the owner select and
   * verify again (its commands pass here with the count already caught up).
   */
  async #catchUpWithReset(): Promise<void> {
    const resets = this.#transport.resets ?? 0;
    if (resets === this.#seenResets) return;
    this.#seenResets = resets;
    this.#forgetState();
    await this.#afterReset?.();
  }

  /**
   * Sets what runs before the next command after the transport reset the chip (a reset
   * deselects the applet and forgets the PIN and every session key): typically SELECT and
   * VERIFY PIN again. `MultosCryptoProvider` sets it.
   *
   * @param handler Runs once per reset, before the next command; its own commands go through.
   * @returns Nothing.
   */
  onChipReset(handler: () => Promise<void>): void {
    this.#afterReset = handler;
  }

  /**
   * Selects the Trust Core applet and forgets any cached security environment and untrusted
   * key.
   *
   * @returns When the applet is selected.
   */
  async select(): Promise<void> {
    this.#forgetState();
    await this.#run("SELECT", SelectApplet.encode());
  }

  /**
   * Deselects the applet, as the vendor does when a TLS session ends (mtls.c mtlsFinish):
   * SELECT of the master file 3F00. Verified PINs and the security environment go with it.
   *
   * @returns When deselected.
   */
  async deselect(): Promise<void> {
    this.#forgetState();
    await this.#run("DESELECT", Deselect.encode());
  }

  /**
   * Forgets what this client believes the chip holds (security environment, untrusted key),
   * for when the chip was reset underneath it.
   *
   * @returns Nothing.
   */
  forgetChipState(): void {
    this.#forgetState();
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
    const paddedPin = new Uint8Array(PIN_LENGTH).fill(0xff);
    paddedPin.set(bytes);
    try {
      await this.#run("VERIFY PIN", VerifyPin.encode({ reference, paddedPin }));
    } finally {
      paddedPin.fill(0);
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
    const response = await this.#channel.transmit(PinStatus.encode({ reference }), {
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
   * sent again. Each entry is its own command, as the vendor sends them, unless the
   * `combineMseTags` opt-in puts them in one.
   *
   * @param template Which template.
   * @param environment What to set.
   * @returns When the chip accepted every entry.
   */
  async setSecurityEnvironment(
    template: SeTemplate,
    environment: SecurityEnvironment,
  ): Promise<void> {
    const cached = this.#se.get(template) ?? new Map<number, string>();
    this.#se.set(template, cached);
    const fresh = crtsOf(environment).filter(({ tag, value }) => cached.get(tag) !== value.toHex());
    if (fresh.length === 0) return;
    const groups: Crt[][] = this.#combineMse ? [fresh] : fresh.map((crt) => [crt]);
    for (const crts of groups) {
      try {
        await this.#run("MSE SET", MseSet.encode({ template, crts }));
      } catch (e) {
        this.#se.delete(template);
        throw e;
      }
      for (const { tag, value } of crts) cached.set(tag, value.toHex());
    }
  }

  /**
   * MANAGE SECURITY ENVIRONMENT RESTORE: returns to a stored environment (the vendor's
   * PKCS#11 layer restores environment 2 before it generates a premaster).
   *
   * @param environment Security environment number.
   * @returns When restored.
   */
  async restoreSecurityEnvironment(environment: number): Promise<void> {
    this.#se.clear();
    await this.#run("MSE RESTORE", MseRestore.encode({ environment }));
  }

  /**
   * Generates a premaster secret inside the chip: version ‖ 46 random bytes.
   *
   * @param major Version major byte. @default {3}
   * @param minor Version minor byte. @default {3}
   * @returns The premaster's handle.
   */
  async generatePremaster(major = 3, minor = 3): Promise<number> {
    const out = await this.#run("GENERATE PREMASTER", GeneratePremaster.encode({ major, minor }));
    return this.#decode("GENERATE PREMASTER", HandleResponse.decode, out);
  }

  /**
   * Computes the ECDH premaster inside the chip from the TLS template's EC private key
   * (algorithm 0C, key file 63xx, set with `setSecurityEnvironment`) and the peer's public key
   * (tc_api.c tcGeneratePreMasterSecretAlgo). The shared secret never leaves the chip.
   *
   * @param x The peer point's X coordinate.
   * @param y Its Y coordinate.
   * @returns The premaster's handle.
   */
  async generateEcdhPremaster(x: Uint8Array, y: Uint8Array): Promise<number> {
    const command = GenerateEcdhPremaster.encode({ peerPoint: concatBytes([x, y]) });
    const out = await this.#run("GENERATE ECDH PREMASTER", command);
    return this.#decode("GENERATE ECDH PREMASTER", HandleResponse.decode, out);
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
    if (!extended && (input.clientRandom.length !== 32 || input.serverRandom.length !== 32)) {
      throw new ApduError(undefined, "GENERATE MASTER SECRET", {
        detail: "randoms must be 32 bytes",
      });
    }
    const seed = extended
      ? input.sessionHash
      : concatBytes([input.clientRandom, input.serverRandom]);
    const out = await this.#run(
      "GENERATE MASTER SECRET",
      GenerateMasterSecret.encode({ premaster, extended, seed }),
    );
    return this.#decode("GENERATE MASTER SECRET", MasterSecretResponse.decode, out);
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
    if (serverRandom.length !== 32 || clientRandom.length !== 32) {
      throw new ApduError(undefined, "GENERATE KEY BLOCK", { detail: "randoms must be 32 bytes" });
    }
    const out = await this.#run(
      "GENERATE KEY BLOCK",
      GenerateKeyBlock.encode({ serverRandom, clientRandom }),
      "crypto",
    );
    return this.#decode("GENERATE KEY BLOCK", KeyBlockResponse.decode, out);
  }

  /**
   * Generates an RSA key pair in a private key file.
   *
   * @param keyFile E.g. `0x6100`.
   * @param bits 512, 768, 1024 or 2048.
   * @returns When generated.
   */
  async generateRsaKey(keyFile: number, bits: 512 | 768 | 1024 | 2048): Promise<void> {
    await this.#run("GENERATE RSA KEY", GenerateRsaKey.encode({ keyFile, bits }), "keyGeneration");
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
      GenerateEcKey.encode({ keyFile, curve: TrustCoreCurve[curve], ecdhOnly }),
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
    return await this.#loadUntrusted(LoadUntrustedRsaKey.encode({ modulus, exponent }));
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
    return await this.#loadUntrusted(
      LoadUntrustedEcKey.encode({ curve: TrustCoreCurve[curve], point: concatBytes([x, y]) }),
    );
  }

  async #loadUntrusted(command: CommandApdu): Promise<boolean> {
    const data = command.data ?? new Uint8Array(0);
    this.#checkData("LOAD UNTRUSTED KEY", data);
    const key = `${command.p1}:${data.toHex()}`;
    if (this.#untrustedKey === key) return false;
    // Whatever a refused load leaves in the chip, it is not known to be this key.
    this.#untrustedKey = undefined;
    await this.#run("LOAD UNTRUSTED KEY", command);
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
   * Erases every TLS key the chip holds (premaster, master secret, key block) and forgets the
   * cached security environment (and the untrusted key with `untrustedKeySurvivesErase:
   * false`).
   *
   * @returns When erased.
   */
  async eraseTlsKeys(): Promise<void> {
    this.#se.clear();
    if (!this.#keepUntrustedOnErase) this.#untrustedKey = undefined;
    await this.#run("ERASE TLS KEYS", EraseTlsKeys.encode());
  }

  #pso(
    name: string,
    operation: PsoName,
    data: Uint8Array,
    chunkSize?: number,
  ): Promise<Uint8Array> {
    return this.#run(name, Pso.encode({ operation, data }), "crypto", chunkSize);
  }

  /**
   * Wraps (encrypts) a key held in the chip under the confidentiality template's key, e.g. the
   * premaster under the loaded server key with algorithm RSA PKCS#1.
   *
   * @param keyHandle Handle of the key to wrap.
   * @returns The wrapped key.
   */
  wrap(keyHandle: number): Promise<Uint8Array> {
    return this.#pso("PSO WRAP", "wrap", HandleResponse.encode(keyHandle));
  }

  /**
   * Unwraps a key into the chip.
   *
   * @param wrapped The wrapped key with its attributes, as the applet expects.
   * @returns The new key's handle.
   */
  async unwrap(wrapped: Uint8Array): Promise<number> {
    this.#checkData("PSO UNWRAP", wrapped);
    const out = await this.#pso("PSO UNWRAP", "unwrap", wrapped);
    return this.#decode("PSO UNWRAP", HandleResponse.decode, out);
  }

  async #cbc(
    name: string,
    operation: "encrypt" | "decrypt",
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
      const result = await this.#pso(name, operation, CbcInput.encode({ iv: chainIv, data: part }));
      if (result.length !== part.length) {
        throw new ApduError(StatusWord.ok, name, {
          detail: `${result.length} bytes for ${part.length}`,
        });
      }
      out.push(result);
      const cipherPart = operation === "encrypt" ? result : part;
      chainIv = cipherPart.slice(cipherPart.length - AES_BLOCK);
    }
    return concatBytes(out);
  }

  /**
   * AES-GCM encrypts one record with the confidentiality template's key (algorithm 0B): PSO
   * `86 80` with ivLen ‖ IV ‖ aadLen ‖ AAD ‖ plaintext (tc_api.c tcEncryptGcm).
   *
   * @param iv The nonce (12 bytes in TLS: implicit ‖ explicit).
   * @param aad The additional data; with the IV at least 16 bytes, as the vendor requires.
   * @param plaintext The record content; the whole command must fit the chip's buffer.
   * @returns Ciphertext ‖ 16-byte tag.
   */
  async encryptGcm(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    if (iv.length + aad.length < AES_BLOCK) {
      throw new ApduError(undefined, "PSO ENCRYPT (GCM)", {
        detail: "the vendor's GCM needs IV and AAD of 16 bytes or more together",
      });
    }
    const data = GcmEncryptInput.encode({ iv, aad, plaintext });
    this.#checkData("PSO ENCRYPT (GCM)", data);
    const out = await this.#pso("PSO ENCRYPT (GCM)", "encrypt", data);
    if (out.length !== plaintext.length + GCM_TAG) {
      throw new ApduError(StatusWord.ok, "PSO ENCRYPT (GCM)", {
        detail: `${out.length} bytes for ${plaintext.length} and a tag`,
      });
    }
    return out;
  }

  /**
   * AES-GCM checks and decrypts one record with the confidentiality template's key: PSO
   * `80 86` with ivLen ‖ IV ‖ aadLen ‖ AAD ‖ tag ‖ ciphertext (tc_api.c tcDecryptGcm).
   *
   * @param iv The nonce it was sealed with.
   * @param aad The additional data it was sealed with.
   * @param sealed Ciphertext ‖ 16-byte tag, as a record carries them.
   * @returns The plaintext, or `undefined` when the chip says the tag does not verify
   *   (`gcmTagFailureStatus`).
   */
  async decryptGcm(
    iv: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Promise<Uint8Array | undefined> {
    if (sealed.length < GCM_TAG) return undefined;
    const ciphertext = sealed.subarray(0, sealed.length - GCM_TAG);
    const tag = sealed.subarray(sealed.length - GCM_TAG);
    const data = GcmDecryptInput.encode({ iv, aad, tag, ciphertext });
    this.#checkData("PSO DECRYPT (GCM)", data);
    const response = await this.#channel.transmit(
      Pso.encode({ operation: "decrypt", data }),
      { name: "PSO DECRYPT (GCM)", timeoutMs: this.#timeouts.crypto },
    );
    if (response.sw === this.#gcmTagFailureStatus) return undefined;
    if (response.sw !== StatusWord.ok) throw new ApduError(response.sw, "PSO DECRYPT (GCM)");
    if (response.data.length !== ciphertext.length) {
      throw new ApduError(StatusWord.ok, "PSO DECRYPT (GCM)", {
        detail: `${response.data.length} bytes for ${ciphertext.length}`,
      });
    }
    return response.data;
  }

  /**
   * AES-CBC encrypts whole blocks with the confidentiality template's key (PSO `86 80`).
   *
   * @param iv The 16-byte IV.
   * @param plaintext Whole 16-byte blocks (padding is the caller's).
   * @returns The ciphertext, as long as the plaintext.
   */
  encrypt(iv: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#cbc("PSO ENCRYPT", "encrypt", iv, plaintext);
  }

  /**
   * AES-CBC decrypts whole blocks with the confidentiality template's key (PSO `80 86`).
   *
   * @param iv The 16-byte IV.
   * @param ciphertext Whole 16-byte blocks.
   * @returns The plaintext, padding still on.
   */
  decrypt(iv: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    return this.#cbc("PSO DECRYPT", "decrypt", iv, ciphertext);
  }

  /**
   * Signs or MACs with the signature template's algorithm and key: HMAC over the data,
   * Finished over a handshake hash, RSA over a DigestInfo. Data longer than one command is
   * refused unless the `largeMac: "chain"` opt-in sends it as an ISO chain.
   *
   * @param data The input.
   * @returns The MAC, verify_data or signature.
   */
  async signOrMac(data: Uint8Array): Promise<Uint8Array> {
    if (data.length <= this.#maxData || this.#largeMac === "reject") {
      this.#checkData("PSO SIGN/MAC", data);
      return await this.#pso("PSO SIGN/MAC", "signOrMac", data);
    }
    return await this.#pso("PSO SIGN/MAC", "signOrMac", data, this.#maxData);
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
      Pso.encode({ operation: "verify", data: input }),
      {
        name: "PSO VERIFY",
        timeoutMs: this.#timeouts.crypto,
      },
    );
    if (response.sw === StatusWord.ok) return response.data;
    if (response.sw === StatusWord.wrongData) return undefined;
    throw new ApduError(response.sw, "PSO VERIFY");
  }

  async #hashUpdate(kind: HashKind, name: string, data: Uint8Array): Promise<void> {
    for (const part of split(data, this.#maxData)) {
      if (part.length) await this.#run(name, Hash.encode({ kind, step: "update", data: part }));
    }
  }

  /**
   * SHA in one command (INS 85 P2 3), or in init/update/final commands when the data exceeds
   * the buffer.
   *
   * @param data The message.
   * @param hashLength Digest length (P1). @default {32}
   * @returns The digest.
   */
  async sha(data: Uint8Array, hashLength = 32): Promise<Uint8Array> {
    if (data.length > 0 && data.length <= this.#maxData) {
      return await this.#run(
        "SHA",
        Hash.encode({ kind: "sha", step: "oneShot", hashLength, data }),
      );
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
    await this.#run("SHA INIT", Hash.encode({ kind: "sha", step: "init", hashLength }));
  }

  /**
   * Adds data to the SHA computation, in buffer-sized commands.
   *
   * @param data More message.
   * @returns When added.
   */
  async shaUpdate(data: Uint8Array): Promise<void> {
    await this.#hashUpdate("sha", "SHA UPDATE", data);
  }

  /**
   * Finishes the SHA computation (no Le, as the vendor's tcShaFinal sends it).
   *
   * @returns The digest.
   */
  shaFinal(): Promise<Uint8Array> {
    return this.#run("SHA FINAL", Hash.encode({ kind: "sha", step: "final" }));
  }

  /**
   * Starts the handshake hash the chip keeps for Finished and EMS.
   *
   * @param hashLength Digest length. @default {32}
   * @returns When started.
   */
  async handshakeShaInit(hashLength = 32): Promise<void> {
    await this.#run(
      "HANDSHAKE SHA INIT",
      Hash.encode({ kind: "handshake", step: "init", hashLength }),
    );
  }

  /**
   * Adds handshake messages to the chip's handshake hash, in buffer-sized commands.
   *
   * @param data Handshake message bytes.
   * @returns When added.
   */
  async handshakeShaUpdate(data: Uint8Array): Promise<void> {
    await this.#hashUpdate("handshake", "HANDSHAKE SHA UPDATE", data);
  }

  /**
   * Reads the current handshake hash; the hash keeps running, so it can be read again later
   * (mtls.c mtlsHandshakeHashCurrent).
   *
   * @returns The digest so far.
   */
  handshakeShaFinal(): Promise<Uint8Array> {
    return this.#run("HANDSHAKE SHA FINAL", Hash.encode({ kind: "handshake", step: "final" }));
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
      const out = await this.#run("GET RANDOM", GetRandom.encode({ length: n }));
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
    const out = await this.#run("VERSION", Version.encode());
    return this.#decode("VERSION", VersionResponse.decode, out);
  }

  /**
   * Reads the modulus of an RSA key pair (no Le, as the vendor's tcReadRsaModulus sends it).
   *
   * @param keyFile E.g. `0x6100`.
   * @returns The big-endian modulus.
   */
  readModulus(keyFile: number): Promise<Uint8Array> {
    return this.#run("READ MODULUS", ReadModulus.encode({ keyFile }));
  }

  /**
   * Selects an elementary file.
   *
   * @param fileId E.g. `0x5300`.
   * @returns The file's size in bytes.
   */
  async selectFile(fileId: number): Promise<number> {
    const out = await this.#run("SELECT EF", SelectFile.encode({ fileId }));
    return this.#decode("SELECT EF", SelectFileResponse.decode, out).size;
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
      const out = await this.#run("READ BINARY", ReadBinary.encode({ offset: at, length: n }));
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
      await this.#run(
        "UPDATE BINARY",
        UpdateBinary.encode({ offset: offset + at, data: data.subarray(at, at + UPDATE_BLOCK) }),
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
    await this.#run(
      "CREATE EF",
      CreateFile.encode({
        fileId,
        size,
        read: access.read ?? AccessCondition.always,
        update: access.update ?? AccessCondition.user,
      }),
    );
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
    const named = HandleResponse.encode(fileId).toHex();
    for (const cached of this.#se.values()) {
      if (cached.get(CrtTag.keyFile) === named) cached.delete(CrtTag.keyFile);
    }
    await this.#run("DELETE EF", DeleteFile.encode({ fileId }));
  }

  /**
   * Reads a secret key's attributes (never its value).
   *
   * @param handle The key's handle.
   * @returns Label, type, length, attribute bits and check value.
   */
  async readKeyAttributes(handle: number): Promise<KeyAttributes> {
    const out = await this.#run("READ KEY ATTRIBUTES", ReadKeyAttributes.encode({ handle }));
    return this.#decode("READ KEY ATTRIBUTES", KeyAttributesResponse.decode, out);
  }
}
