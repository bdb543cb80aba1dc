/**
 * The handshake's `CryptoProvider` backed by a MULTOS Trust Anchor, with two policies:
 * `full` keeps every TLS secret inside the chip, `hybrid` keeps only the device identity there.
 *
 * @module
 */

import {
  type CryptoPolicy,
  type CryptoProvider,
  type EncryptedPremaster,
  type FinishedLabel,
  type HelloRandoms,
  type MasterSecretContext,
  type MasterSecretHandle,
  type PremasterHandle,
  type RecordKeyOptions,
  type RecordKeys,
  type RecordRequirements,
  SignatureScheme,
  SoftwareCryptoProvider,
} from "@anchortls/handshake";
import type { CipherSuite } from "@anchortls/record";
import { bigIntToBytes, type PublicKeyInfo } from "@anchortls/x509";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { ApduError } from "./apdu_error.ts";
import type { ApduTransmitter } from "./channel.ts";
import { ChipRecordProtector, type ChipSession } from "./chip_record_protector.ts";
import { StatusWord } from "./status_word.ts";
import { TrustCore, type TrustCoreOptions } from "./trust_core.ts";
import {
  DEVICE_CERTIFICATE_FILE,
  DEVICE_KEY_FILE,
  SeTemplate,
  TrustCoreAlgorithm,
} from "./trust_core_constants.ts";

/** Options for {@linkcode MultosCryptoProvider.open}. */
export interface MultosCryptoProviderOptions {
  /**
   * `full`: randoms, premaster, master secret, key block, Finished and record protection in
   * the chip. `hybrid`: the device key, client-auth signatures and stored certificates in the
   * chip, session cryptography on the host.
   */
  policy: "full" | "hybrid";
  /**
   * The user PIN; verified when the provider opens, and again after the transport resets the
   * chip (a reset forgets it), so the provider keeps a copy in memory until `close()`. Omit
   * when the session already has it.
   */
  pin?: string | Uint8Array;
  /** Files holding the client chain, leaf first. @default {[0x5300]} */
  certificateFiles?: readonly number[];
  /** The device's private key file. @default {0x6100} */
  deviceKeyFile?: number;
  /** Options for the {@linkcode TrustCore} made over a transport. */
  trustCore?: TrustCoreOptions;
  /** Random source of the host side in `hybrid`. @default {crypto.getRandomValues} */
  random?: (length: number) => Uint8Array;
  /**
   * Signature schemes the device key offers for CertificateVerify, preferred first. The
   * vendor's host code signs PKCS#1 v1.5 over a SHA-256 DigestInfo (mtls.c
   * mtlsRsaSignPKCS1_type1), so that comes first; the chip's RSA-PSS (SHA-256 only) is offered
   * only when listed here.
   * @default {[rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha512]}
   */
  signatureSchemes?: readonly number[];
  /**
   * `full` only: accept a server that refuses Encrypt-then-MAC. **This leaks the padding length
   * of every record the server sends to anyone who watches the chip's serial or I²C lines**:
   * with MAC-then-encrypt the chip MACs exactly the content left after the padding, so the
   * command length (and at 115200 baud ~87 µs per byte) tells the padding, a padding oracle
   * far stronger than Lucky 13. Only for servers that cannot do RFC 7366.
   * @default {false}
   */
  allowMacThenEncrypt?: boolean;
  /**
   * MSE RESTORE of this security environment before each premaster, so a handshake starts
   * from a known environment. The vendor's PKCS#11 layer restores environment 2 (it passes
   * TC_ALGO_TLS) before GENERATE PREMASTER and marks it "Redundant?"; `false` skips it.
   * @default {2}
   */
  restoreEnvironment?: number | false;
}

/** Which DigestInfo prefix and hash each PKCS#1 v1.5 scheme uses (RFC 8017 §9.2, note 1). */
const PKCS1_SCHEMES: ReadonlyMap<
  number,
  { prefix: string; hash: (data: Uint8Array) => Uint8Array }
