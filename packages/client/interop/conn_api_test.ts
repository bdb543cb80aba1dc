/**
 * What a `Deno.TlsConn` user expects of a connection, against openssl s_server: `await using`,
 * the TCP addresses, `closeWrite()` with the response still readable, and the library's own
 * closed error for a write after close (also when the close came during the handshake); the
 * same for DTLS where it applies.
 */

import assert from "node:assert/strict";
import { fixedPki, fixedPkiTarget, startOpenSslServer } from "@anchortls/testing";
import { connectDtls, ConnectionClosedError, connectTls, type TlsConnection } from "../mod.ts";

async function write(tls: TlsConnection, text: string): Promise<void> {
  const writer = tls.writable.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}

Deno.test("TLS: await using closes, addresses are the TCP ones, a write after close is ConnectionClosedError", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki });
  let kept: TlsConnection;
  {
    await using tls = await connectTls(await fixedPkiTarget(server.port));
    kept = tls;
    await tls.handshake;
    assert.deepEqual({ ...tls.remoteAddr }, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: server.port,
    });
    assert.equal((tls.localAddr as Deno.NetAddr).transport, "tcp");
    assert.equal((tls.localAddr as Deno.NetAddr).hostname, "127.0.0.1");
  }
  await assert.rejects(write(kept!, "GET / HTTP/1.0\r\n\r\n"), ConnectionClosedError);
  // Closed while the handshake runs: the write gets the closed error, not the abort.
  const early = await connectTls(await fixedPkiTarget(server.port));
  await early.close();
  await assert.rejects(write(early, "x"), ConnectionClosedError);
  await assert.rejects(early.handshake);
});

Deno.test("TLS: closeWrite sends close_notify and half-closes; the whole response is still read", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki });
  await using tls = await connectTls(await fixedPkiTarget(server.port));
  await write(tls, "GET / HTTP/1.0\r\n\r\n");
  await tls.closeWrite();
  await assert.rejects(write(tls, "more"), ConnectionClosedError);
  const page = await new Response(tls.readable).text();
  assert.match(page, /^HTTP\/1\.0 200/);
  assert.match(page, /<\/HTML>|<\/html>|Cipher/);
});

Deno.test("DTLS: await using closes, addresses are the UDP ones, a send after close is ConnectionClosedError", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki, dtls: true });
  const dtls = await connectDtls(await fixedPkiTarget(server.port));
  await dtls.handshake;
  assert.deepEqual(dtls.remoteAddr, { transport: "udp", hostname: "127.0.0.1", port: server.port });
  assert.equal(dtls.localAddr.transport, "udp");
  await dtls[Symbol.asyncDispose]();
  await assert.rejects(dtls.send(Uint8Array.of(1)), ConnectionClosedError);
});
