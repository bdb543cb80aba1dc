import assert from "node:assert/strict";
import dgram from "node:dgram";
import { connectDtls, type ConnectDtlsOptions, DtlsHandshakeTimeoutError } from "./mod.ts";

const rootPem = await Deno.readTextFile(
  new URL("../x509/testdata/root.pem", import.meta.url),
);

/** A UDP socket on loopback that counts what it receives and never answers. */
async function silentPeer(): Promise<
  { port: number; received: () => number; close(): Promise<void> }
> {
  const socket = dgram.createSocket("udp4");
  let received = 0;
  socket.on("message", () => received++);
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    received: () => received,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function options(port: number, extra: Partial<ConnectDtlsOptions> = {}): ConnectDtlsOptions {
  return { hostname: "127.0.0.1", port, serverName: "localhost", caCerts: [rootPem], ...extra };
}

Deno.test("connectDtls checks its options before opening a socket", async () => {
  await assert.rejects(connectDtls(options(9, { caCerts: [] })), TypeError);
  await assert.rejects(connectDtls(options(9, { suites: [0x1301] })), TypeError);
  await assert.rejects(connectDtls(options(9, { mtu: 100 })), RangeError);
  await assert.rejects(connectDtls(options(0)), RangeError);
  await assert.rejects(
    connectDtls(options(9, { signal: AbortSignal.abort(new Error("stop")) })),
    /stop/,
  );
});

Deno.test("connectDtls: a server that never answers ends at the handshake deadline", async () => {
  const peer = await silentPeer();
  try {
    const dtls = await connectDtls(options(peer.port, {
      retransmit: { initialTimeoutMs: 50, maxTimeoutMs: 100, handshakeTimeoutMs: 400 },
    }));
    await assert.rejects(dtls.handshake, DtlsHandshakeTimeoutError);
    await assert.rejects(dtls.readable.getReader().read(), DtlsHandshakeTimeoutError);
    assert.ok(dtls.stats.timerRetransmissions >= 2, JSON.stringify(dtls.stats));
    assert.equal(peer.received(), dtls.stats.datagramsSent);
    await assert.rejects(dtls.send(new Uint8Array(1)), DtlsHandshakeTimeoutError);
    await dtls.close();
  } finally {
    await peer.close();
  }
});

Deno.test("connectDtls: aborting the signal ends the handshake with its reason", async () => {
  const peer = await silentPeer();
  try {
    const controller = new AbortController();
    const dtls = await connectDtls(options(peer.port, { signal: controller.signal }));
    const reason = new Error("no longer needed");
    controller.abort(reason);
    await assert.rejects(dtls.handshake, (e) => e === reason);
    await dtls.close();
    await dtls.close();
  } finally {
    await peer.close();
  }
});
