/**
 * Both drivers give the provider's secret handles back however a handshake ends short of
 * completion (abort signal, close(), the server gone: a dead transport or the DTLS deadline), against openssl
 * s_server; after completion only a kept session's master secret stays. Needs `--allow-run`
 * (openssl), `--allow-net` (127.0.0.1) and `--allow-read`.
 */

import assert from "node:assert/strict";
import {
  type CryptoProvider,
  type EncryptedPremaster,
  type FinishedLabel,
  type HelloRandoms,
  type MasterSecretContext,
  type MasterSecretHandle,
  type PremasterHandle,
  type RecordKeyOptions,
  type RecordKeys,
  SessionCache,
  SoftwareCryptoProvider,
} from "@anchortls/handshake";
import type { CipherSuite } from "@anchortls/record";
import type { PublicKeyInfo } from "@anchortls/x509";
import { connectDtls, connectTls } from "./mod.ts";
import { fixedPki, type PeerProcess, startOpenSslServer } from "./testing.ts";

const rootPem = await Deno.readTextFile(fixedPki.root);

/**
 * A software provider that keeps the handles it issued and has not released, and can hold its
 * `masterSecret` call (the master secret made, the premaster not yet released) until told.
 */
class CountingProvider implements CryptoProvider {
  readonly live = new Set<PremasterHandle | MasterSecretHandle>();
  readonly #inner = new SoftwareCryptoProvider();
  #hold: { reached: PromiseWithResolvers<void>; open: PromiseWithResolvers<void> } | undefined;

  readonly policy = this.#inner.policy;
  readonly signatureSchemes = this.#inner.signatureSchemes;

  holdMasterSecret(): { reached: Promise<void>; open: () => void } {
    const hold = { reached: Promise.withResolvers<void>(), open: Promise.withResolvers<void>() };
    this.#hold = hold;
    return { reached: hold.reached.promise, open: () => hold.open.resolve() };
  }

  /** Waits (a bounded number of turns) for the handshake's last releases to land. */
  async settled(): Promise<number> {
    for (let turn = 0; turn < 200 && this.live.size > 0; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.live.size;
  }

  random(length: number): Promise<Uint8Array> {
    return this.#inner.random(length);
  }

  async encryptPremaster(key: PublicKeyInfo, version?: number): Promise<EncryptedPremaster> {
    const result = await this.#inner.encryptPremaster(key, version);
    this.live.add(result.premaster);
    return result;
  }

  async masterSecret(
    premaster: PremasterHandle,
    context: MasterSecretContext,
  ): Promise<MasterSecretHandle> {
    const master = await this.#inner.masterSecret(premaster, context);
    this.live.add(master);
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.reached.resolve();
    await hold?.open.promise;
    return master;
  }

  recordKeys(
    master: MasterSecretHandle,
    suite: CipherSuite,
    randoms: HelloRandoms,
    options: RecordKeyOptions,
  ): Promise<RecordKeys> {
    return this.#inner.recordKeys(master, suite, randoms, options);
  }

  finished(
    master: MasterSecretHandle,
    label: FinishedLabel,
    hash: Uint8Array,
  ): Promise<Uint8Array> {
    return this.#inner.finished(master, label, hash);
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

async function withServer(dtls: boolean, run: (server: PeerProcess) => Promise<void>) {
  const server = await startOpenSslServer({ pki: fixedPki, dtls, ...(dtls ? { mtu: 1400 } : {}) });
  try {
    await run(server);
  } finally {
    await server.stop();
  }
}

type Ending = "abort signal" | "close()" | "server gone";

for (const ending of ["abort signal", "close()", "server gone"] as Ending[]) {
  Deno.test(`TLS driver: ${ending} mid-handshake leaves no secret handle alive`, async () => {
    await withServer(false, async (server) => {
      const provider = new CountingProvider();
      const held = provider.holdMasterSecret();
      const controller = new AbortController();
      const tls = await connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
        caCerts: [rootPem],
        provider,
        signal: controller.signal,
      });
      await held.reached;
      assert.equal(provider.live.size, 2, "premaster and master secret");
      if (ending === "abort signal") controller.abort(new Error("stop"));
      else if (ending === "close()") await tls.close();
      else await server.stop();
      held.open();
      await assert.rejects(() => tls.handshake);
      await tls.close();
      assert.equal(await provider.settled(), 0);
    });
  });

  Deno.test(`DTLS driver: ${ending} mid-handshake leaves no secret handle alive`, async () => {
    await withServer(true, async (server) => {
      const provider = new CountingProvider();
      const held = provider.holdMasterSecret();
      const controller = new AbortController();
      const dtls = await connectDtls({
        hostname: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
        caCerts: [rootPem],
        provider,
        signal: controller.signal,
        retransmit: { initialTimeoutMs: 50, maxTimeoutMs: 100, handshakeTimeoutMs: 400 },
      });
      await held.reached;
      assert.equal(provider.live.size, 2, "premaster and master secret");
      // The driver runs core inputs one at a time, so close() waits for the held call.
      let closing: Promise<void> | undefined;
      if (ending === "abort signal") controller.abort(new Error("stop"));
      else if (ending === "close()") closing = dtls.close();
      else await server.stop();
      held.open();
      await closing;
      // With the server gone, the deadline or the socket's port-unreachable error ends it.
      await assert.rejects(() => dtls.handshake);
      await dtls.close();
      assert.equal(await provider.settled(), 0);
    });
  });
}

Deno.test("TLS driver: after completion only the session's master secret stays, and the cache releases it", async () => {
  await withServer(false, async (server) => {
    const provider = new CountingProvider();
    const cache = new SessionCache();
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
      caCerts: [rootPem],
      provider,
      session: cache,
    });
    const info = await tls.handshake;
    await tls.close();
    assert.ok(info.session, "openssl gives an EMS session");
    assert.deepEqual([...provider.live], [info.session.master]);
    cache.clear();
    assert.equal(await provider.settled(), 0);
  });
});

Deno.test("DTLS driver: after completion only the session's master secret stays", async () => {
  await withServer(true, async (server) => {
    const provider = new CountingProvider();
    const dtls = await connectDtls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
      caCerts: [rootPem],
      provider,
    });
    const info = await dtls.handshake;
    await dtls.close();
    assert.deepEqual([...provider.live], info.session ? [info.session.master] : []);
    assert.equal(dtls.stats.fragmentsDropped, 0);
  });
});
