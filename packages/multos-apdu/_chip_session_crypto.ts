/**
 * The `full` policy's session cryptography in the chip: randoms, the premaster (generated and
 * RSA-wrapped inside), the master secret, the key block as handles, Finished, and protectors
 * that send each record to the chip. One TLS session's keys live in the chip at a time, as in
 * the vendor's offload.
 *
 * @module
 */

import {
  type EncryptedPremaster,
  type FinishedLabel,
  type HelloRandoms,
  type KeyAgreement,
  type MasterSecretContext,
  type MasterSecretHandle,
  NamedGroup,
  type PortableMasterSecret,
  type PremasterHandle,
  type RecordKeyOptions,
  type RecordKeys,
  type RecordRequirements,
  SessionImportError,
} from "@anchortls/handshake";
import {
  AeadProtector,
  type CbcCipherSuite,
  CbcHmacProtector,
  type CipherSuite,
  CipherSuites,
  constantTimeEqual,
  type PrfHash,
} from "@anchortls/record";
import { sha256 } from "@noble/hashes/sha2.js";
import { bigIntToBytes, type PublicKeyInfo } from "@anchortls/x509";
import type { ChipAccess } from "./_chip_access.ts";
import { ApduError } from "./apdu_error.ts";
import { chipCbcHmacEngine, type ChipSession } from "./chip_cbc_hmac_engine.ts";
import { chipGcmEngine } from "./chip_gcm_engine.ts";
import { StatusWord } from "./status_word.ts";
import type { TrustCore } from "./trust_core.ts";
import { SeTemplate, TrustCoreAlgorithm } from "./trust_core_constants.ts";

/**
 * The suites the applet keys in `full`: RSA key transport with AES-CBC and HMAC-SHA1/SHA256,
 * the TLS_RSA suites of the vendor's mtls.c (ECDHE and GCM in the chip are their own issue).
 */
export const CHIP_CIPHER_SUITES: readonly CipherSuite[] = [
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA,
];

/**
 * The AES-GCM suites the vendor's mtls.c keys in the chip (bCipherAlgo TC_ALGO_AES_GCM, its
 * ECDHE ones with the ECDH premaster): the record layer's GCM runs in the chip too.
 */
export const CHIP_GCM_SUITES: readonly CipherSuite[] = [
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_128_GCM_SHA256,
];

/** The groups the chip's ECDH runs on (GENERATE EC KEY curves 0x17 and 0x18). */
export const CHIP_GROUPS: readonly number[] = [NamedGroup.secp256r1, NamedGroup.secp384r1];

const CHIP_CURVES: ReadonlyMap<number, "P-256" | "P-384"> = new Map([
  [NamedGroup.secp256r1, "P-256"],
  [NamedGroup.secp384r1, "P-384"],
]);

/** The ephemeral ECDH key's file (the vendor's EPHEMERAL_KEY_HANDLE, p11_examples.c). */
const EPHEMERAL_KEY_FILE = 0x6303;

/**
 * Plaintext per record in `full`: a record's MAC input and its cipher input must each fit one
 * chip command (2992 bytes), with room for a peer's largest CBC padding (256) and MAC (32).
 * 2048 is also a max_fragment_length RFC 6066 can ask for.
 */
const FULL_MAX_PLAINTEXT = 2048;

/** Whether a status word says the secret slots are full: the vendor's 6381 or ISO's 6A84. */
function isSlotsFull(sw: number | undefined): boolean {
  return sw === StatusWord.noSpace || sw === StatusWord.notEnoughMemory;
}

/** A secret's slot in the chip, valid for one chip session generation. */
class ChipSecret<Kind extends "premaster" | "master"> {
  readonly kind: Kind;
  readonly #slot: number;
  readonly #owner: object;
  readonly #generation: number;
  #released = false;

  constructor(kind: Kind, slot: number, owner: object, generation: number) {
    this.kind = kind;
    this.#slot = slot;
    this.#owner = owner;
    this.#generation = generation;
  }

