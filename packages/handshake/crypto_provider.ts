/**
 * The seam between the handshake and whoever holds the secrets: host software, or a MULTOS
 * secure element reached over a serial link.
 *
 * # Contract
 *
 * Every method is asynchronous, because a chip answers over a slow link. The handshake calls
 * them in this order for a full handshake:
 *
 * 1. {@linkcode CryptoProvider.random} for ClientHello.random (and nothing else of ours).
 * 2. {@linkcode CryptoProvider.encryptPremaster} once the server certificate is verified (RSA
 *    key exchange), or {@linkcode CryptoProvider.keyAgreement} once the server's signed
 *    ServerKeyExchange is verified and its public key checked (ECDHE).
 * 3. {@linkcode CryptoProvider.masterSecret}; the handshake then releases the premaster handle.
 * 4. {@linkcode CryptoProvider.recordKeys} for the new epoch's protectors.
 * 5. {@linkcode CryptoProvider.finished} for the client's and then the server's verify_data.
 * 6. With a CertificateRequest: {@linkcode CryptoProvider.certificateChain} and
 *    {@linkcode CryptoProvider.sign} between steps 3 and 4.
 *
 * An abbreviated (resumed) handshake reuses a master handle kept in the session cache and calls
 * only steps 1, 4 and 5. The handshake calls {@linkcode CryptoProvider.release} on every handle
 * it no longer needs (failed handshakes included, and ones its driver ends with
 * `ClientHandshake.abort()`); the session cache releases the master handle when it evicts the
 * session.
 *
 * # Handles
 *
 * Secrets cross this seam only as opaque handles. A handle is an object the provider made; the
 * handshake only passes it back to the same provider and never reads bytes from it.
 * - In software a handle wraps the secret bytes in a private field, and `release` zeroes them.
 * - In the chip a handle names a key slot (or a session object) inside the secure element;
 *   `release` tells the chip to erase that slot.
 *
 * A provider must reject a handle it did not make, or one already released, with an error.
 *
 * @module
 */

import type { CipherSuite, PrfHash, RecordProtector } from "@anchortls/record";
import type { PublicKeyInfo } from "@anchortls/x509";
import type { FinishedLabel, MasterSecretContext } from "./key_schedule.ts";

/**
 * Where keys and cryptography live (see the design notes):
 * - `software`: everything on the host CPU.
 * - `hybrid`: premaster, master secret, client key and signing in the chip; record keys are
 *   exported to the host so records are protected at host speed.
 * - `full`: everything in the chip, record protection included.
 */
export type CryptoPolicy = "software" | "hybrid" | "full";

/**
 * An opaque reference to a secret the provider holds.
 *
 * Software: the bytes, in a private field. Chip: the name of the slot holding them.
 */
export interface SecretHandle<Kind extends "premaster" | "master"> {
  /** Which secret this is. */
  readonly kind: Kind;
}

/**
 * A handle to a premaster secret: 48 bytes (client_version ‖ 46 random bytes) for RSA key
 * exchange, the ECDH shared secret (32 or 48 bytes) for ECDHE.
 */
export type PremasterHandle = SecretHandle<"premaster">;
/** A handle to a 48-byte master secret. */
export type MasterSecretHandle = SecretHandle<"master">;

/**
 * A master secret in the form its provider can carry across processes, for
 * `exportSession`/`importSession`: the provider that exports it decides what `data` holds.
 */
export interface PortableMasterSecret {
  /**
   * Where the secret lives, so only a provider of the same kind takes it back: `host` (the
   * bytes themselves) or `multos-chip` (a chip slot).
   */
  readonly kind: string;
  /** What that kind of provider needs to get the secret back. */
  readonly data: Uint8Array;
}

/** What {@linkcode CryptoProvider.encryptPremaster} returns. */
export interface EncryptedPremaster {
  /** RSAES-PKCS1-v1_5 encryption of the premaster under the server key, as long as the modulus. */
  readonly encrypted: Uint8Array;
  /** The premaster itself, as a handle. */
  readonly premaster: PremasterHandle;
}

/** What {@linkcode CryptoProvider.keyAgreement} returns. */
export interface KeyAgreement {
  /**
   * Our ephemeral public key as ClientKeyExchange carries it: the uncompressed point for the
   * NIST curves, 32 bytes for X25519.
   */
  readonly publicKey: Uint8Array;
  /** The shared secret (the x-coordinate, or the X25519 output) as a premaster handle. */
  readonly premaster: PremasterHandle;
}

/** The two hello randoms a key block is bound to. */
export interface HelloRandoms {
  /** ClientHello.random, 32 bytes. */
  readonly clientRandom: Uint8Array;
  /** ServerHello.random, 32 bytes. */
  readonly serverRandom: Uint8Array;
}

