/**
 * Record keys do not outlive the connection: once `close()` returns (or the connection
 * failed), every record protector the provider made for it was destroyed, TLS and DTLS.
 */
import assert from "node:assert/strict";
import { type RecordKeys, SoftwareCryptoProvider } from "@anchortls/handshake";
import { connectDtls, connectTls } from "./mod.ts";
import { fixedPki, fixedPkiFile, startOpenSslServer } from "@anchortls/testing";

const root = await Deno.readTextFile(fixedPkiFile("root.pem"));

/** A software provider that counts the protectors it made and how many were destroyed. */
class WatchedProvider extends SoftwareCryptoProvider {
  made = 0;
  /** Protectors destroyed at least once (destroying twice is harmless). */
  readonly destroyed = new Set<unknown>();
  override async recordKeys(
    ...args: Parameters<SoftwareCryptoProvider["recordKeys"]>
  ): Promise<RecordKeys> {
    const keys = await super.recordKeys(...args);
    const watch = (p: RecordKeys["client"]) => {
      this.made++;
      const destroy = p.destroy?.bind(p);
      p.destroy = () => {
        this.destroyed.add(p);
        destroy?.();
      };
      return p;
    };
    return { client: watch(keys.client), server: watch(keys.server) };
  }
}

Deno.test("keys: TLS close() destroys both record protectors", async () => {
  const peer = await startOpenSslServer({ pki: fixedPki, mode: "www" });
  try {
    const provider = new WatchedProvider();
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: peer.port,
      serverName: "localhost",
      caCerts: [root],
      provider,
    });
    await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    await new Response(tls.readable).arrayBuffer();
    await tls.close();
    assert.equal(provider.made, 2);
    assert.equal(provider.destroyed.size, 2);
  } finally {
    await peer.stop();
  }
});

Deno.test("keys: DTLS close() destroys both record protectors", async () => {
  const peer = await startOpenSslServer({ pki: fixedPki, dtls: true, mtu: 1400 });
  try {
    const provider = new WatchedProvider();
    const dtls = await connectDtls({
      hostname: "127.0.0.1",
      port: peer.port,
      serverName: "localhost",
      caCerts: [root],
      provider,
    });
    await dtls.handshake;
    await dtls.close();
    assert.equal(provider.made, 2);
    assert.equal(provider.destroyed.size, 2);
  } finally {
    await peer.stop();
  }
});