  static slot(
    handle: unknown,
    owner: object,
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
    owner: object,
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

/** The kind of an exported master secret that stays in the chip: its slot names it. */
export const CHIP_MASTER_SECRET = "multos-chip";

/**
 * The "transcript hash" an exported master secret's check value is a client Finished over: no
 * handshake's transcript hashes to it, so the value says nothing a peer could use, yet only
 * the same master secret in the same slot gives it again.
 */
const EXPORT_CHECK_HASH = sha256(new TextEncoder().encode("anchortls exported session check"));

/** What the chip session crypto is set up with. */
export interface ChipSessionOptions {
  /** Accept a server without Encrypt-then-MAC, and the bus leak that comes with it. */
  readonly allowMacThenEncrypt: boolean;
  /** MSE RESTORE of this environment before each premaster, or `false`. */
  readonly restoreEnvironment: number | false;
  /** The chip may hold an earlier process's TLS keys (the provider did not erase them). */
  readonly keysFromEarlierProcess?: boolean;
}

/** Session cryptography with every secret in the chip. */
export class ChipSessionCrypto {
  readonly recordRequirements: RecordRequirements;
  readonly #access: ChipAccess;
  readonly #restoreEnvironment: number | false;
  #generation = 0;
  #keysInChip = false;
  /** Slots of released premasters and master secrets in the current chip session. */
  #freeable: number[] = [];
  /** Key blocks of the current chip session, oldest first, with their protectors' liveness. */
  #keyBlocks: { slots: number[]; live: { value: boolean } }[] = [];

  constructor(access: ChipAccess, options: ChipSessionOptions) {
    this.#access = access;
    this.#restoreEnvironment = options.restoreEnvironment;
    // So the next full handshake erases them, as it erases any earlier session's.
    this.#keysInChip = options.keysFromEarlierProcess ?? false;
    this.recordRequirements = {
      maxPlaintext: FULL_MAX_PLAINTEXT,
      encryptThenMac: !options.allowMacThenEncrypt,
      encryptThenMacReason:
        "with MAC-then-encrypt the chip would MAC exactly the unpadded content, showing each record's padding length on its bus; MultosCryptoProvider's allowMacThenEncrypt accepts that leak",
    };
  }

  /** Every handle and protector made so far stops working (erase, reset, close). */
  #newGeneration(): void {
    this.#generation++;
    this.#freeable = [];
    this.#keyBlocks = [];
  }

  /** The chip lost its RAM (a reset): nothing of this session is in it any more. */
  chipReset(): void {
    this.#newGeneration();
    this.#keysInChip = false;
  }

  /** Erases this session's keys in the chip (ERASE TLS KEYS, in the caller's exclusive run). */
  async erase(chip: TrustCore): Promise<void> {
    this.#newGeneration();
    this.#keysInChip = false;
    await chip.eraseTlsKeys();
  }

  #sessionFor(generation: number, live: { value: boolean }): ChipSession {
    return {
      exclusive: (operation) => this.#access.exclusive(operation),
      random: (length) => this.#access.random(length),
      maxCommandData: this.#access.chip.maxDataLength,
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

  random(length: number): Promise<Uint8Array> {
    return this.#access.random(length);
  }

  async encryptPremaster(
    serverKey: PublicKeyInfo,
    clientVersion: number = 0x0303,
  ): Promise<EncryptedPremaster> {
    if (serverKey.kind !== "rsa") throw new TypeError("RSA key exchange needs an RSA server key");
    const modulus = bigIntToBytes(serverKey.modulus);
    const exponent = bigIntToBytes(serverKey.exponent);
    if (exponent.length > 3) throw new TypeError("the chip takes RSA exponents of at most 3 bytes");
    return await this.#access.exclusive(async (chip) => {
      if (this.#keysInChip) await this.erase(chip);
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
   * ECDHE in the chip: an ECDH-only ephemeral key pair in 6303, then the premaster from it and
   * the server's point, both inside (mtls.c mtlsGenerateEphemeralECKey and the ECDHE branch of
   * mtlsGeneratePreMasterSecret). Only the public key comes out.
   */
  async keyAgreement(group: number, peerPublicKey: Uint8Array): Promise<KeyAgreement> {
    const curve = CHIP_CURVES.get(group);
    if (!curve) throw new TypeError(`the chip has no ECDH over group 0x${group.toString(16)}`);
    if (peerPublicKey[0] !== 4) throw new TypeError("the server's point must be uncompressed");
    const coordinate = (peerPublicKey.length - 1) / 2;
    const x = peerPublicKey.subarray(1, 1 + coordinate);
    const y = peerPublicKey.subarray(1 + coordinate);
    return await this.#access.exclusive(async (chip) => {
      if (this.#keysInChip) await this.erase(chip);
      this.#keysInChip = true;
      if (this.#restoreEnvironment !== false) {
        await chip.restoreSecurityEnvironment(this.#restoreEnvironment);
      }
      const ours = await chip.generateEcKey(EPHEMERAL_KEY_FILE, curve, true);
      await chip.setSecurityEnvironment(SeTemplate.tls, {
        keyFile: EPHEMERAL_KEY_FILE,
        algorithm: TrustCoreAlgorithm.ecdh,
      });
      const slot = await chip.generateEcdhPremaster(x, y);
      return {
        publicKey: Uint8Array.of(4, ...ours),
        premaster: new ChipSecret("premaster", slot, this, this.#generation),
      };
    });
  }

  async masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    requireSha256Prf(context.prfHash);
    const slot = ChipSecret.slot(premaster, this, "premaster", this.#generation);
    const input = context.extendedMasterSecret
      ? { sessionHash: context.sessionHash }
      : { clientRandom: context.clientRandom, serverRandom: context.serverRandom };
    const result = await this.#access.exclusive((chip) => chip.generateMasterSecret(slot, input));
    return new ChipSecret("master", result.handle, this, this.#generation);
  }

  async recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    chipSuite(suite);
    const slot = ChipSecret.slot(master, this, "master", this.#generation);
    const block = await this.#access.exclusive(async (chip) => {
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
    const session = this.#sessionFor(this.#generation, live);
    if (suite.kind === "aead") {
      // The implicit IVs come back in the answer's first four bytes; the keys stay handles.
      this.#keyBlocks.push({ slots: [block.clientWrite, block.serverWrite], live });
      const protector = (iv: Uint8Array, enc: number) =>
        new AeadProtector({
          algorithm: "aes-gcm",
          iv: iv.subarray(0, suite.fixedIvLength),
          engine: chipGcmEngine(session, enc),
        });
      return {
        client: protector(block.clientIv, block.clientWrite),
        server: protector(block.serverIv, block.serverWrite),
      };
    }
    const cbc = suite as CbcCipherSuite;
    this.#keyBlocks.push({
      slots: [block.clientMac, block.serverMac, block.clientWrite, block.serverWrite],
      live,
    });
    const etm = options.encryptThenMac;
    const protector = (mac: number, enc: number) =>
      new CbcHmacProtector({
        suite: cbc,
        encryptThenMac: etm,
        engine: chipCbcHmacEngine(session, cbc, { mac, enc }),
      });
    return {
      client: protector(block.clientMac, block.clientWrite),
      server: protector(block.serverMac, block.serverWrite),
    };
  }

  async finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    transcriptHash: Uint8Array,
    prfHash?: PrfHash,
  ): Promise<Uint8Array> {
    requireSha256Prf(prfHash);
    const slot = ChipSecret.slot(master, this, "master", this.#generation);
    const algorithm = label === "client finished"
      ? TrustCoreAlgorithm.clientFinished
      : TrustCoreAlgorithm.serverFinished;
    return await this.#access.exclusive(async (chip) => {
      await chip.setSecurityEnvironment(SeTemplate.signature, { algorithm, keyFile: slot });
      return await chip.signOrMac(transcriptHash);
    });
  }

  /**
   * The slot of a master secret with a check value (a client Finished over
   * {@linkcode EXPORT_CHECK_HASH}): the secret stays in the chip.
   */
  async exportMaster(master: MasterSecretHandle): Promise<PortableMasterSecret> {
    const slot = ChipSecret.slot(master, this, "master", this.#generation);
    const check = await this.finished(master, "client finished", EXPORT_CHECK_HASH);
    return { kind: CHIP_MASTER_SECRET, data: Uint8Array.of(slot >> 8, slot & 0xff, ...check) };
  }

  /**
   * A handle to an exported master secret, once the chip shows its slot still holds it: the
   * check value must come out the same.
   */
  async importMaster(portable: PortableMasterSecret): Promise<MasterSecretHandle> {
    if (portable.kind !== CHIP_MASTER_SECRET) {
      throw new SessionImportError(
        "provider",
        `a "${portable.kind}" master secret cannot be taken into the chip (policy full)`,
      );
    }
    if (portable.data.length !== 14) {
      throw new SessionImportError("malformed", "a chip master secret is a slot and 12 bytes");
    }
    const slot = (portable.data[0]! << 8) | portable.data[1]!;
    const handle = new ChipSecret("master", slot, this, this.#generation);
    let check: Uint8Array;
    try {
      check = await this.finished(handle, "client finished", EXPORT_CHECK_HASH);
    } catch (e) {
      if (!(e instanceof ApduError)) throw e;
      throw new SessionImportError(
        "lost",
        `the chip no longer holds the session's master secret (slot ${slot}: ${e.message})`,
        { cause: e },
      );
    }
    if (!constantTimeEqual(check, portable.data.subarray(2))) {
      throw new SessionImportError(
        "lost",
        `the chip's slot ${slot} holds another secret now (a new session, or the chip was reset)`,
      );
    }
    this.#keysInChip = true;
    return handle;
  }

  release(handle: PremasterHandle | MasterSecretHandle): Promise<void> {
    const released = ChipSecret.release(handle, this);
    if (released?.generation === this.#generation) this.#freeable.push(released.slot);
    return Promise.resolve();
  }
}

/**
 * The applet's key schedule is the SHA-256 PRF with a CBC-HMAC key block (the vendor's
 * mtls.c knows no other): a SHA-384 or AEAD suite never reaches it, as the provider offers
 * only {@linkcode CHIP_CIPHER_SUITES}; this refuses one that is asked for anyway.
 */
function requireSha256Prf(prfHash: PrfHash | undefined): void {
  if (prfHash !== undefined && prfHash !== "sha256") {
    throw new TypeError(`the chip's PRF is SHA-256 only, not ${prfHash}`);
  }
}

function chipSuite(suite: CipherSuite): void {
  if (!CHIP_CIPHER_SUITES.includes(suite) && !CHIP_GCM_SUITES.includes(suite)) {
    throw new TypeError(`${suite.name} is not a suite the chip keys`);
  }
}
