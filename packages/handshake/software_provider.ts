/**
 * A {@linkcode CryptoProvider} that keeps every secret in host memory: premaster and master
 * secrets in private fields of their handles, record keys in the record layer's protectors,
 * ECDHE ephemeral keys and the client key in WebCrypto.
 *
 * @module
 */

import {
  AlertDescription,
  type CipherSuite,
  CipherSuites,
  type PrfHash,
  protectorForSuite,
  PskCipherSuites,
  TlsAlertError,
} from "@anchortls/record";
import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import type { PublicKeyInfo } from "@anchortls/x509";
import type {
  CryptoPolicy,
  CryptoProvider,
  EncryptedPremaster,
  HelloRandoms,
  KeyAgreement,
  MasterSecretHandle,
  PortableMasterSecret,
  PremasterHandle,
  RecordKeyOptions,
  RecordKeys,
} from "./crypto_provider.ts";
import {
  deriveKeyBlock,
  deriveMasterSecret,
  type FinishedLabel,
  finishedVerifyData,
  type MasterSecretContext,
} from "./key_schedule.ts";
import { NamedGroup } from "./named_group.ts";
import { SessionImportError } from "./session_import_error.ts";
import { pskPremasterBytes } from "./psk.ts";
import { rsaesPkcs1v15Encrypt } from "./rsa_pkcs1.ts";
import { SigningKey } from "./signing_key.ts";

const PREMASTER_LENGTH = 48;

/** Every suite the record layer protects: this provider keys them all. */
const ALL_SUITES: readonly CipherSuite[] = [
  ...Object.values(CipherSuites),
  ...Object.values(PskCipherSuites),
];

/** ECDH from a private key drawn from a given source (@noble/curves), for replayable tests. */
interface SeededCurve {
  secretKey(random: (length: number) => Uint8Array): Uint8Array;
  publicKey(secret: Uint8Array): Uint8Array;
  /** The shared secret; all zeros when the peer's key has small order. */
  sharedSecret(secret: Uint8Array, peer: Uint8Array): Uint8Array;
}

function nistCurve(curve: typeof p256 | typeof p384): SeededCurve {
  return {
    secretKey: (random) => curve.utils.randomSecretKey(random(curve.lengths.seed!)),
    publicKey: (secret) => curve.getPublicKey(secret, false),
    // The x-coordinate of the shared point (RFC 8422 §5.10): the compressed form without its
    // prefix byte.
    sharedSecret: (secret, peer) => curve.getSharedSecret(secret, peer, true).subarray(1),
  };
}

const seededX25519: SeededCurve = {
  secretKey: (random) => random(32),
  publicKey: (secret) => x25519.getPublicKey(secret),
  sharedSecret: (secret, peer) => {
    try {
      return x25519.getSharedSecret(secret, peer);
    } catch {
      // noble refuses a zero output; the caller's check names the failure.
      return new Uint8Array(32);
    }
  },
};

/** ECDH on each group: WebCrypto's algorithm, the shared secret's bits, the seeded form. */
const ECDH_GROUPS: ReadonlyMap<
  number,
  {
    readonly webCrypto: EcKeyGenParams | Algorithm;
    readonly bits: number;
    readonly seeded: SeededCurve;
  }
> = new Map([
  [NamedGroup.x25519, { webCrypto: { name: "X25519" }, bits: 256, seeded: seededX25519 }],
  [
    NamedGroup.secp256r1,
    { webCrypto: { name: "ECDH", namedCurve: "P-256" }, bits: 256, seeded: nistCurve(p256) },
  ],
  [
    NamedGroup.secp384r1,
    { webCrypto: { name: "ECDH", namedCurve: "P-384" }, bits: 384, seeded: nistCurve(p384) },
  ],
]);

/** A secret held in host memory; only the provider that made it can read it. */
/** The kind of a master secret exported with its bytes (software and `hybrid`). */
export const HOST_MASTER_SECRET = "host";

class SoftwareSecret<Kind extends "premaster" | "master"> {
  readonly kind: Kind;
  #bytes: Uint8Array | undefined;
  readonly #owner: SoftwareCryptoProvider;

  constructor(kind: Kind, bytes: Uint8Array, owner: SoftwareCryptoProvider) {
    this.kind = kind;
    this.#bytes = bytes;
    this.#owner = owner;
  }

