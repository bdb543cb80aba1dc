/**
 * Both drivers give the provider's secret handles back however a handshake ends short of
 * completion (abort signal, close(), the server gone: a dead transport or the DTLS deadline), against openssl
 * s_server; after completion only a kept session's master secret stays. Needs `--allow-run`
 * (openssl), `--allow-net` (127.0.0.1) and `--allow-read`.
 */

import assert from "node:assert/strict";
import { SessionCache } from "@anchortls/handshake";
import { CountingProvider } from "@anchortls/testing";
import { connectDtls, connectTls } from "./mod.ts";
import { fixedPki, type PeerProcess, startOpenSslServer } from "@anchortls/testing";

const rootPem = await Deno.readTextFile(fixedPki.root);

async function withServer(dtls: boolean, run: (server: PeerProcess) => Promise<void>) {
  const server = await startOpenSslServer({ pki: fixedPki, dtls, ...(dtls ? { mtu: 1400 } : {}) });
  try {
    await run(server);
  } finally {
    await server.stop();
  }
}

/** Where to reach `server` and whom to trust, with `provider` doing the crypto. */
function peerOptions(server: PeerProcess, provider: CountingProvider) {
  return {
    hostname: "127.0.0.1",
    port: server.port,
    serverName: "localhost",
    caCerts: [rootPem],
    provider,
  };
}

type Ending = "abort signal" | "close()" | "server gone";

for (const ending of ["abort signal", "close()", "server gone"] as Ending[]) {
  Deno.test(`TLS driver: ${ending} mid-handshake leaves no secret handle alive`, async () => {
    await withServer(false, async (server) => {
      const provider = new CountingProvider();
      const held = provider.hold("masterSecret");
      const controller = new AbortController();
      const tls = await connectTls({
        ...peerOptions(server, provider),
        signal: controller.signal,
      });
      await held.reached.promise;
      assert.equal(provider.live.size, 2, "premaster and master secret");
      if (ending === "abort signal") controller.abort(new Error("stop"));
      else if (ending === "close()") await tls.close();
      else await server.stop();
      held.open.resolve();
      await assert.rejects(() => tls.handshake);
      await tls.close();
      assert.equal(await provider.settled(), 0);
    });
  });

  Deno.test(`DTLS driver: ${ending} mid-handshake leaves no secret handle alive`, async () => {
    await withServer(true, async (server) => {
      const provider = new CountingProvider();
      const held = provider.hold("masterSecret");
      const controller = new AbortController();
      const dtls = await connectDtls({
        ...peerOptions(server, provider),
        signal: controller.signal,
        retransmit: { initialTimeoutMs: 50, maxTimeoutMs: 100, handshakeTimeoutMs: 400 },
      });
      await held.reached.promise;
      assert.equal(provider.live.size, 2, "premaster and master secret");
      // The driver runs core inputs one at a time, so close() waits for the held call.
      let closing: Promise<void> | undefined;
      if (ending === "abort signal") controller.abort(new Error("stop"));
      else if (ending === "close()") closing = dtls.close();
      else await server.stop();
      held.open.resolve();
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
      ...peerOptions(server, provider),
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
      ...peerOptions(server, provider),
    });
    const info = await dtls.handshake;
    await dtls.close();
    assert.deepEqual([...provider.live], info.session ? [info.session.master] : []);
    assert.equal(dtls.stats.fragmentsDropped, 0);
  });
});
