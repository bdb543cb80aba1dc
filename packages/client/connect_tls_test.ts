import assert from "node:assert/strict";
import { SoftwareCryptoProvider } from "@anchortls/handshake";
import { connectTls } from "./connect_tls.ts";

const root = await Deno.readTextFile(new URL("../x509/testdata/root.pem", import.meta.url));

/** A TCP server that reads everything and never answers: a handshake that hangs. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const chunks: number[] = [];
    for await (const chunk of conn.readable) chunks.push(...chunk);
    return new Uint8Array(chunks);
  })();
  return { port: (listener.addr as Deno.NetAddr).port, received, close: () => listener.close() };
}

Deno.test("connectTls: an AbortSignal cancels a hanging handshake with a user_canceled warning", async () => {
  const server = silentServer();
  try {
    const controller = new AbortController();
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
      caCerts: [root],
      signal: controller.signal,
    });
    controller.abort();
    await assert.rejects(
      tls.handshake,
      (e) => e instanceof DOMException && e.name === "AbortError",
    );
    await assert.rejects(tls.writable.getWriter().write(new Uint8Array(1)));
    await tls.close();
    const bytes = await server.received;
    assert.equal(bytes[0], 22, "ClientHello record first");
    assert.deepEqual([...bytes.subarray(-7)], [21, 3, 3, 0, 2, 1, 90]);
  } finally {
    server.close();
  }
});

Deno.test("connectTls: close() during the handshake ends it the same way", async () => {
  const server = silentServer();
  try {
    const tls = await connectTls({ hostname: "127.0.0.1", port: server.port, caCerts: [root] });
    await tls.close();
    await assert.rejects(
      tls.handshake,
      (e) => e instanceof DOMException && e.name === "AbortError",
    );
    const bytes = await server.received;
    assert.deepEqual([...bytes.subarray(-7)], [21, 3, 3, 0, 2, 1, 90]);
  } finally {
    server.close();
  }
});

Deno.test("connectTls: an already aborted signal, bad options", async () => {
  const base = { hostname: "127.0.0.1", port: 1, caCerts: [root] };
  await assert.rejects(
    connectTls({ ...base, signal: AbortSignal.abort() }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  await assert.rejects(connectTls({ ...base, caCerts: [] }), TypeError);
  await assert.rejects(connectTls({ ...base, suites: [0x0005] }), TypeError);
  await assert.rejects(
    connectTls({
      ...base,
      provider: new SoftwareCryptoProvider(),
      clientCertificate: { certificateChain: root, privateKey: "" },
    }),
    TypeError,
  );
});