> = new Map([
  [SignatureScheme.rsa_pkcs1_sha256, {
    prefix: "3031300d060960864801650304020105000420",
    hash: sha256,
  }],
  [SignatureScheme.rsa_pkcs1_sha384, {
    prefix: "3041300d060960864801650304020205000430",
    hash: sha384,
  }],
  [SignatureScheme.rsa_pkcs1_sha512, {
    prefix: "3051300d060960864801650304020305000440",
    hash: sha512,
  }],
]);

const RANDOM_POOL = 240;

/**
 * Plaintext per record in `full`: a record's MAC input and its cipher input must each fit one
 * chip command (2992 bytes), with room for a peer's largest CBC padding (256) and MAC (32).
 * 2048 is also a max_fragment_length RFC 6066 can ask for.
 */
const FULL_MAX_PLAINTEXT = 2048;

const DEFAULT_SCHEMES: readonly number[] = [...PKCS1_SCHEMES.keys()];

/** Whether a status word says the secret slots are full: the vendor's 6381 or ISO's 6A84. */
function isSlotsFull(sw: number | undefined): boolean {
  return sw === StatusWord.noSpace || sw === StatusWord.notEnoughMemory;
}

/** A secret's slot in the chip, valid for one chip session generation. */
class ChipSecret<Kind extends "premaster" | "master"> {
  readonly kind: Kind;
  readonly #slot: number;
  readonly #owner: MultosCryptoProvider;
  readonly #generation: number;
  #released = false;

  constructor(kind: Kind, slot: number, owner: MultosCryptoProvider, generation: number) {
    this.kind = kind;
    this.#slot = slot;
    this.#owner = owner;
    this.#generation = generation;
  }

