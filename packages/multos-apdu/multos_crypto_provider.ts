/**
 * The handshake's `CryptoProvider` backed by a MULTOS Trust Anchor, as a composition: the
 * device's identity (certificate chain and signing key) is always the chip's; the session
 * cryptography is the chip's (`full`) or the host's (`hybrid`).
 *
 * @module
 */

import {
  type CryptoPolicy,
  type CryptoProvider,
  type EncryptedPremaster,
  type FinishedLabel,
  type HelloRandoms,
  type KeyAgreement,
  type MasterSecretContext,
  type MasterSecretHandle,
  type Placement,
  type PortableMasterSecret,
  type PremasterHandle,
  type ProviderOperation,
  type RecordKeyOptions,
  type RecordKeys,
  type RecordRequirements,
  SoftwareCryptoProvider,
} from "@anchortls/handshake";
import type { CipherSuite, PrfHash } from "@anchortls/record";
import { parseCertificate, type PublicKeyInfo } from "@anchortls/x509";
import { ChipAccess } from "./_chip_access.ts";
import { ChipIdentity, defaultDeviceSchemes, type DeviceKeyKind } from "./_chip_identity.ts";
import {
  CHIP_CIPHER_SUITES,
  CHIP_GCM_SUITES,
  CHIP_GROUPS,
  ChipSessionCrypto,
} from "./_chip_session_crypto.ts";
import { ApduError } from "./apdu_error.ts";
import type { ApduTransmitter } from "./channel.ts";
import { StatusWord } from "./status_word.ts";
import { TrustCore, type TrustCoreOptions } from "./trust_core.ts";
import {
  DEVICE_CERTIFICATE_FILE,
  DEVICE_EC_KEY_FILE,
  DEVICE_KEY_FILE,
} from "./trust_core_constants.ts";

/** What the device key is, from the leaf's public key; RSA when there is no certificate. */
function deviceKeyKind(leaf: Uint8Array | undefined): DeviceKeyKind {
  if (!leaf) return "rsa";
  const key = parseCertificate(leaf).publicKey;
  if (key.kind === "ec") return key.curve;
  if (key.kind === "rsa") return "rsa";
  throw new TypeError(`the chip's certificate holds a key it cannot sign with (${key.algorithm})`);
}

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
  /** The device's private key file. @default {0x6100 for an RSA leaf, 0x6300 for an EC one} */
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
  /**
   * `full` only: the suites the chip keys and the provider offers: any of the chip's AES-GCM
   * suites ({@linkcode CHIP_GCM_SUITES}: ECDHE_ECDSA, ECDHE_RSA and RSA key transport) and its
   * RSA AES-CBC suites ({@linkcode CHIP_CIPHER_SUITES}). With an ECDHE suite the chip also does
   * the key agreement, over P-256 and P-384.
   * @default {CHIP_GCM_SUITES, then CHIP_CIPHER_SUITES}
   */
  chipSuites?: readonly CipherSuite[];
  /**
   * `full` only: keep the chip's TLS keys across processes — no ERASE TLS KEYS on open (an
   * earlier process's keys stay) nor on close (this one's stay) — so a session exported with
   * `exportSession` can be imported later and resumed with its master secret still in the
   * chip, as long as the chip is not reset. By default open and close erase them, so no
   * process inherits another's session secrets, and importing fails with
   * `SessionImportError("lost")`. The next full handshake erases them either way.
   * @default {false}
   */
  keepSessionKeys?: boolean;
}

/** The session half of a provider: who makes and holds the TLS secrets. */
type SessionCrypto = Pick<
  CryptoProvider,
  "random" | "encryptPremaster" | "masterSecret" | "recordKeys" | "finished" | "release"
>;

const SESSION_OPERATIONS: readonly ProviderOperation[] = [
  "random",
  "encryptPremaster",
  "keyAgreement",
  "masterSecret",
  "recordKeys",
  "finished",
  "seal",
  "open",
];

/** Where each operation runs, from where the session crypto lives (the identity is the chip's). */
function placementOf(sessionInChip: boolean): Placement {
  const where = (op: ProviderOperation) =>
    op === "certificateChain" || op === "sign" || (sessionInChip && SESSION_OPERATIONS.includes(op))
      ? "chip"
      : "host";
  const all: ProviderOperation[] = [...SESSION_OPERATIONS, "certificateChain", "sign"];
  return Object.freeze(Object.fromEntries(all.map((op) => [op, where(op)]))) as Placement;
}

