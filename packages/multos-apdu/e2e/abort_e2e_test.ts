/**
 * End-to-end: handshakes aborted mid-way give the chip's secrets back. Thirty handshakes in a
 * row against `openssl s_server`, each aborted once the chip holds its premaster and master
 * secret, then one that completes on the same chip (ten secret slots): no slot is left behind.
 * Needs `--allow-run` (openssl), `--allow-net` (127.0.0.1) and `--allow-read`.
 */
import assert from "node:assert/strict";
import { connectTls } from "@anchortls/client";
import { fixedPki, startOpenSslServer } from "@anchortls/client/testing";
import type {
  CryptoProvider,
  EncryptedPremaster,
  FinishedLabel,
  HelloRandoms,
  MasterSecretContext,
  MasterSecretHandle,
  PremasterHandle,
  RecordKeyOptions,
  RecordKeys,
} from "@anchortls/handshake";
import type { CipherSuite } from "@anchortls/record";
import type { PublicKeyInfo } from "@anchortls/x509";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import { PIN, provisionedChip } from "../_test_support.ts";

const rootPem = await Deno.readTextFile(fixedPki.root);

/**
 * Passes every call to the chip's provider, keeps the handles it issued and has not released,
 * and runs `onMasterSecret` once the chip made a master secret.
 */
class CountingChipProvider implements CryptoProvider {
  readonly live = new Set<PremasterHandle | MasterSecretHandle>();
  readonly #chip: MultosCryptoProvider;
  onMasterSecret: (() => void) | undefined;

  constructor(chip: MultosCryptoProvider) {
    this.#chip = chip;
  }

  get policy(): CryptoProvider["policy"] {
    return this.#chip.policy;
  }

  get signatureSchemes(): readonly number[] {
    return this.#chip.signatureSchemes;
  }

  /** Waits (a bounded number of turns) for the handshake's last releases to land. */
  async settled(): Promise<number> {
    for (let turn = 0; turn < 200 && this.live.size > 0; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.live.size;
  }

  random(length: number): Promise<Uint8Array> {
    return this.#chip.random(length);
  }

  async encryptPremaster(key: PublicKeyInfo, version?: number): Promise<EncryptedPremaster> {
    const result = await this.#chip.encryptPremaster(key, version);
    this.live.add(result.premaster);
    return result;
  }

  async masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    const master = await this.#chip.masterSecret(premaster, context);
    this.live.add(master);
    this.onMasterSecret?.();
    return master;
  }

  recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    return this.#chip.recordKeys(master, suite, randoms, options);
  }

  finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    hash: Uint8Array,
  ): Promise<Uint8Array> {
    return this.#chip.finished(master, label, hash);
  }

  certificateChain(): Promise<Uint8Array[]> {
    return this.#chip.certificateChain();
  }

  sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#chip.sign(scheme, data);
  }

  async release(handle: PremasterHandle | MasterSecretHandle): Promise<void> {
    this.live.delete(handle);
    await this.#chip.release(handle);
  }
}

for (const policy of ["full", "hybrid"] as const) {
  Deno.test(`e2e ${policy}: 30 aborted handshakes, then one that completes on the same chip`, async () => {
    const server = await startOpenSslServer({ pki: fixedPki, mode: "www" });
    const chip = await provisionedChip();
    const multos = await MultosCryptoProvider.open(
      { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
      { policy, pin: PIN },
    );
    const provider = new CountingChipProvider(multos);
    const connect = (signal?: AbortSignal) =>
      connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
        caCerts: [rootPem],
        provider,
        ...(signal ? { signal } : {}),
      });
    try {
      for (let i = 0; i < 30; i++) {
        const controller = new AbortController();
        provider.onMasterSecret = () => controller.abort(new Error(`abort ${i}`));
        const tls = await connect(controller.signal);
        await assert.rejects(() => tls.handshake, new RegExp(`abort ${i}$`));
        await tls.close();
        assert.equal(await provider.settled(), 0, `handles alive after abort ${i}`);
      }
      provider.onMasterSecret = undefined;
      const tls = await connect();
      try {
        const info = await tls.handshake;
        const writer = tls.writable.getWriter();
        await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
        writer.releaseLock();
        assert.match(await new Response(tls.readable).text(), /^HTTP\/1\.0 200 ok/);
        assert.deepEqual([...provider.live], info.session ? [info.session.master] : []);
      } finally {
        await tls.close();
      }
    } finally {
      await multos.close();
      await server.stop();
    }
  });
}