  static slot(
    handle: unknown,
    owner: MultosCryptoProvider,
    kind: string,
    generation: number,
  ): number {
    if (!(handle instanceof ChipSecret) || handle.#owner !== owner || handle.kind !== kind) {
      throw new TypeError(`not a ${kind} handle of this provider`);
    }
    if (handle.#released) throw new TypeError(`${kind} handle was released`);
    if (handle.#generation !== generation) {
      throw new TypeError(`${kind} handle belongs to an erased chip session`);
    }
    return handle.#slot;
  }

  static release(
    handle: unknown,
    owner: MultosCryptoProvider,
  ): { slot: number; generation: number } | undefined {
    if (!(handle instanceof ChipSecret) || handle.#owner !== owner) {
      throw new TypeError("not a handle of this provider");
    }
    if (handle.#released) return undefined;
    handle.#released = true;
    return { slot: handle.#slot, generation: handle.#generation };
  }

  toString(): string {
    return `ChipSecret(${this.kind}, ${this.#released ? "released" : "in chip"})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * A `CryptoProvider` whose secrets live in a MULTOS Trust Anchor.
 *
 * Policy `full` runs one TLS session's keys in the chip at a time, as the vendor's offload
 * does: each new full handshake starts with ERASE TLS KEYS when an earlier one left keys
 * behind, and handles of the erased session are refused. The key schedule costs about a dozen
 * APDUs (key load, premaster, wrap, master secret, key block, two Finished, and the security
 * environment changes between them); the key load is skipped when the next handshake meets
 * the same server key. Each record costs one MAC and one cipher command plus a
 * security-environment change when the direction changes, and an IV from a pooled GET RANDOM.
 *
 * `release` marks a handle unusable; the chip frees slots on ERASE TLS KEYS (next handshake or
 * {@linkcode MultosCryptoProvider.close}), since it has no command to erase a single slot. A
 * full handshake takes six of the applet's secret slots (ten in the vendor's header) and each
 * abbreviated handshake on the kept master secret four more. When the chip runs out (`6A84`),
 * the provider deletes released secrets and earlier connections' record keys (DELETE EF on
 * their handles, which are key file IDs; unconfirmed for session keys by the vendor sources)
 * and retries, so those connections' protectors stop working.
 *
 * @example Full policy against the in-process emulator
 * ```ts
 * import { MultosCryptoProvider, TrustCoreEmulator } from "@anchortls/multos-apdu";
 * const chip = new TrustCoreEmulator({ pin: "1234" });
 * const provider = await MultosCryptoProvider.open(
 *   { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
 *   { policy: "full", pin: "1234" },
 * );
 * (await provider.random(32)).length; // 32
 * await provider.close();
 * ```
 */
export class MultosCryptoProvider implements CryptoProvider {
  /** `full` or `hybrid`. */
  readonly policy: CryptoPolicy;
  /**
   * In `full`: records of at most 2048 plaintext bytes, so each fits one chip command, and
   * Encrypt-then-MAC unless `allowMacThenEncrypt`. None in `hybrid`.
   */
  readonly recordRequirements: RecordRequirements | undefined;
  readonly #chip: TrustCore;
  readonly #chain: readonly Uint8Array[];
  readonly #deviceKeyFile: number;
  readonly #software: SoftwareCryptoProvider | undefined;
  readonly #schemes: readonly number[];
  /** The PIN, kept to verify it again after a chip reset; zeroed on close. */
  readonly #pin: Uint8Array | undefined;
  readonly #restoreEnvironment: number | false;
  #queue: Promise<unknown> = Promise.resolve();
  #generation = 0;
  #keysInChip = false;
  #closed = false;
  #pool: Uint8Array = new Uint8Array(0);
  /** Slots of released premasters and master secrets in the current chip session. */
  #freeable: number[] = [];
  /** Key blocks of the current chip session, oldest first, with their protectors' liveness. */
  #keyBlocks: { slots: number[]; live: { value: boolean } }[] = [];
  #poolAt = 0;

  private constructor(
    chip: TrustCore,
    chain: readonly Uint8Array[],
    options: MultosCryptoProviderOptions,
  ) {
    this.policy = options.policy;
    this.#chip = chip;
    this.#chain = chain;
    this.#deviceKeyFile = options.deviceKeyFile ?? DEVICE_KEY_FILE;
    this.#restoreEnvironment = options.restoreEnvironment ?? 2;
    this.#pin = options.pin === undefined
      ? undefined
      : typeof options.pin === "string"
      ? new TextEncoder().encode(options.pin)
      : options.pin.slice();
    const schemes = options.signatureSchemes ?? DEFAULT_SCHEMES;
    for (const scheme of schemes) {
      if (!PKCS1_SCHEMES.has(scheme) && scheme !== SignatureScheme.rsa_pss_rsae_sha256) {
        throw new RangeError(`the chip cannot sign with scheme 0x${scheme.toString(16)}`);
      }
    }
    this.#schemes = schemes;
    this.recordRequirements = options.policy === "full"
      ? {
        maxPlaintext: FULL_MAX_PLAINTEXT,
        encryptThenMac: !options.allowMacThenEncrypt,
        encryptThenMacReason:
          "with MAC-then-encrypt the chip would MAC exactly the unpadded content, showing each record's padding length on its bus; MultosCryptoProvider's allowMacThenEncrypt accepts that leak",
      }
      : undefined;
    this.#software = options.policy === "hybrid"
      ? new SoftwareCryptoProvider(options.random ? { random: options.random } : {})
      : undefined;
  }

  #sessionFor(generation: number, live: { value: boolean }): ChipSession {
    return {
      exclusive: (operation) => this.#exclusive(operation),
      random: (length) => this.#chipRandom(length),
      maxCommandData: this.#chip.maxDataLength,
      checkLive: () => {
        if (this.#generation !== generation || !live.value) {
          throw new TypeError("record keys belong to an erased chip session");
        }
      },
    };
  }

  /** Deletes released secrets and the record keys of earlier connections (DELETE EF each). */
  async #freeSlots(chip: TrustCore): Promise<void> {
    for (const block of this.#keyBlocks) block.live.value = false;
    const slots = [...this.#freeable, ...this.#keyBlocks.flatMap((b) => b.slots)];
    this.#freeable = [];
    this.#keyBlocks = [];
    for (const slot of slots) await chip.deleteFile(slot);
  }

  /**
   * Opens a provider: selects the applet, verifies the PIN, and reads the client certificate
   * chain from the chip's files once (a missing file means no client certificate).
   *
   * @param link A transport carrying APDUs (e.g. `CommandModeTransport`), or a `TrustCore`.
   * @param options Policy, PIN and file locations.
   * @returns The ready provider.
   * @throws {ApduError} When SELECT or VERIFY fails (`63Cx` wrong PIN, `6983` blocked).
   */
  static async open(
    link: ApduTransmitter | TrustCore,
    options: MultosCryptoProviderOptions,
  ): Promise<MultosCryptoProvider> {
    if (options.policy !== "full" && options.policy !== "hybrid") {
      throw new TypeError(`unknown policy ${String(options.policy)}`);
    }
    const chip = link instanceof TrustCore ? link : new TrustCore(link, options.trustCore);
    await chip.select();
    if (options.pin !== undefined) await chip.verifyPin(options.pin);
    // A host that restarted must not inherit an earlier process's session secrets.
    await chip.eraseTlsKeys();
    const chain: Uint8Array[] = [];
    for (const file of options.certificateFiles ?? [DEVICE_CERTIFICATE_FILE]) {
      let size: number;
      try {
        size = await chip.selectFile(file);
      } catch (e) {
        // The vendor's tcSelectEF takes any answer but 9000 as "no such file".
        if (e instanceof ApduError && e.sw !== undefined && e.sw !== StatusWord.ok) break;
        throw e;
      }
      chain.push(await chip.readBinary(0, size));
    }
    const provider = new MultosCryptoProvider(chip, chain, options);
    chip.onChipReset(() => provider.#recoverFromReset());
    return provider;
  }

  /**
   * After the transport reset the chip: its RAM held this session's keys and the verified PIN,
   * so every handle and protector is refused from now on and the applet is selected and the PIN
   * verified again before the next command.
   */
  async #recoverFromReset(): Promise<void> {
    this.#generation++;
    this.#keysInChip = false;
    this.#freeable = [];
    this.#keyBlocks = [];
    if (this.#closed) return;
    await this.#chip.select();
    if (this.#pin) await this.#chip.verifyPin(this.#pin);
  }

  /** The Trust Core client, for its link counters. */
  get trustCore(): TrustCore {
    return this.#chip;
  }

  /**
   * Schemes the device key signs with (PKCS#1 v1.5 first unless `signatureSchemes` says
   * otherwise); empty without a stored certificate.
   */
  get signatureSchemes(): readonly number[] {
    return this.#chain.length ? this.#schemes : [];
  }

  #exclusive<T>(operation: (chip: TrustCore) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => operation(this.#chip));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #chipRandom(length: number): Promise<Uint8Array> {
    if (this.#pool.length - this.#poolAt < length) {
      const fresh = await this.#exclusive((chip) => chip.getRandom(Math.max(length, RANDOM_POOL)));
      if (this.#pool.length - this.#poolAt < length) {
        this.#pool = fresh;
        this.#poolAt = 0;
      }
    }
    const out = this.#pool.slice(this.#poolAt, this.#poolAt + length);
    this.#pool.fill(0, this.#poolAt, this.#poolAt + length);
    this.#poolAt += length;
    return out;
  }

  /**
   * Random bytes: from the chip's generator (`full`, pooled 240 bytes per GET RANDOM), or the
   * host's (`hybrid`).
   *
   * @param length How many bytes.
   * @returns The bytes.
   */
  async random(length: number): Promise<Uint8Array> {
    if (this.#software) return await this.#software.random(length);
    return await this.#chipRandom(length);
  }

  /**
   * Makes the premaster. `full`: loads the server key into the chip, generates the premaster
   * there and wraps it under that key; only the ciphertext leaves. `hybrid`: on the host.
   *
   * @param serverKey The verified server certificate's RSA key (exponent of at most 3 bytes).
   * @param clientVersion The ClientHello's version (0xfefd in DTLS 1.2). @default {0x0303}
   * @returns The ciphertext and the premaster handle.
   */
  async encryptPremaster(
    serverKey: PublicKeyInfo,
    clientVersion: number = 0x0303,
  ): Promise<EncryptedPremaster> {
    if (this.#software) return await this.#software.encryptPremaster(serverKey, clientVersion);
    if (serverKey.kind !== "rsa") throw new TypeError("RSA key exchange needs an RSA server key");
    const modulus = bigIntToBytes(serverKey.modulus);
    const exponent = bigIntToBytes(serverKey.exponent);
    if (exponent.length > 3) throw new TypeError("the chip takes RSA exponents of at most 3 bytes");
    return await this.#exclusive(async (chip) => {
      if (this.#keysInChip) {
        await chip.eraseTlsKeys();
        this.#generation++;
        this.#freeable = [];
        this.#keyBlocks = [];
      }
      this.#keysInChip = true;
      if (this.#restoreEnvironment !== false) {
        await chip.restoreSecurityEnvironment(this.#restoreEnvironment);
      }
      const loaded = await chip.loadUntrustedRsaKey(modulus, exponent);
      const slot = await chip.generatePremaster(clientVersion >> 8, clientVersion & 0xff);
      await chip.setSecurityEnvironment(SeTemplate.confidentiality, {
        algorithm: TrustCoreAlgorithm.rsaPkcs1,
      });
      let encrypted: Uint8Array;
      try {
        encrypted = await chip.wrap(slot);
      } catch (e) {
        // The load was skipped because the key was in place; a chip that lost it (one whose
        // ERASE TLS KEYS takes the untrusted key too) refuses the wrap: load it, wrap again.
        if (loaded || !(e instanceof ApduError)) throw e;
        chip.forgetUntrustedKey();
        await chip.loadUntrustedRsaKey(modulus, exponent);
        encrypted = await chip.wrap(slot);
      }
      if (encrypted.length !== modulus.length) {
        throw new ApduError(StatusWord.ok, "PSO WRAP", {
          detail: "wrapped premaster is not modulus-sized",
        });
      }
      return { encrypted, premaster: new ChipSecret("premaster", slot, this, this.#generation) };
    });
  }

  /**
   * Derives the master secret (standard or extended) in the chip, or on the host in `hybrid`.
   *
   * @param premaster The premaster handle.
   * @param context The randoms, or the session hash with EMS.
   * @returns The master secret handle.
   */
  async masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    if (this.#software) return await this.#software.masterSecret(premaster, context);
    const slot = ChipSecret.slot(premaster, this, "premaster", this.#generation);
    const input = context.extendedMasterSecret
      ? { sessionHash: context.sessionHash }
      : { clientRandom: context.clientRandom, serverRandom: context.serverRandom };
    const result = await this.#exclusive((chip) => chip.generateMasterSecret(slot, input));
    return new ChipSecret("master", result.handle, this, this.#generation);
  }

  /**
   * Derives the key block. `full`: the keys stay in the chip as handles and the protectors
   * send each record there. `hybrid`: software protectors.
   *
   * @param master The master secret handle.
   * @param suite The negotiated suite.
   * @param randoms This handshake's randoms.
   * @param options Whether Encrypt-then-MAC is on.
   * @returns The client (write) and server (read) protectors.
   */
  async recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    if (this.#software) return await this.#software.recordKeys(master, suite, randoms, options);
    const slot = ChipSecret.slot(master, this, "master", this.#generation);
    const block = await this.#exclusive(async (chip) => {
      await chip.setSecurityEnvironment(SeTemplate.tls, { keyFile: slot, cipherSuite: suite.id });
      try {
        return await chip.generateKeyBlock(randoms.serverRandom, randoms.clientRandom);
      } catch (e) {
        // Out of slots (an abbreviated handshake on a kept master secret): earlier connections'
        // record keys go, as the one-session-at-a-time rule of `full` allows, and we retry.
        if (!(e instanceof ApduError && isSlotsFull(e.sw))) throw e;
        await this.#freeSlots(chip);
        await chip.setSecurityEnvironment(SeTemplate.tls, { keyFile: slot, cipherSuite: suite.id });
        return await chip.generateKeyBlock(randoms.serverRandom, randoms.clientRandom);
      }
    });
    const live = { value: true };
    this.#keyBlocks.push({
      slots: [block.clientMac, block.serverMac, block.clientWrite, block.serverWrite],
      live,
    });
    const etm = options.encryptThenMac;
    const session = this.#sessionFor(this.#generation, live);
    return {
      client: new ChipRecordProtector(session, suite, {
        mac: block.clientMac,
        enc: block.clientWrite,
      }, etm),
      server: new ChipRecordProtector(session, suite, {
        mac: block.serverMac,
        enc: block.serverWrite,
      }, etm),
    };
  }

  /**
   * Computes Finished verify_data in the chip (`full`) or on the host (`hybrid`).
   *
   * @param master The master secret handle.
   * @param label Whose Finished.
   * @param transcriptHash SHA-256 of the transcript so far.
   * @returns 12 bytes.
   */
  async finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    transcriptHash: Uint8Array,
  ): Promise<Uint8Array> {
    if (this.#software) return await this.#software.finished(master, label, transcriptHash);
    const slot = ChipSecret.slot(master, this, "master", this.#generation);
    const algorithm = label === "client finished"
      ? TrustCoreAlgorithm.clientFinished
      : TrustCoreAlgorithm.serverFinished;
    return await this.#exclusive(async (chip) => {
      await chip.setSecurityEnvironment(SeTemplate.signature, { algorithm, keyFile: slot });
      return await chip.signOrMac(transcriptHash);
    });
  }

  /**
   * The client chain read from the chip when the provider opened.
   *
   * @returns DER certificates, leaf first; empty when none is stored.
   */
  certificateChain(): Promise<Uint8Array[]> {
    return Promise.resolve(this.#chain.map((c) => c.slice()));
  }

  /**
   * Signs with the device key in the chip. The host hashes the data (the hash is not secret);
   * the chip pads (PSS with a fresh salt, or PKCS#1 v1.5 around the DigestInfo) and signs.
   *
   * @param scheme One of {@linkcode MultosCryptoProvider.signatureSchemes}.
   * @param data The handshake messages to sign.
   * @returns The signature.
   */
  async sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    const pkcs1 = PKCS1_SCHEMES.get(scheme);
    if (!this.#schemes.includes(scheme) || !this.#chain.length) {
      throw new RangeError(
        `the chip cannot sign with scheme 0x${scheme.toString(16).padStart(4, "0")}`,
      );
    }
    const input = pkcs1
      ? new Uint8Array([...Uint8Array.fromHex(pkcs1.prefix), ...pkcs1.hash(data)])
      : sha256(data);
    const algorithm = pkcs1 ? TrustCoreAlgorithm.rsaPkcs1 : TrustCoreAlgorithm.pssSha256;
    return await this.#exclusive(async (chip) => {
      await chip.setSecurityEnvironment(SeTemplate.signature, {
        algorithm,
        keyFile: this.#deviceKeyFile,
      });
      return await chip.signOrMac(input);
    });
  }

  /**
   * Marks a handle released (`full`) or zeroes it (`hybrid`).
   *
   * @param handle A handle from this provider.
   * @returns When done.
   */
  async release(handle: PremasterHandle | MasterSecretHandle): Promise<void> {
    if (this.#software) return await this.#software.release(handle);
    const released = ChipSecret.release(handle, this);
    if (released?.generation === this.#generation) this.#freeable.push(released.slot);
  }

  /**
   * Leaves the chip as the vendor does at the end of a session (mtls.c mtlsFinish): ERASE TLS
   * KEYS, then DESELECT. Every handle and protector of this provider stops working. Closing
   * twice is harmless.
   *
   * @returns When erased and deselected.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pin?.fill(0);
    this.#generation++;
    this.#freeable = [];
    this.#keyBlocks = [];
    this.#keysInChip = false;
    await this.#exclusive(async (chip) => {
      await chip.eraseTlsKeys();
      await chip.deselect();
    });
  }
}