/** Options for {@linkcode CryptoProvider.recordKeys}. */
export interface RecordKeyOptions {
  /** True when the server echoed encrypt_then_mac (RFC 7366). */
  readonly encryptThenMac: boolean;
}

/** The protectors of one new epoch, one per direction. */
export interface RecordKeys {
  /** Protects what the client sends (seal) — the handshake installs it as the write side. */
  readonly client: RecordProtector;
  /** Unprotects what the server sends (open) — installed as the read side. */
  readonly server: RecordProtector;
}

/** A provider's operations, by method; record protection counts as `seal` and `open`. */
export type ProviderOperation =
  | "random"
  | "encryptPremaster"
  | "keyAgreement"
  | "masterSecret"
  | "recordKeys"
  | "finished"
  | "certificateChain"
  | "sign"
  | "seal"
  | "open";

/** Where each of a provider's operations runs: on the host CPU or in a secure element. */
export type Placement = Readonly<Record<ProviderOperation, "host" | "chip">>;

/**
 * What a provider's record protectors need of the connection: a chip that MACs a record in one
 * command can take only so many bytes, and one whose MAC input shows the padding length on its
 * bus needs Encrypt-then-MAC.
 */
export interface RecordRequirements {
  /** Most plaintext bytes one record may carry, in either direction. */
  readonly maxPlaintext: number;
  /** CBC suites must run with Encrypt-then-MAC; a server that refuses it fails the handshake. */
  readonly encryptThenMac: boolean;
  /** Why, and the option that lifts `encryptThenMac`, for the error a user reads. */
  readonly encryptThenMacReason?: string;
}

/**
 * Holds the premaster and master secrets, derives record keys and Finished values, and signs
 * for client authentication. Implemented in software by `SoftwareCryptoProvider` and in a
 * secure element by `@anchortls/multos-apdu`.
 */
export interface CryptoProvider {
  /** Where this provider keeps secrets. */
  readonly policy: CryptoPolicy;

  /**
   * Signature schemes {@linkcode CryptoProvider.sign} can make, in order of preference; empty
   * when the provider has no client certificate.
   */
  readonly signatureSchemes: readonly number[];

  /**
   * The suites this provider can key, in any order; the handshake offers only these (and a
   * `suites` option naming another is refused). Absent means the four RSA key transport
   * AES-CBC suites, all a provider could do before ECDHE and AEADs.
   */
  readonly cipherSuites?: readonly CipherSuite[] | undefined;

  /**
   * The named groups {@linkcode CryptoProvider.keyAgreement} computes on; without it (or without
   * `keyAgreement`) no ECDHE suite is offered.
   */
  readonly groups?: readonly number[] | undefined;

  /**
   * Limits of this provider's record protectors; absent when it has none (host software).
   * The handshake offers max_fragment_length and record_size_limit within `maxPlaintext`
   * unless told otherwise, never sends a larger record, and enforces `encryptThenMac`.
   */
  readonly recordRequirements?: RecordRequirements | undefined;

  /**
   * Where each operation runs, as data a user can print; absent means everything on the host.
   * A policy label follows from it (`hybrid`: only the identity in the chip).
   */
  readonly placement?: Placement | undefined;

  /**
   * Returns cryptographically strong random bytes (from the chip's generator in a chip).
   *
   * @param length How many bytes.
   * @returns The bytes.
   */
  random(length: number): Promise<Uint8Array>;

  /**
   * Makes a premaster secret (client_version ‖ 46 random bytes, RFC 5246 §7.4.7.1: `0x03 0x03`
   * in TLS 1.2, `0xfe 0xfd` in DTLS 1.2) and encrypts it with RSAES-PKCS1-v1_5 under the
   * server's key.
   *
   * Software: random bytes on the host, kept in the handle. Chip: generated in a slot and
   * encrypted inside the chip; only the ciphertext leaves.
   *
   * @param serverKey The verified server certificate's RSA public key.
   * @param clientVersion The ClientHello's client_version. @default {0x0303}
   * @returns The ciphertext for ClientKeyExchange, and the premaster's handle.
   */
  encryptPremaster(serverKey: PublicKeyInfo, clientVersion?: number): Promise<EncryptedPremaster>;

  /**
   * ECDHE (RFC 8422 §5.10): makes an ephemeral key pair on `group`, computes the shared secret
   * with the server's public key and keeps it as the premaster. The ephemeral private key is
   * used once and erased; it never leaves the provider.
   *
   * The handshake calls it only with a group of {@linkcode CryptoProvider.groups} and a public
   * key it has checked (length, uncompressed form, on the curve).
   *
   * @param group The named group the server chose.
   * @param peerPublicKey The server's ephemeral public key from ServerKeyExchange.
   * @returns Our public key for ClientKeyExchange, and the premaster's handle.
   * @throws {TlsAlertError} `illegal_parameter` when the shared secret is all zeros (an X25519
   *   key of small order, RFC 7748 §6.1).
   */
  keyAgreement?(group: number, peerPublicKey: Uint8Array): Promise<KeyAgreement>;

