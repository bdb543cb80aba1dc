/**
 * Errors that say what to do, each provoked by a real server: a server that takes none of our
 * suites, one that wants a client certificate we do not have, one that speaks only TLS 1.3, a
 * certificate for other names, a port that answers in plain HTTP, and a DTLS port that never
 * answers.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { fixedPki, fixedPkiTarget, startOpenSslServer, startPeerProcess } from "@anchortls/testing";
import {
  AlertDescription,
  CertificateError,
  CipherSuites,
  connectDtls,
  connectTls,
  DtlsHandshakeTimeoutError,
  TlsAlertError,
} from "../mod.ts";

async function handshakeError(port: number, extra: Record<string, unknown> = {}): Promise<unknown> {
  const tls = await connectTls({ ...await fixedPkiTarget(port), ...extra });
  const error = await tls.handshake.then(() => undefined, (e) => e);
  await tls.close();
  return error;
}

const peerAlert = (description: number, message: RegExp) => (e: unknown) =>
  e instanceof TlsAlertError && e.fromPeer && e.description === description &&
  message.test(e.message);

Deno.test("hint: handshake_failure in answer to our hello lists the suites and groups we offered", async () => {
  // DHE is a key exchange we do not speak.
  await using server = await startOpenSslServer({
    pki: fixedPki,
    ciphers: ["DHE-RSA-AES128-GCM-SHA256"],
  });
  const error = await handshakeError(server.port);
  assert.ok(
    peerAlert(
      AlertDescription.handshake_failure,
      /none of the suites we offered \(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .*\), or none of the groups \(x25519, secp256r1, secp384r1\)/,
    )(error),
    String(error),
  );
});

Deno.test("hint: an offer of RSA key exchange only to an ECDHE-only server says so", async () => {
  await using server = await startOpenSslServer({
    pki: fixedPki,
    ciphers: ["ECDHE-RSA-AES128-GCM-SHA256"],
  });
  const error = await handshakeError(server.port, {
    suites: [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256],
  });
  assert.ok(
    peerAlert(
      AlertDescription.handshake_failure,
      /none of the suites we offered \(TLS_RSA_WITH_AES_128_CBC_SHA256\); all use RSA key exchange/,
    )(error),
    String(error),
  );
});

Deno.test("hint: handshake_failure after an empty client Certificate says none is configured", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki, clientCertificate: "require" });
  const error = await handshakeError(server.port);
  assert.ok(
    error instanceof TlsAlertError && error.fromPeer &&
      /asked for a client certificate and none is configured/.test(error.message),
    String(error),
  );
});

Deno.test("hint: protocol_version from a TLS 1.3-only server says it refuses TLS 1.2", async () => {
  await using server = await startPeerProcess("openssl", {
    args: [
      "s_server",
      "-accept",
      "127.0.0.1:0",
      "-tls1_3",
      "-cert",
      fixedPki.leaf,
      "-key",
      fixedPki.leafKey,
    ],
    ready: { output: /ACCEPT \S+:(\d+)/ },
  });
  const error = await handshakeError(server.port);
  assert.ok(
    peerAlert(AlertDescription.protocol_version, /refuses TLS 1\.2/)(error),
    String(error),
  );
});

Deno.test("hint: hostname_mismatch lists the names the certificate is for", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki });
  const error = await handshakeError(server.port, { serverName: "wrong.example" });
  assert.ok(error instanceof CertificateError && error.reason === "hostname_mismatch");
  assert.match(error.message, /"wrong\.example"; the certificate is for localhost\b.*127\.0\.0\.1/);
});

Deno.test("hint: a port that answers in plain HTTP is 'not a TLS server'", async () => {
  await using http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hello"),
  );
  const error = await handshakeError(http.addr.port);
  assert.ok(error instanceof TlsAlertError && !error.fromPeer, String(error));
  assert.match(error.message, /not a TLS server: the reply looks like HTTP .*"HTTP\/1\.1 400/);
});

Deno.test("hint: a DTLS server that never answers times out naming the stage it waited in", async () => {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    const dtls = await connectDtls({
      ...await fixedPkiTarget(socket.address().port),
      retransmit: { initialTimeoutMs: 100, handshakeTimeoutMs: 1000 },
    });
    const error = await dtls.handshake.then(() => undefined, (e) => e);
    await dtls.close();
    assert.ok(error instanceof DtlsHandshakeTimeoutError, String(error));
    assert.equal(error.waitingFor, "ServerHello or HelloVerifyRequest");
    assert.match(error.message, /no answer to our ClientHello/);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});
