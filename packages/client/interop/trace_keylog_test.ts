/**
 * The trace hook and the key log against real servers: openssl s_server writes its own NSS key
 * log (`-keylogfile`), and ours must hold the very same line; the trace of a TLS and a DTLS
 * handshake with OpenSSL names every message in order, with sizes and no contents.
 */

import assert from "node:assert/strict";
import { fixedPki, fixedPkiTarget, startOpenSslServer } from "@anchortls/testing";
import { SoftwareCryptoProvider } from "@anchortls/handshake";
import { connectDtls, connectTls, describeTrace, type HandshakeTrace } from "../mod.ts";

async function serverKeyLog(path: string, lines: number): Promise<string[]> {
  // s_server writes the line as it finishes its side; give it a moment to land.
  for (let attempt = 0; attempt < 50; attempt++) {
    const text = await Deno.readTextFile(path).catch(() => "");
    const found = text.split("\n").filter((l) => l.startsWith("CLIENT_RANDOM "));
    if (found.length >= lines) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`s_server wrote no key log line to ${path}`);
}

Deno.test("keyLog: our NSS line is the one openssl s_server logs, for TLS and DTLS", async () => {
  for (const dtls of [false, true]) {
    const file = await Deno.makeTempFile({ suffix: ".keys" });
    try {
      await using server = await startOpenSslServer({
        pki: fixedPki,
        ...(dtls ? { dtls: true } : {}),
        extraArgs: ["-keylogfile", file],
      });
      const lines: string[] = [];
      const options = {
        ...await fixedPkiTarget(server.port),
        keyLog: (l: string) => lines.push(l),
      };
      const connection = dtls ? await connectDtls(options) : await connectTls(options);
      await connection.handshake;
      await connection.close();
      assert.equal(lines.length, 1);
      assert.deepEqual(await serverKeyLog(file, 1), lines, dtls ? "DTLS" : "TLS");
    } finally {
      await Deno.remove(file);
    }
  }
});

Deno.test("onHandshakeMessage: a TLS and a DTLS handshake with OpenSSL, message by message", async () => {
  await using tlsServer = await startOpenSslServer({ pki: fixedPki });
  const tlsTrace: HandshakeTrace[] = [];
  const tls = await connectTls({
    ...await fixedPkiTarget(tlsServer.port),
    onHandshakeMessage: (m) => tlsTrace.push(m),
  });
  await tls.handshake;
  await tls.close();
  assert.deepEqual(tlsTrace.map(describeTrace).map((l) => l.replace(/ \(.*/, "")), [
    "→ client_hello",
    "← server_hello",
    "← certificate",
    "← server_hello_done",
    "→ client_key_exchange",
    "→ change_cipher_spec",
    "→ finished",
    // Tickets are offered by default, and s_server issues them.
    "← new_session_ticket",
    "← change_cipher_spec",
    "← finished",
  ]);

  await using dtlsServer = await startOpenSslServer({ pki: fixedPki, dtls: true, mtu: 400 });
  const dtlsTrace: HandshakeTrace[] = [];
  const dtls = await connectDtls({
    ...await fixedPkiTarget(dtlsServer.port),
    mtu: 400,
    onHandshakeMessage: (m) => dtlsTrace.push(m),
  });
  await dtls.handshake;
  await dtls.close();
  const received = dtlsTrace.filter((t) => t.kind === "handshake" && t.direction === "received");
  assert.deepEqual(received.map((t) => t.kind === "handshake" && t.name), [
    "hello_verify_request",
    "server_hello",
    "certificate",
    "server_hello_done",
    "new_session_ticket",
    "finished",
  ]);
  // At an MTU of 400, OpenSSL fragments its Certificate; the trace lists what arrived.
  const certificate = received[2]!;
  assert.ok(certificate.kind === "handshake" && certificate.dtls);
  assert.ok(certificate.dtls.fragmentCount > 1, describeTrace(certificate));
  const covered = new Set<number>();
  for (const f of certificate.dtls.fragments) {
    for (let i = f.offset; i < f.offset + f.length; i++) covered.add(i);
  }
  assert.equal(covered.size, certificate.length);
});

Deno.test("keyLog: a provider that cannot reveal its master secret is refused before a byte is sent, and the socket is closed", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const provider = new SoftwareCryptoProvider();
  Object.defineProperty(provider, "revealMasterSecret", { value: undefined });
  await assert.rejects(
    connectTls({ ...await fixedPkiTarget(listener.addr.port), provider, keyLog: () => {} }),
    (e: unknown) =>
      e instanceof TypeError && /keyLog is refused: .*does not reveal/.test(e.message),
  );
  // The server end sees end-of-stream at once, with nothing sent before it.
  using conn = await accepted;
  const read = conn.read(new Uint8Array(16));
  const timer = Promise.withResolvers<"still open">();
  const timeout = setTimeout(() => timer.resolve("still open"), 2000);
  assert.equal(await Promise.race([read, timer.promise]), null);
  clearTimeout(timeout);
});
