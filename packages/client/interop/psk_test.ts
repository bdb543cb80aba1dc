/**
 * PSK key exchange (issue 19) against real servers: `openssl s_server -psk` over TLS and DTLS
 * and `gnutls-serv --pskpasswd` over TLS and DTLS, every PSK suite, with 1 KiB echoed each way
 * where the server echoes; a wrong key or an unknown identity ends with the server's alert,
 * explained. Without a PSK, the old failure mode — a PSK-only server — is a clear refusal.
 */

import assert from "node:assert/strict";
import {
  fixedPki,
  OPENSSL_CIPHER_NAMES,
  type PeerProcess,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import {
  connectTls,
  type ConnectTlsOptions,
  PskCipherSuites,
  type PskCredentials,
  TlsAlertError,
} from "../mod.ts";
import { connectToPeer } from "./_dtls_connect.ts";

const KEY_HEX = "1a2b3c4d5e6f708192a3b4c5d6e7f809";
const psk: PskCredentials = { identity: "device-17", key: Uint8Array.fromHex(KEY_HEX) };
const suites = Object.values(PskCipherSuites);
const opensslNames = suites.map((s) =>
  OPENSSL_CIPHER_NAMES[s.name as keyof typeof OPENSSL_CIPHER_NAMES]
);
const opensslPsk = ["-psk", KEY_HEX, "-psk_identity", "device-17", "-psk_hint", "anchortls"];

function tlsTo(peer: PeerProcess, extra: Partial<ConnectTlsOptions> = {}): ConnectTlsOptions {
  // No caCerts: a PSK alone authenticates the server.
  return { hostname: "127.0.0.1", port: peer.port, serverName: "localhost", psk, ...extra };
}

Deno.test("PSK: openssl s_server -psk over TLS, every PSK suite", async () => {
  await using peer = await startOpenSslServer({
    pki: fixedPki,
    ciphers: opensslNames,
    extraArgs: opensslPsk,
  });
  for (const suite of suites) {
    const tls = await connectTls(tlsTo(peer, { suites: [suite] }));
    const info = await tls.handshake;
    assert.equal(info.suite, suite);
    assert.deepEqual(info.peerCertificates, []);
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    const page = await new Response(tls.readable).text().catch(() => "");
    assert.match(
      page,
      new RegExp(
        `Cipher is ${OPENSSL_CIPHER_NAMES[suite.name as keyof typeof OPENSSL_CIPHER_NAMES]}`,
      ),
    );
    await tls.close();
  }
});

Deno.test("PSK: a wrong key ends with the server's alert", async () => {
  await using peer = await startOpenSslServer({
    pki: fixedPki,
    ciphers: opensslNames,
    extraArgs: opensslPsk,
  });
  const wrongKey = await connectTls(
    tlsTo(peer, { psk: { identity: "device-17", key: new Uint8Array(16) } }),
  );
  await assert.rejects(
    wrongKey.handshake,
    (e) => e instanceof TlsAlertError && e.fromPeer && /refused our pre-shared key/.test(e.message),
  );
  await wrongKey.close();
});

Deno.test("PSK: openssl s_server -psk over DTLS", async () => {
  await using peer = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    mtu: 1400,
    ciphers: opensslNames,
    extraArgs: opensslPsk,
  });
  for (const suite of suites) {
    const dtls = await connectToPeer(peer, { psk, caCerts: [], suites: [suite] });
    assert.equal((await dtls.handshake).suite, suite);
    await dtls.close();
  }
});

async function withGnutlsPsk(dtls: boolean, use: (peer: PeerProcess) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-psk-" });
  try {
    await Deno.writeTextFile(`${dir}/psk.txt`, `device-17:${KEY_HEX}\n`);
    await using peer = await startGnutlsServer({
      pki: fixedPki,
      dtls,
      keyExchanges: "+PSK:+ECDHE-PSK",
      ciphers: "+AES-128-CCM-8:+AES-128-GCM:+AES-128-CBC:+SHA256:+AEAD",
      extraArgs: [`--pskpasswd=${dir}/psk.txt`, "--pskhint=anchortls"],
    });
    await use(peer);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("PSK: gnutls-serv --pskpasswd over TLS, every PSK suite, a line echoed; an unknown identity is refused", async () => {
  await withGnutlsPsk(false, async (peer) => {
    const line = "hello over a pre-shared key\n";
    for (const suite of suites) {
      const tls = await connectTls(tlsTo(peer, { suites: [suite] }));
      assert.equal((await tls.handshake).suite, suite);
      const writer = tls.writable.getWriter();
      await writer.write(new TextEncoder().encode(line));
      writer.releaseLock();
      const reader = tls.readable.getReader();
      let text = "";
      while (text.length < line.length) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      assert.equal(text, line);
      await tls.close();
    }
    // gnutls looks the identity up (openssl s_server takes any identity for its one key).
    const stranger = await connectTls(tlsTo(peer, { psk: { identity: "stranger", key: psk.key } }));
    await assert.rejects(
      stranger.handshake,
      (e) =>
        e instanceof TlsAlertError && e.fromPeer && /refused our pre-shared key/.test(e.message),
    );
    await stranger.close();
  });
});

Deno.test("PSK: gnutls-serv --pskpasswd over DTLS", async () => {
  await withGnutlsPsk(true, async (peer) => {
    for (const suite of suites) {
      const dtls = await connectToPeer(peer, { psk, caCerts: [], suites: [suite] });
      assert.equal((await dtls.handshake).suite, suite);
      await dtls.close();
    }
  });
});