/**
 * A `CryptoProvider` whose secrets live in a MULTOS Trust Anchor: the chip's identity (device
 * key and certificate chain) composed with session cryptography in the chip (`full`) or on the
 * host (`hybrid`). {@linkcode MultosCryptoProvider.placement} says what runs where.
 *
 * `full` runs one TLS session's keys in the chip at a time, as the vendor's offload does: each
 * new full handshake starts with ERASE TLS KEYS when an earlier one left keys behind, and
 * handles of the erased session are refused. Each record costs one MAC and one cipher command
 * plus the security-environment entries that change, and an IV from a pooled GET RANDOM;
 * records carry at most 2048 bytes so each fits one chip command, and Encrypt-then-MAC is
 * required (see `allowMacThenEncrypt`).
 *
 * `release` marks a handle unusable; the chip frees slots on ERASE TLS KEYS (next handshake or
 * {@linkcode MultosCryptoProvider.close}). A full handshake takes six of the applet's secret
 * slots (ten in the vendor's header) and each abbreviated handshake on the kept master secret
 * four more. When the chip runs out (`6381` or `6A84`), the provider deletes released secrets
 * and earlier connections' record keys (DELETE EF on their handles, which are key file IDs;
 * unconfirmed for session keys by the vendor sources) and retries, so those connections'
 * protectors stop working.
 *
 * When the transport resets the chip (it does to recover a lost answer), the chip's RAM is
 * gone: every handle and protector is refused, and the applet is selected and the PIN verified
 * again before the next command.
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
 * provider.placement.sign; // "chip"
 * await provider.close();
 * ```
 */
export class MultosCryptoProvider implements CryptoProvider {
  /** `full` (session crypto in the chip) or `hybrid` (on the host), from the composition. */
  readonly policy: CryptoPolicy;
  /** Where each operation runs. */
  readonly placement: Placement;
  /**
   * In `full`: records of at most 2048 plaintext bytes, so each fits one chip command, and
   * Encrypt-then-MAC unless `allowMacThenEncrypt`. None in `hybrid`.
   */
  readonly recordRequirements: RecordRequirements | undefined;
  /**
   * `full`: the `chipSuites` (by default the chip's three AES-GCM suites, then its four RSA
   *   AES-CBC suites).
   * `hybrid`: every suite, as the session runs on the host.
   */
  readonly cipherSuites: readonly CipherSuite[];
  /** ECDHE groups: the chip's P-256 and P-384 in `full` with an ECDHE chip suite, none without; the host's in `hybrid`. */
  readonly groups: readonly number[];
  /**
   * `hybrid` only: the PSK premaster on the host (RFC 4279). Absent in `full`: the vendor's
   * applet makes premasters only from its own random (GENERATE KEY 03) or by ECDH (tc_api.c
   * tcGeneratePreMasterSecret, tcGeneratePreMasterSecretAlgo) and has no command that takes
   * a pre-shared key, so PSK suites run in software or `hybrid` only.
   */
  readonly pskPremaster?: (key: Uint8Array, ecdhe?: PremasterHandle) => Promise<PremasterHandle>;
  readonly #access: ChipAccess;
  readonly #identity: ChipIdentity;
  readonly #session: SessionCrypto;
  readonly #chipSession: ChipSessionCrypto | undefined;
  /** The PIN, kept to verify it again after a chip reset; zeroed on close. */
  readonly #pin: Uint8Array | undefined;
  #closed = false;
  readonly #keepSessionKeys: boolean;