  /**
   * Derives the master secret from the premaster (RFC 5246 §8.1, or RFC 7627 §4 with EMS).
   *
   * @param premaster A handle from {@linkcode CryptoProvider.encryptPremaster}.
   * @param context The randoms, or the session hash when EMS was negotiated; the PRF hash.
   * @returns The master secret's handle (software: the 48 bytes; chip: a slot).
   */
  masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle>;

  /**
   * Expands the master secret into the key block and returns protectors for the new epoch.
   *
   * Software and `hybrid`: protectors built on exported keys, sealing on the host. `full`:
   * protectors whose seal/open send each record to the chip.
   *
   * @param master The master secret's handle.
   * @param suite The negotiated suite.
   * @param randoms ClientHello.random and ServerHello.random of this handshake.
   * @param options Whether Encrypt-then-MAC was negotiated.
   * @returns The client (write) and server (read) protectors.
   */
  recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys>;

  /**
   * Computes Finished verify_data, `PRF(master, label, transcriptHash)[0..12)`.
   *
   * @param master The master secret's handle.
   * @param label `"client finished"` or `"server finished"`.
   * @param transcriptHash The PRF hash of the handshake messages before this Finished.
   * @param prfHash The suite's PRF hash; the handshake always passes it. @default {"sha256"}
   * @returns The 12-byte verify_data.
   */
  finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    transcriptHash: Uint8Array,
    prfHash?: PrfHash,
  ): Promise<Uint8Array>;

  /**
   * The client certificate chain, leaf first, as DER; empty when there is none.
   *
   * @returns The chain (software: given at construction; chip: read from its storage).
   */
  certificateChain(): Promise<Uint8Array[]>;

  /**
   * Signs for CertificateVerify with the client's private key, which never leaves the provider.
   *
   * @param scheme One of {@linkcode CryptoProvider.signatureSchemes}.
   * @param data The bytes to sign: all handshake messages so far. The provider hashes them as
   *   the scheme says.
   * @returns The signature as TLS carries it (DER for ECDSA, the raw block for RSA).
   */
  sign(scheme: number, data: Uint8Array): Promise<Uint8Array>;

  /**
   * A copy of a master secret's bytes, for the NSS key log (`keyLog`) and nothing else. A
   * provider whose master secret never leaves it leaves this out (or places `masterSecret`
   * in the chip); a handshake asked for a key log then refuses to start.
   *
   * @param master A master secret handle this provider made.
   * @returns The 48 bytes; the caller wipes them.
   */
  revealMasterSecret?(master: MasterSecretHandle): Promise<Uint8Array>;

  /**
   * The premaster of a PSK key exchange (RFC 4279 §2): the key with zeros as other_secret, or
   * with an ECDHE premaster this provider made (RFC 5489 §2), which stays the caller's to
   * release. Absent on a provider that cannot take a pre-shared key (the MULTOS applet in
   * `full`: its premasters come only from its own random or ECDH).
   *
   * @param key The pre-shared key.
   * @param ecdhe ECDHE_PSK: the ECDH premaster from `keyAgreement`.
   * @returns The premaster handle.
   */
  pskPremaster?(key: Uint8Array, ecdhe?: PremasterHandle): Promise<PremasterHandle>;

  /**
   * Gives a master secret a form that survives the process (see `exportSession`): in software
   * the 48 bytes themselves, so what it returns is a secret; a chip names the slot that
   * keeps it, and the secret stays inside. Absent on a provider whose sessions cannot outlive
   * it.
   *
   * @param master A master secret handle this provider made.
   * @returns The portable form.
   */
  exportMasterSecret?(master: MasterSecretHandle): Promise<PortableMasterSecret>;

  /**
   * Takes back a master secret {@linkcode CryptoProvider.exportMasterSecret} gave out (by this
   * provider or an earlier one of its kind, e.g. before a restart).
   *
   * @param portable The portable form.
   * @returns A handle to the secret.
   * @throws {SessionImportError} `provider` for another kind's secret, `lost` when the chip no
   * longer holds it.
   */
  importMasterSecret?(portable: PortableMasterSecret): Promise<MasterSecretHandle>;

  /**
   * Erases a secret: zeroes its bytes in software, clears its slot in the chip. Releasing a
   * handle twice is harmless.
   *
   * @param handle A handle this provider made.
   */
  release(handle: PremasterHandle | MasterSecretHandle): Promise<void>;
}