  static reveal(handle: unknown, owner: SoftwareCryptoProvider, kind: string): Uint8Array {
    if (!(handle instanceof SoftwareSecret) || handle.#owner !== owner || handle.kind !== kind) {
      throw new TypeError(`not a ${kind} handle of this provider`);
    }
    if (!handle.#bytes) throw new TypeError(`${kind} handle was released`);
    return handle.#bytes;
  }

  static erase(handle: unknown, owner: SoftwareCryptoProvider): void {
    if (!(handle instanceof SoftwareSecret) || handle.#owner !== owner) {
      throw new TypeError("not a handle of this provider");
    }
    handle.#bytes?.fill(0);
    handle.#bytes = undefined;
  }

  toString(): string {
    return `SoftwareSecret(${this.kind}, ${this.#bytes ? "held" : "released"})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/** A client certificate and its key, for {@linkcode SoftwareCryptoProvider.create}. */
export interface SoftwareClientCertificate {
  /** The chain, leaf first, as DER. */
  readonly chain: readonly Uint8Array[];
  /** The private key: PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`) or PKCS#8 DER. */
  readonly privateKey: string | Uint8Array;
}

/** Options for {@linkcode SoftwareCryptoProvider}. */
export interface SoftwareCryptoProviderOptions {
  /**
   * Random source; tests pass a deterministic one.
   * @default {crypto.getRandomValues}
   */
  readonly random?: (length: number) => Uint8Array;
}

/**
 * Runs the whole key exchange on the host with `@noble/hashes`, WebCrypto and BigInt RSA.
 *
 * @example Without a client certificate
 * ```ts
 * import { SoftwareCryptoProvider } from "@anchortls/handshake";
 * const provider = new SoftwareCryptoProvider();
 * (await provider.random(32)).length; // 32
 * ```
 */
export class SoftwareCryptoProvider implements CryptoProvider {
  /** Everything lives on the host. */
  readonly policy: CryptoPolicy = "software";
  /** Every suite the record layer protects, the PSK suites included. */
  readonly cipherSuites: readonly CipherSuite[] = ALL_SUITES;
  /** X25519, P-256 and P-384. */
  readonly groups: readonly number[] = [...ECDH_GROUPS.keys()];
  readonly #random: (length: number) => Uint8Array;
  readonly #ivSource: ((length: number) => Uint8Array) | undefined;
  readonly #chain: readonly Uint8Array[];
  readonly #key: SigningKey | undefined;

  /**
   * Creates a provider without a client certificate.
   *
   * @param options The random source.
   * @param clientAuth Used by {@linkcode SoftwareCryptoProvider.create}.
   */
  constructor(
    options: SoftwareCryptoProviderOptions = {},
    clientAuth?: { chain: readonly Uint8Array[]; key: SigningKey },
  ) {
    this.#random = options.random ??
      ((n) => crypto.getRandomValues(new Uint8Array(n)));
    // The record layer's own pooled IV source is faster; override it only when asked to.
    this.#ivSource = options.random;
    this.#chain = clientAuth?.chain ?? [];
    this.#key = clientAuth?.key;
  }

  /**
   * Creates a provider, importing a client certificate's key when one is given.
   *
   * @example With a client certificate
   * ```ts ignore
   * import { SoftwareCryptoProvider } from "@anchortls/handshake";
   * import { parsePem } from "@anchortls/x509";
   * const provider = await SoftwareCryptoProvider.create({
   *   clientCertificate: {
   *     chain: parsePem(await Deno.readTextFile("client.pem")),
   *     privateKey: await Deno.readTextFile("client.key"),
   *   },
   * });
   * ```
   *
   * @param options The random source and the client certificate.
   * @returns The provider.
   */
  static async create(
    options: SoftwareCryptoProviderOptions & { clientCertificate?: SoftwareClientCertificate } = {},
  ): Promise<SoftwareCryptoProvider> {
    const cert = options.clientCertificate;
    if (!cert) return new SoftwareCryptoProvider(options);
    if (cert.chain.length === 0) throw new TypeError("client certificate chain is empty");
    const key = await SigningKey.import(cert.privateKey);
    return new SoftwareCryptoProvider(options, { chain: cert.chain, key });
  }

  /** Schemes the client key signs with; empty without a client certificate. */
  get signatureSchemes(): readonly number[] {
    return this.#key?.schemes ?? [];
  }

