/**
 * Test support: a crypto provider wrapper (around a `SoftwareCryptoProvider` unless given
 * another) that keeps the secret handles it issued and has not yet released, and can hold one
 * call open so a test can end a handshake mid-await.
 *
 * @module
 */

import type { CipherSuite } from "@anchortls/record";
import type { PublicKeyInfo } from "@anchortls/x509";
import type {
  CryptoPolicy,
  CryptoProvider,
  EncryptedPremaster,
  FinishedLabel,
  HelloRandoms,
  KeyAgreement,
  MasterSecretContext,
  MasterSecretHandle,
  Placement,
  PremasterHandle,
  PrfHash,
  RecordKeyOptions,
  RecordKeys,
  RecordRequirements,
} from "@anchortls/handshake";
import { SoftwareCryptoProvider } from "@anchortls/handshake";

/** A call to hold: `reached` settles when it is made, the call returns once `open` settles. */
export interface Gate {
  /** The provider call held. */
  readonly call:
    | "encryptPremaster"
    | "keyAgreement"
    | "masterSecret"
    | "recordKeys"
    | FinishedLabel;
  /** Settles when the held call is made. */
  readonly reached: PromiseWithResolvers<void>;
  /** The held call returns once this settles. */
  readonly open: PromiseWithResolvers<void>;
}

/** A provider wrapper that counts its live handles; see the module comment. */
export class CountingProvider implements CryptoProvider {
  /** Handles issued and not released. */
  readonly live: Set<PremasterHandle | MasterSecretHandle> = new Set();
  /** The wrapped provider's ECDHE, counted as `encryptPremaster` is; absent when it has none. */
  readonly keyAgreement?: (group: number, peerPublicKey: Uint8Array) => Promise<KeyAgreement>;
  readonly #inner: CryptoProvider;
  #gate: Gate | undefined;

  /**
   * Wraps `inner`.
   *
   * @param inner The provider every call goes to; a fresh `SoftwareCryptoProvider` by default.
   */
  constructor(inner: CryptoProvider = new SoftwareCryptoProvider()) {
    this.#inner = inner;
    const agree = inner.keyAgreement?.bind(inner);
    if (agree) {
      this.keyAgreement = async (group, peerPublicKey) => {
        const result = await agree(group, peerPublicKey);
        this.live.add(result.premaster);
        await this.#pass("keyAgreement");
        return result;
      };
    }
  }

  /** The wrapped provider's suites. */
  get cipherSuites(): readonly CipherSuite[] | undefined {
    return this.#inner.cipherSuites;
  }

  /** The wrapped provider's ECDHE groups. */
  get groups(): readonly number[] | undefined {
    return this.#inner.groups;
  }

  /** The wrapped provider's policy. */
  get policy(): CryptoPolicy {
    return this.#inner.policy;
  }

  /** The wrapped provider's signature schemes. */
  get signatureSchemes(): readonly number[] {
    return this.#inner.signatureSchemes;
  }

  /** The wrapped provider's record requirements. */
  get recordRequirements(): RecordRequirements | undefined {
    return this.#inner.recordRequirements;
  }

  /** Where the wrapped provider runs each operation. */
  get placement(): Placement | undefined {
    return this.#inner.placement;
  }

  /**
   * Waits (a bounded number of turns) for a handshake's last releases to land.
   *
   * @returns How many handles are still alive after waiting.
   */
  async settled(): Promise<number> {
    for (let turn = 0; turn < 200 && this.live.size > 0; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.live.size;
  }

  /**
   * Holds the next call named `call` (after the secret it makes exists) until `open`.
   *
   * @param call The provider call to hold.
   * @returns The gate: await `reached`, then resolve `open` to let the call return.
   */
  hold(call: Gate["call"]): Gate {
    this.#gate = {
      call,
      reached: Promise.withResolvers<void>(),
      open: Promise.withResolvers<void>(),
    };
    return this.#gate;
  }

  async #pass(call: Gate["call"]): Promise<void> {
    const gate = this.#gate;
    if (gate?.call !== call) return;
    this.#gate = undefined;
    gate.reached.resolve();
    await gate.open.promise;
  }

  random(length: number): Promise<Uint8Array> {
    return this.#inner.random(length);
  }

  async encryptPremaster(serverKey: PublicKeyInfo, version?: number): Promise<EncryptedPremaster> {
    const result = await this.#inner.encryptPremaster(serverKey, version);
    this.live.add(result.premaster);
    await this.#pass("encryptPremaster");
    return result;
  }

  async masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    const master = await this.#inner.masterSecret(premaster, context);
    this.live.add(master);
    await this.#pass("masterSecret");
    return master;
  }

  async recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    const keys = await this.#inner.recordKeys(master, suite, randoms, options);
    await this.#pass("recordKeys");
    return keys;
  }

  async finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    transcriptHash: Uint8Array,
    prfHash?: PrfHash,
  ): Promise<Uint8Array> {
    const verifyData = await this.#inner.finished(master, label, transcriptHash, prfHash);
    await this.#pass(label);
    return verifyData;
  }

  certificateChain(): Promise<Uint8Array[]> {
    return this.#inner.certificateChain();
  }

  sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#inner.sign(scheme, data);
  }

  async release(handle: PremasterHandle | MasterSecretHandle): Promise<void> {
    this.live.delete(handle);
    await this.#inner.release(handle);
  }
}
