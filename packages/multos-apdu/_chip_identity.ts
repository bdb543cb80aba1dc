/**
 * The device's identity in the chip: its certificate chain, read from the chip's files, and
 * CertificateVerify signatures with its private key, which never leaves the chip.
 *
 * @module
 */

import { SignatureScheme } from "@anchortls/handshake";
import { p256, p384 } from "@noble/curves/nist.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { ChipAccess } from "./_chip_access.ts";
import { SeTemplate, TrustCoreAlgorithm } from "./trust_core_constants.ts";

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

/** PKCS#1 v1.5, as the vendor's mtlsRsaSignPKCS1_type1 signs; PSS only when asked for. */
export const DEFAULT_DEVICE_SCHEMES: readonly number[] = [...PKCS1_SCHEMES.keys()];

/**
 * The ECDSA schemes by the device key's curve: the chip signs the host's hash (mtls.c
 * mtlsECDSASign) and answers r ‖ s, which TLS carries DER-encoded (RFC 8422 §5.8).
 */
const ECDSA_SCHEMES = {
  "P-256": { scheme: SignatureScheme.ecdsa_secp256r1_sha256, hash: sha256, curve: p256 },
  "P-384": { scheme: SignatureScheme.ecdsa_secp384r1_sha384, hash: sha384, curve: p384 },
} as const;

/** The kind of the device key, from the leaf certificate's public key. */
export type DeviceKeyKind = "rsa" | "P-256" | "P-384";

/**
 * The signature schemes a device key offers by default.
 *
 * @param kind The device key's kind.
 * @returns PKCS#1 v1.5 for RSA; the one ECDSA scheme of the key's curve.
 */
export function defaultDeviceSchemes(kind: DeviceKeyKind): readonly number[] {
  return kind === "rsa" ? DEFAULT_DEVICE_SCHEMES : [ECDSA_SCHEMES[kind].scheme];
}

/** The device key and certificate chain in the chip. */
export class ChipIdentity {
  readonly #access: ChipAccess;
  readonly #chain: readonly Uint8Array[];
  readonly #keyFile: number;
  readonly #schemes: readonly number[];
  readonly #kind: DeviceKeyKind;

  /**
   * @param access The shared chip.
   * @param chain The client chain, leaf first (empty: no client certificate).
   * @param keyFile The device key's file (6100 RSA, 6300 EC).
   * @param schemes What to offer, preferred first.
   * @param kind The device key's kind (from the leaf). @default {"rsa"}
   * @throws {RangeError} For a scheme the chip cannot sign with that key.
   */
  constructor(
    access: ChipAccess,
    chain: readonly Uint8Array[],
    keyFile: number,
    schemes: readonly number[],
    kind: DeviceKeyKind = "rsa",
  ) {
    for (const scheme of schemes) {
      const usable = kind === "rsa"
        ? PKCS1_SCHEMES.has(scheme) || scheme === SignatureScheme.rsa_pss_rsae_sha256
        : scheme === ECDSA_SCHEMES[kind].scheme;
      if (!usable) {
        throw new RangeError(`the chip cannot sign with scheme 0x${scheme.toString(16)}`);
      }
    }
    this.#kind = kind;
    this.#access = access;
    this.#chain = chain;
    this.#keyFile = keyFile;
    this.#schemes = schemes;
  }

  /** The schemes offered; none without a certificate. */
  get signatureSchemes(): readonly number[] {
    return this.#chain.length ? this.#schemes : [];
  }

  /** A copy of the chain. */
  certificateChain(): Promise<Uint8Array[]> {
    return Promise.resolve(this.#chain.map((c) => c.slice()));
  }

  /**
   * The host hashes (the hash is not secret); the chip pads (PKCS#1 v1.5 around the DigestInfo,
   * or PSS with a fresh salt) and signs with the device key.
   */
  async sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    if (!this.signatureSchemes.includes(scheme)) {
      throw new RangeError(
        `the chip cannot sign with scheme 0x${scheme.toString(16).padStart(4, "0")}`,
      );
    }
    if (this.#kind !== "rsa") {
      const { hash, curve } = ECDSA_SCHEMES[this.#kind];
      const digest = hash(data);
      const rs = await this.#access.exclusive(async (chip) => {
        await chip.setSecurityEnvironment(SeTemplate.signature, {
          algorithm: TrustCoreAlgorithm.ecdsa,
          keyFile: this.#keyFile,
        });
        return await chip.signOrMac(digest);
      });
      return curve.Signature.fromBytes(rs, "compact").toBytes("der");
    }
    const pkcs1 = PKCS1_SCHEMES.get(scheme);
    const input = pkcs1
      ? new Uint8Array([...Uint8Array.fromHex(pkcs1.prefix), ...pkcs1.hash(data)])
      : sha256(data);
    const algorithm = pkcs1 ? TrustCoreAlgorithm.rsaPkcs1 : TrustCoreAlgorithm.pssSha256;
    return await this.#access.exclusive(async (chip) => {
      await chip.setSecurityEnvironment(SeTemplate.signature, {
        algorithm,
        keyFile: this.#keyFile,
      });
      return await chip.signOrMac(input);
    });
  }
}
