/**
 * End-to-end: DTLS 1.2 handshakes and messages against `openssl s_server -dtls1_2` (cookie
 * exchange, client certificate required) with the secrets in the emulated chip, in process,
 * for both policies, every suite and Encrypt-then-MAC on and off. Needs `--allow-run`
 * (openssl), `--allow-net` (127.0.0.1) and `--allow-read`.
 */
import assert from "node:assert/strict";
import { connectDtls } from "@anchortls/client";
import {
  fixedPki,
  type PeerProcess,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import { type CbcCipherSuite, CipherSuites } from "@anchortls/record";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import type { TrustCoreEmulator } from "../emulator.ts";
import { contains, PIN, provisionedChip } from "../_test_support.ts";

/** The suites the chip keys in `full`: RSA key transport with AES-CBC. */
const CHIP_SUITES = Object.values(CipherSuites).filter((s): s is CbcCipherSuite =>
  s.kind === "cbc" && s.keyExchange === "rsa"
);

const rootPem = await Deno.readTextFile(fixedPki.root);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `openssl s_server -dtls1_2` requiring a client certificate. The chip sends its leaf alone,
 * so the server's store holds the root and the intermediate that completes its chain.
 */
async function startServer(): Promise<PeerProcess> {
  const casFile = await Deno.makeTempFile({ suffix: ".pem" });
  try {
    await Deno.writeTextFile(casFile, rootPem + await Deno.readTextFile(fixedPki.intermediate));
    return await startOpenSslServer({
      pki: { ...fixedPki, root: casFile },
      dtls: true,
      mtu: 1400,
      clientCertificate: "require",
      onStop: () => Deno.remove(casFile).catch(() => {}),
    });
  } catch (error) {
    await Deno.remove(casFile).catch(() => {});
    throw error;
  }
}

function inProcess(chip: TrustCoreEmulator) {
  return { transmit: (apdu: Uint8Array) => Promise.resolve(chip.handle(apdu)) };
}

function assertNoSecretSent(chip: TrustCoreEmulator): void {
  const secrets = chip.secretsForTesting();
  assert.ok(secrets.length >= 6, "premaster, master secret and four record keys");
  for (const secret of secrets) {
    for (const response of chip.sentToHost) assert.ok(!contains(response, secret.subarray(0, 8)));
  }
}

for (const policy of ["full", "hybrid"] as const) {
  Deno.test(`e2e DTLS ${policy}: every suite × EtM against openssl s_server -dtls1_2 with the chip's client certificate`, async () => {
    const server = await startServer();
    try {
      let closes = 0;
      for (const suite of CHIP_SUITES) {
        for (const encryptThenMac of [true, false]) {
          const tag = `${suite.name}-${encryptThenMac}`;
          const chip = await provisionedChip({ exposeSecretsForTesting: true });
          const provider = await MultosCryptoProvider.open(inProcess(chip), {
            policy,
            pin: PIN,
            allowMacThenEncrypt: !encryptThenMac,
          });
          const dtls = await connectDtls({
            hostname: "127.0.0.1",
            port: server.port,
            serverName: "localhost",
            caCerts: [rootPem],
            provider,
            suites: [suite],
            encryptThenMac,
            retransmit: { initialTimeoutMs: 500, handshakeTimeoutMs: 20_000 },
          });
          try {
            const info = await dtls.handshake;
            assert.equal(info.suite.id, suite.id, tag);
            assert.equal(info.encryptThenMac, encryptThenMac, tag);
            assert.ok(info.extendedMasterSecret, tag);
            assert.ok(info.clientCertificateSent, tag);
            await dtls.send(encoder.encode(`from the chip ${tag}\n`));
            await server.waitFor(new RegExp(`from the chip ${tag}\\n`));
            await server.write(`to the chip ${tag}\n`);
            const { value } = await dtls.readable.getReader().read();
            assert.equal(decoder.decode(value), `to the chip ${tag}\n`);
            if (policy === "full") assertNoSecretSent(chip);
            else {
              assert.equal(
                chip.secretsForTesting().length,
                0,
                "hybrid keeps session secrets on the host",
              );
            }
          } finally {
            await dtls.close();
            await provider.close();
          }
          closes++;
          await server.waitFor(new RegExp("(?:DONE|shutting down)[\\s\\S]*".repeat(closes)));
        }
      }
    } finally {
      await server.stop();
    }
  });
}

Deno.test("e2e DTLS full vs gnutls-serv -u: record_size_limit settled, 1000 bytes echoed through the chip", async () => {
  const casFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(casFile, rootPem + await Deno.readTextFile(fixedPki.intermediate));
  const server = await startGnutlsServer({
    pki: { ...fixedPki, root: casFile },
    dtls: true,
    clientCertificate: "request",
  });
  try {
    const chip = await provisionedChip({ exposeSecretsForTesting: true });
    const provider = await MultosCryptoProvider.open(inProcess(chip), { policy: "full", pin: PIN });
    const dtls = await connectDtls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
      caCerts: [rootPem],
      provider,
      suites: [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256],
      retransmit: { initialTimeoutMs: 500, handshakeTimeoutMs: 20_000 },
    });
    try {
      const info = await dtls.handshake;
      assert.equal(info.fragmentLimits.negotiatedBy, "record_size_limit");
      assert.ok(info.clientCertificateSent);
      const message = "y".repeat(1000);
      await dtls.send(encoder.encode(message));
      // gnutls-serv echoes in pieces of its own read size: collect them.
      const reader = dtls.readable.getReader();
      let echoed = "";
      while (echoed.length < message.length) {
        const { value, done } = await reader.read();
        if (done) break;
        echoed += decoder.decode(value);
      }
      reader.releaseLock();
      assert.equal(echoed, message);
      assertNoSecretSent(chip);
    } finally {
      await dtls.close();
      await provider.close();
    }
  } finally {
    await server.stop();
    await Deno.remove(casFile);
  }
});