  private constructor(
    access: ChipAccess,
    identity: ChipIdentity,
    options: MultosCryptoProviderOptions,
  ) {
    this.#access = access;
    this.#identity = identity;
    this.#pin = options.pin === undefined
      ? undefined
      : typeof options.pin === "string"
      ? new TextEncoder().encode(options.pin)
      : options.pin.slice();
    this.#keepSessionKeys = options.policy === "full" && (options.keepSessionKeys ?? false);
    if (options.policy === "full") {
      this.#chipSession = new ChipSessionCrypto(access, {
        allowMacThenEncrypt: options.allowMacThenEncrypt ?? false,
        restoreEnvironment: options.restoreEnvironment ?? 2,
        keysFromEarlierProcess: options.keepSessionKeys ?? false,
      });
      this.#session = this.#chipSession;
      this.recordRequirements = this.#chipSession.recordRequirements;
      const suites = options.chipSuites ?? [...CHIP_GCM_SUITES, ...CHIP_CIPHER_SUITES];
      const unknown = suites.find((suite) =>
        !CHIP_CIPHER_SUITES.includes(suite) && !CHIP_GCM_SUITES.includes(suite)
      );
      if (unknown) throw new TypeError(`${unknown.name} is not a suite the chip keys`);
      this.cipherSuites = suites;
      this.groups = suites.some((suite) => suite.keyExchange !== "rsa") ? CHIP_GROUPS : [];
    } else {
      this.#chipSession = undefined;
      const host = new SoftwareCryptoProvider(options.random ? { random: options.random } : {});
      this.#session = host;
      this.recordRequirements = undefined;
      this.cipherSuites = host.cipherSuites;
      this.groups = host.groups;
      this.pskPremaster = (key, ecdhe) => host.pskPremaster(key, ecdhe);
    }
    this.placement = placementOf(this.#chipSession !== undefined);
    this.policy = this.#chipSession ? "full" : "hybrid";
  }

  /**
   * Opens a provider: selects the applet, verifies the PIN, erases any TLS keys an earlier
   * host process left, and reads the client certificate chain from the chip's files once (a
   * file that cannot be selected ends the chain; none means no client certificate).
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
    // A host that restarted must not inherit an earlier process's session secrets, unless it
    // asked to resume one of them.
    if (!(options.keepSessionKeys && options.policy === "full")) await chip.eraseTlsKeys();
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
    const access = new ChipAccess(chip);
    const kind = deviceKeyKind(chain[0]);
    const identity = new ChipIdentity(
      access,
      chain,
      options.deviceKeyFile ?? (kind === "rsa" ? DEVICE_KEY_FILE : DEVICE_EC_KEY_FILE),
      options.signatureSchemes ?? defaultDeviceSchemes(kind),
      kind,
    );
    const provider = new MultosCryptoProvider(access, identity, options);
    chip.onChipReset(() => provider.#recoverFromReset());
    return provider;
  }

  /** After a chip reset: the session's keys are gone; select and verify again. */
  async #recoverFromReset(): Promise<void> {
    this.#chipSession?.chipReset();
    if (this.#closed) return;
    await this.#access.chip.select();
    if (this.#pin) await this.#access.chip.verifyPin(this.#pin);
  }

  /** The Trust Core client, for its link counters. */
  get trustCore(): TrustCore {
    return this.#access.chip;
  }

  /**
   * Schemes the device key signs with (PKCS#1 v1.5 first unless `signatureSchemes` says
   * otherwise); empty without a stored certificate.
   */
  get signatureSchemes(): readonly number[] {
    return this.#identity.signatureSchemes;
  }

  /**
   * Random bytes: from the chip's generator (`full`, pooled 240 bytes per GET RANDOM), or the
   * host's (`hybrid`).
   *
   * @param length How many bytes.
   * @returns The bytes.
   */
  random(length: number): Promise<Uint8Array> {
    return this.#session.random(length);
  }

  /**
   * Makes the premaster. `full`: loads the server key into the chip, generates the premaster
   * there and wraps it under that key; only the ciphertext leaves. `hybrid`: on the host.
   *
   * @param serverKey The verified server certificate's RSA key (exponent of at most 3 bytes).
   * @param clientVersion The ClientHello's version (0xfefd in DTLS 1.2). @default {0x0303}
   * @returns The ciphertext and the premaster handle.
   */
  encryptPremaster(
    serverKey: PublicKeyInfo,
    clientVersion: number = 0x0303,
  ): Promise<EncryptedPremaster> {
    return this.#session.encryptPremaster(serverKey, clientVersion);
  }

  /**
   * ECDHE: in the chip in `full` (with an ECDHE suite among `chipSuites`), on the host in `hybrid`.
   *
   * @param group The server's group.
   * @param peerPublicKey The server's checked public key.
   * @returns Our public key and the premaster handle.
   */
  keyAgreement(group: number, peerPublicKey: Uint8Array): Promise<KeyAgreement> {
    if (this.#chipSession) {
      if (this.groups.length === 0) {
        return Promise.reject(new TypeError("no ECDHE suite is among this provider's chipSuites"));
      }
      return this.#chipSession.keyAgreement(group, peerPublicKey);
    }
    return (this.#session as SoftwareCryptoProvider).keyAgreement(group, peerPublicKey);
  }

  /**
   * Derives the master secret (standard or extended) in the chip, or on the host in `hybrid`.
   *
   * @param premaster The premaster handle.
   * @param context The randoms, or the session hash with EMS.
   * @returns The master secret handle.
   */
  masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    return this.#session.masterSecret(premaster, context);
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
  recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    return this.#session.recordKeys(master, suite, randoms, options);
  }

  /**
   * Computes Finished verify_data in the chip (`full`) or on the host (`hybrid`).
   *
   * @param master The master secret handle.
   * @param label Whose Finished.
   * @param transcriptHash The PRF hash of the transcript so far.
   * @param prfHash The suite's PRF hash; SHA-256 only in `full`. @default {"sha256"}
   * @returns 12 bytes.
   */
  finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    transcriptHash: Uint8Array,
    prfHash?: PrfHash,
  ): Promise<Uint8Array> {
    return this.#session.finished(master, label, transcriptHash, prfHash);
  }

  /**
   * The client chain read from the chip when the provider opened.
   *
   * @returns DER certificates, leaf first; empty when none is stored.
   */
  certificateChain(): Promise<Uint8Array[]> {
    return this.#identity.certificateChain();
  }

  /**
   * Signs with the device key in the chip. The host hashes the data (the hash is not secret);
   * the chip pads (PKCS#1 v1.5 around the DigestInfo, or PSS with a fresh salt) and signs.
   *
   * @param scheme One of {@linkcode MultosCryptoProvider.signatureSchemes}.
   * @param data The handshake messages to sign.
   * @returns The signature.
   */
  sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#identity.sign(scheme, data);
  }

  /**
   * A copy of a master secret, for the key log: in `hybrid` only, where it lives on the host.
   * In `full` it never leaves the chip, and a handshake asked for a key log refuses to start.
   *
   * @param master A master secret handle from this provider.
   * @returns The 48 bytes; the caller wipes them.
   * @throws {TypeError} In `full`.
   */
  revealMasterSecret(master: MasterSecretHandle): Promise<Uint8Array> {
    if (!(this.#session instanceof SoftwareCryptoProvider)) {
      return Promise.reject(new TypeError("the master secret never leaves the chip (policy full)"));
    }
    return this.#session.revealMasterSecret(master);
  }

  /**
   * A master secret in a form that survives the process, for `exportSession`: in `full` its
   * chip slot and a check value (the secret stays in the chip); in `hybrid` the host's bytes.
   *
   * @param master A master secret handle from this provider.
   * @returns The portable form.
   */
  exportMasterSecret(master: MasterSecretHandle): Promise<PortableMasterSecret> {
    if (this.#chipSession) return this.#chipSession.exportMaster(master);
    return (this.#session as SoftwareCryptoProvider).exportMasterSecret(master);
  }

  /**
   * Takes back an exported master secret: in `full` after checking the chip's slot still holds
   * it (open the provider with `keepSessionKeys`, or the chip has erased it).
   *
   * @param portable What `exportMasterSecret` returned, in this process or an earlier one.
   * @returns A handle.
   * @throws {SessionImportError} `lost` when the chip no longer holds it, `provider` for a
   * secret of the other policy.
   */
  importMasterSecret(portable: PortableMasterSecret): Promise<MasterSecretHandle> {
    if (this.#chipSession) return this.#chipSession.importMaster(portable);
    return (this.#session as SoftwareCryptoProvider).importMasterSecret(portable);
  }

  /**
   * Marks a handle released (`full`) or zeroes it (`hybrid`).
   *
   * @param handle A handle from this provider.
   * @returns When done.
   */
  release(handle: PremasterHandle | MasterSecretHandle): Promise<void> {
    return this.#session.release(handle);
  }

  /**
   * Leaves the chip as the vendor does at the end of a session (mtls.c mtlsFinish): ERASE TLS
   * KEYS (unless `keepSessionKeys`), then DESELECT. Every handle and protector of this
   * provider stops working. Closing twice is harmless.
   *
   * @returns When erased and deselected.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pin?.fill(0);
    await this.#access.exclusive(async (chip) => {
      if (this.#keepSessionKeys) this.#chipSession?.chipReset();
      else if (this.#chipSession) await this.#chipSession.erase(chip);
      else await chip.eraseTlsKeys();
      await chip.deselect();
    });
  }
}