  /**
   * Random bytes from the configured source.
   *
   * @param length How many bytes.
   * @returns The bytes.
   */
  random(length: number): Promise<Uint8Array> {
    return Promise.resolve(this.#random(length));
  }

  /**
   * Makes a premaster (client_version ‖ 46 random bytes) and encrypts it under the server's
   * RSA key.
   *
   * @param serverKey The server certificate's key; must be RSA.
   * @param clientVersion The ClientHello's version (0xfefd in DTLS 1.2). @default {0x0303}
   * @returns The ciphertext and the premaster handle.
   */
  encryptPremaster(
    serverKey: PublicKeyInfo,
    clientVersion: number = 0x0303,
  ): Promise<EncryptedPremaster> {
    if (serverKey.kind !== "rsa") {
      return Promise.reject(new TypeError("RSA key exchange needs an RSA server key"));
    }
    const premaster = this.#random(PREMASTER_LENGTH);
    premaster[0] = clientVersion >> 8;
    premaster[1] = clientVersion & 0xff;
    const encrypted = rsaesPkcs1v15Encrypt(serverKey, premaster, this.#random);
    return Promise.resolve({
      encrypted,
      premaster: new SoftwareSecret("premaster", premaster, this),
    });
  }

  /**
   * ECDHE: a fresh key pair on `group` and the shared secret with the server's key. The
   * private key is a non-extractable WebCrypto key used once; with a `random` option (tests)
   * it is drawn from that source instead, so a handshake replays byte for byte.
   *
   * @param group x25519, secp256r1 or secp384r1.
   * @param peerPublicKey The server's public key, already checked by the handshake.
   * @returns Our public key and the shared secret's handle.
   */
  async keyAgreement(group: number, peerPublicKey: Uint8Array): Promise<KeyAgreement> {
    const curve = ECDH_GROUPS.get(group);
    if (!curve) throw new TypeError(`group 0x${group.toString(16)} is not supported`);
    const { publicKey, shared } = this.#ivSource
      ? seededAgreement(curve.seeded, this.#random, peerPublicKey)
      : await webCryptoAgreement(curve.webCrypto, curve.bits, peerPublicKey);
    // RFC 7748 §6.1, RFC 8422 §5.11: an all-zero secret means a small-order X25519 key. Every
    // byte is looked at, so the check costs the same for every secret.
    if (shared.reduce((acc, b) => acc | b, 0) === 0) {
      throw new TlsAlertError(
        AlertDescription.illegal_parameter,
        "the ECDHE shared secret is all zeros (a small-order server key)",
      );
    }
    return { publicKey, premaster: new SoftwareSecret("premaster", shared, this) };
  }

  /**
   * Derives the master secret.
   *
   * @param premaster The premaster handle.
   * @param context Randoms, or the EMS session hash.
   * @returns The master secret handle.
   */
  masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    return Promise.try(() => {
      const pms = SoftwareSecret.reveal(premaster, this, "premaster");
      return new SoftwareSecret("master", deriveMasterSecret(pms, context), this);
    });
  }

  /**
   * Derives the key block and builds the suite's protectors for both directions.
   *
   * @param master The master secret handle.
   * @param suite The negotiated suite.
   * @param randoms This handshake's randoms.
   * @param options Whether EtM is on.
   * @returns The client and server protectors.
   */
  recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    return Promise.try(() => this.#recordKeys(master, suite, randoms, options));
  }

  #recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): RecordKeys {
    const ms = SoftwareSecret.reveal(master, this, "master");
    const keys = deriveKeyBlock(ms, randoms.clientRandom, randoms.serverRandom, suite);
    const common = {
      encryptThenMac: options.encryptThenMac,
      ...(this.#ivSource ? { random: this.#ivSource } : {}),
    };
    const client = protectorForSuite(suite, {
      encKey: keys.clientEncKey,
      macKey: keys.clientMacKey,
      iv: keys.clientIv,
    }, common);
    const server = protectorForSuite(suite, {
      encKey: keys.serverEncKey,
      macKey: keys.serverMacKey,
      iv: keys.serverIv,
    }, common);
    for (const k of Object.values(keys)) k.fill(0);
    return { client, server };
  }

  /**
   * Computes Finished verify_data.
   *
   * @param master The master secret handle.
   * @param label Whose Finished.
   * @param transcriptHash The PRF hash of the transcript so far.
   * @param prfHash The suite's PRF hash. @default {"sha256"}
   * @returns 12 bytes.
   */
  finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    transcriptHash: Uint8Array,
    prfHash: PrfHash = "sha256",
  ): Promise<Uint8Array> {
    return Promise.try(() =>
      finishedVerifyData(
        SoftwareSecret.reveal(master, this, "master"),
        label,
        transcriptHash,
        prfHash,
      )
    );
  }

  /**
   * Returns the client certificate chain given at construction.
   *
   * @returns The client chain, leaf first; empty without a client certificate.
   */
  certificateChain(): Promise<Uint8Array[]> {
    return Promise.resolve(this.#chain.map((c) => c.slice()));
  }

  /**
   * Signs with the client key.
   *
   * @param scheme A scheme from {@linkcode SoftwareCryptoProvider.signatureSchemes}.
   * @param data The handshake messages to sign.
   * @returns The signature.
   */
  sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    if (!this.#key) return Promise.reject(new TypeError("no client certificate configured"));
    return this.#key.sign(scheme, data);
  }

  /**
   * A copy of a master secret, for the key log.
   *
   * @param master A master secret handle of this provider.
   * @returns The 48 bytes; the caller wipes them.
   */
  revealMasterSecret(master: MasterSecretHandle): Promise<Uint8Array> {
    return Promise.try(() => SoftwareSecret.reveal(master, this, "master").slice());
  }

  /**
   * The PSK premaster (RFC 4279 §2, RFC 5489 §2) in host memory.
   *
   * @param key The pre-shared key.
   * @param ecdhe ECDHE_PSK: an ECDH premaster of this provider (left for the caller to release).
   * @returns The premaster handle.
   */
  pskPremaster(key: Uint8Array, ecdhe?: PremasterHandle): Promise<PremasterHandle> {
    return Promise.try(() => {
      const other = ecdhe ? SoftwareSecret.reveal(ecdhe, this, "premaster") : undefined;
      return new SoftwareSecret("premaster", pskPremasterBytes(key, other), this);
    });
  }

  /**
   * The master secret's bytes, kind `host`, for `exportSession`: a secret.
   *
   * @param master A master secret handle of this provider.
   * @returns The portable form; the caller wipes `data`.
   */
  exportMasterSecret(master: MasterSecretHandle): Promise<PortableMasterSecret> {
    return Promise.try(() => ({
      kind: HOST_MASTER_SECRET,
      data: SoftwareSecret.reveal(master, this, "master").slice(),
    }));
  }

  /**
   * Takes a `host` master secret back as a handle of this provider.
   *
   * @param portable What `exportMasterSecret` (of any software provider) returned.
   * @returns The handle.
   * @throws {SessionImportError} `provider` for another kind, `malformed` for a wrong length.
   */
  importMasterSecret(portable: PortableMasterSecret): Promise<MasterSecretHandle> {
    return Promise.try(() => {
      if (portable.kind !== HOST_MASTER_SECRET) {
        throw new SessionImportError(
          "provider",
          `a "${portable.kind}" master secret cannot be taken into software`,
        );
      }
      if (portable.data.length !== 48) {
        throw new SessionImportError("malformed", "a master secret is 48 bytes");
      }
      return new SoftwareSecret("master", portable.data.slice(), this);
    });
  }

  /**
   * Zeroes a secret.
   *
   * @param handle A handle of this provider.
   */
  release(handle: PremasterHandle | MasterSecretHandle): Promise<void> {
    return Promise.try(() => SoftwareSecret.erase(handle, this));
  }
}

/** ECDH in WebCrypto with a key pair that exists only for this call. */
async function webCryptoAgreement(
  algorithm: EcKeyGenParams | Algorithm,
  bits: number,
  peerPublicKey: Uint8Array,
): Promise<{ publicKey: Uint8Array; shared: Uint8Array }> {
  const pair = await crypto.subtle.generateKey(algorithm, false, ["deriveBits"]) as CryptoKeyPair;
  const peer = await crypto.subtle.importKey(
    "raw",
    peerPublicKey as Uint8Array<ArrayBuffer>,
    algorithm,
    false,
    [],
  );
  const [publicKey, shared] = await Promise.all([
    crypto.subtle.exportKey("raw", pair.publicKey),
    crypto.subtle.deriveBits({ name: algorithm.name, public: peer }, pair.privateKey, bits)
      // A zero X25519 output is an OperationError in WebCrypto; the caller's check names it.
      .catch(() => new ArrayBuffer(bits / 8)),
  ]);
  return { publicKey: new Uint8Array(publicKey), shared: new Uint8Array(shared) };
}

/** ECDH with a private key drawn from the given source. */
function seededAgreement(
  curve: SeededCurve,
  random: (length: number) => Uint8Array,
  peerPublicKey: Uint8Array,
): { publicKey: Uint8Array; shared: Uint8Array } {
  const secret = curve.secretKey(random);
  try {
    return {
      publicKey: curve.publicKey(secret),
      shared: curve.sharedSecret(secret, peerPublicKey),
    };
  } finally {
    secret.fill(0);
  }
}
