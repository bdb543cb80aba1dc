/**
 * End-to-end: TLS 1.2 handshakes and data against `openssl s_server` with the secrets in the
 * (emulated) chip, in process and through a socat pseudo-terminal pair. Needs `--allow-run`
 * (openssl, socat, deno), `--allow-net` (127.0.0.1) and `--allow-read`.
 */
import assert from "node:assert/strict";
import { connectTls } from "@anchortls/client";
import {
  fixedPki,
  type PeerProcess,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import { SessionCache } from "@anchortls/handshake";
import {
  AlertDescription,
  type CbcCipherSuite,
  type CipherSuite,
  CipherSuites,
  TlsAlertError,
} from "@anchortls/record";
import {
  CommandModeDevice,
  CommandModeTransport,
  createMemoryLinkPair,
  LinkError,
} from "@anchortls/transport-serial";
import { socatAvailable } from "@anchortls/transport-serial/testing";
import { ApduError } from "../apdu_error.ts";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import type { TrustCoreEmulator } from "../emulator.ts";
import { contains, PIN, provisionedChip } from "../_test_support.ts";
import { withPtyChip } from "./_pty_chip.ts";

/** The suites the chip keys in `full`: RSA key transport with AES-CBC. */
const CHIP_SUITES = Object.values(CipherSuites).filter((s): s is CbcCipherSuite =>
  s.kind === "cbc" && s.keyExchange === "rsa"
);

const rootPem = await Deno.readTextFile(fixedPki.root);

/** Starts `openssl s_server -www` on a free port, asking for a client certificate. */
function startServer(): Promise<PeerProcess> {
  return startOpenSslServer({
    pki: fixedPki,
    mode: "www",
    // Asks for the certificate (-Verify) but serves the page even when its chain fails, so the
    // page shows what the chip sent; the chip sends its leaf alone.
    extraArgs: ["-CAfile", fixedPki.root, "-chainCAfile", fixedPki.intermediate, "-Verify", "3"],
  });
}

/** Connects to a local server as "localhost", offering one suite, with the chip's provider. */
function connectLocal(
  provider: MultosCryptoProvider,
  port: number,
  suite: CipherSuite,
  encryptThenMac = true,
) {
  return connectTls({
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts: [rootPem],
    provider,
    suites: [suite],
    encryptThenMac,
  });
}

async function fetchPage(
  provider: MultosCryptoProvider,
  port: number,
  suite: CipherSuite,
  encryptThenMac: boolean,
) {
  const tls = await connectLocal(provider, port, suite, encryptThenMac);
  try {
    const info = await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    const page = await new Response(tls.readable).text();
    return { info, page };
  } finally {
    await tls.close();
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
  Deno.test(`e2e ${policy}: every suite × EtM against openssl s_server with the chip's client certificate`, async () => {
    const server = await startServer();
    try {
      for (const suite of CHIP_SUITES) {
        for (const etm of [true, false]) {
          const chip = await provisionedChip({ exposeSecretsForTesting: true });
          // MAC-then-encrypt in `full` only with the opt-in that accepts its bus leak.
          const provider = await MultosCryptoProvider.open(inProcess(chip), {
            policy,
            pin: PIN,
            allowMacThenEncrypt: !etm,
          });
          const { info, page } = await fetchPage(provider, server.port, suite, etm);
          assert.equal(info.suite.id, suite.id);
          assert.equal(info.encryptThenMac, etm);
          // OpenSSL takes max_fragment_length (it has no record_size_limit), which `full`
          // offers so every record fits one chip command; the 6 KB page came in 2 KB records.
          assert.deepEqual(
            info.fragmentLimits,
            policy === "full"
              ? { send: 2048, receive: 2048, negotiatedBy: "max_fragment_length" }
              : { send: 16384, receive: 16384, negotiatedBy: "none" },
          );
          assert.ok(info.extendedMasterSecret);
          assert.match(page, /^HTTP\/1\.0 200 ok/);
          assert.match(page, /anchortls test client/, "the server saw the chip's certificate");
          if (policy === "full") assertNoSecretSent(chip);
          else {assert.equal(
              chip.secretsForTesting().length,
              0,
              "hybrid keeps session secrets on the host",
            );}
          await provider.close();
        }
      }
    } finally {
      await server.stop();
    }
  });
}

Deno.test("e2e full: a server without Encrypt-then-MAC is refused, naming the opt-in; with it the handshake runs", async () => {
  const server = await startOpenSslServer({
    pki: fixedPki,
    mode: "www",
    encryptThenMac: false,
  });
  try {
    const chip = await provisionedChip();
    const strict = await MultosCryptoProvider.open(inProcess(chip), { policy: "full", pin: PIN });
    const before = strict.trustCore.stats.apdus;
    await assert.rejects(
      fetchPage(strict, server.port, CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, true),
      (e) =>
        e instanceof TlsAlertError && e.description === AlertDescription.handshake_failure &&
        /Encrypt-then-MAC/.test(e.message) && /allowMacThenEncrypt/.test(e.message),
    );
    assert.equal(strict.trustCore.stats.apdus - before, 1, "refused at ServerHello: one random");
    await strict.close();
    const lenient = await MultosCryptoProvider.open(inProcess(chip), {
      policy: "full",
      pin: PIN,
      allowMacThenEncrypt: true,
    });
    const { info } = await fetchPage(
      lenient,
      server.port,
      CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
      true,
    );
    assert.equal(info.encryptThenMac, false);
    await lenient.close();
  } finally {
    await server.stop();
  }
});

/** Sends a line to `gnutls-serv --echo` and reads it back; returns the handshake info. */
async function echoLine(provider: MultosCryptoProvider, port: number) {
  const tls = await connectLocal(provider, port, CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256);
  try {
    const info = await tls.handshake;
    const line = "x".repeat(3000) + " through the chip\n";
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
    return info;
  } finally {
    await tls.close();
  }
}

for (const policy of ["full", "hybrid"] as const) {
  for (const peer of ["openssl", "gnutls"] as const) {
    Deno.test({
      name:
        `e2e ${policy} vs ${peer}: the chip behind a socat pseudo-terminal, served by emulator_cli`,
      ignore: !(await socatAvailable()),
      async fn() {
        // The chip sends its leaf alone: GnuTLS verifies it against root and intermediate.
        const cas = await Deno.makeTempFile({ suffix: ".pem" });
        await Deno.writeTextFile(
          cas,
          rootPem + await Deno.readTextFile(fixedPki.intermediate),
        );
        const server = peer === "openssl" ? await startServer() : await startGnutlsServer({
          pki: { ...fixedPki, root: cas },
          clientCertificate: "request",
        });
        try {
          await withPtyChip(
            { key: fixedPki.clientKey, cert: fixedPki.client, policy },
            async (provider) => {
              if (peer === "openssl") {
                const { info, page } = await fetchPage(
                  provider,
                  server.port,
                  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256,
                  true,
                );
                assert.ok(info.encryptThenMac);
                assert.match(page, /anchortls test client/);
                assert.equal(
                  info.fragmentLimits.negotiatedBy,
                  policy === "full" ? "max_fragment_length" : "none",
                );
              } else {
                const info = await echoLine(provider, server.port);
                assert.ok(info.encryptThenMac);
                assert.ok(info.clientCertificateSent, "the chip's certificate went out");
                // GnuTLS takes record_size_limit, which wins over max_fragment_length.
                assert.equal(
                  info.fragmentLimits.negotiatedBy,
                  policy === "full" ? "record_size_limit" : "none",
                );
              }
            },
          );
        } finally {
          await server.stop();
          await Deno.remove(cas);
        }
      },
    });
  }
}

Deno.test("e2e: a chip answering 6982 (PIN never verified) fails the handshake with a fatal alert", async () => {
  const server = await startServer();
  try {
    const chip = await provisionedChip();
    const provider = await MultosCryptoProvider.open(inProcess(chip), { policy: "full" });
    await assert.rejects(
      fetchPage(provider, server.port, CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, true),
      (e) => e instanceof ApduError && e.sw === 0x6982,
    );
    await server.waitFor(/alert internal error/);
  } finally {
    await server.stop();
  }
});

Deno.test("e2e: a blocked PIN is refused before any connection", async () => {
  const chip = await provisionedChip({ pinTries: 1 });
  await assert.rejects(
    MultosCryptoProvider.open(inProcess(chip), { policy: "full", pin: "9" }),
    ApduError,
  );
  await assert.rejects(
    MultosCryptoProvider.open(inProcess(chip), { policy: "full", pin: PIN }),
    (e) => e instanceof ApduError && e.sw === 0x6983,
  );
});

Deno.test("e2e: the chip removed mid-handshake gives a LinkError and an alert, not a hang", async () => {
  const server = await startServer();
  const chip = await provisionedChip();
  const [hostEnd, chipEnd] = createMemoryLinkPair();
  let served = 0;
  const device: CommandModeDevice = new CommandModeDevice(chipEnd, (apdu) => {
    // After opening and the first handshake commands, the chip disappears.
    if (++served === 12) {
      queueMicrotask(() => void device.close());
      return new Promise<Uint8Array>(() => {});
    }
    return chip.handle(apdu);
  });
  const transport = new CommandModeTransport(hostEnd);
  try {
    const provider = await MultosCryptoProvider.open(transport, { policy: "full", pin: PIN });
    await assert.rejects(
      fetchPage(provider, server.port, CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, true),
      (e) => e instanceof LinkError,
    );
    await server.waitFor(/alert internal error/);
  } finally {
    await transport.close();
    await device.close();
    await server.stop();
  }
});

Deno.test("e2e full: repeated session resumption with the master secret kept in the chip", async () => {
  const server = await startServer();
  try {
    const chip = await provisionedChip();
    const provider = await MultosCryptoProvider.open(inProcess(chip), { policy: "full", pin: PIN });
    const session = new SessionCache();
    const resumed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const tls = await connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
        caCerts: [rootPem],
        provider,
        session,
      });
      try {
        resumed.push((await tls.handshake).resumed);
        const writer = tls.writable.getWriter();
        await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
        writer.releaseLock();
        assert.match(await new Response(tls.readable).text(), /^HTTP\/1\.0 200 ok/);
      } finally {
        await tls.close();
      }
    }
    assert.deepEqual(resumed, [false, true, true, true]);
    await provider.close();
  } finally {
    await server.stop();
  }
});
