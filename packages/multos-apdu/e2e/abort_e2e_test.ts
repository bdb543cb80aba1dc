/**
 * End-to-end: handshakes aborted mid-way give the chip's secrets back. Thirty handshakes in a
 * row against `openssl s_server`, each aborted once the chip holds its premaster and master
 * secret, then one that completes on the same chip (ten secret slots): no slot is left behind.
 * Needs `--allow-run` (openssl), `--allow-net` (127.0.0.1) and `--allow-read`.
 */
import assert from "node:assert/strict";
import { connectTls } from "@anchortls/client";
import { fixedPki, startOpenSslServer } from "@anchortls/testing";
import { CountingProvider } from "@anchortls/testing";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import { PIN, provisionedChip } from "../_test_support.ts";

const rootPem = await Deno.readTextFile(fixedPki.root);

for (const policy of ["full", "hybrid"] as const) {
  Deno.test(`e2e ${policy}: 30 aborted handshakes, then one that completes on the same chip`, async () => {
    const server = await startOpenSslServer({ pki: fixedPki, mode: "www" });
    const chip = await provisionedChip();
    const multos = await MultosCryptoProvider.open(
      { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
      { policy, pin: PIN },
    );
    const provider = new CountingProvider(multos);
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
        const gate = provider.hold("masterSecret");
        gate.reached.promise.then(() => {
          controller.abort(new Error(`abort ${i}`));
          gate.open.resolve();
        });
        const tls = await connect(controller.signal);
        await assert.rejects(() => tls.handshake, new RegExp(`abort ${i}$`));
        await tls.close();
        assert.equal(await provider.settled(), 0, `handles alive after abort ${i}`);
      }
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
