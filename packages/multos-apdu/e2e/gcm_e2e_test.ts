/**
 * End-to-end for the chip's AES-GCM suites (issue 17): `full` with the ephemeral ECDH key, the
 * premaster, the master secret, the key block and every record's GCM in the (emulated) chip —
 * TLS_ECDHE_ECDSA / ECDHE_RSA / RSA _WITH_AES_128_GCM_SHA256 against `openssl s_server` and
 * `gnutls-serv`, TLS and DTLS, P-256 and P-384, with the emulator in process; then the chip
 * behind a socat pseudo-terminal (served by emulator_cli with an ECDSA device key) in `full`
 * and `hybrid` against both servers over TLS and DTLS; and CertificateVerify by the chip's ECDSA
 * key. Every response the chip sent is searched for every secret it made (ephemeral private
 * key, premaster, master secret, record keys).
 */

import assert from "node:assert/strict";
import { connectDtls, connectTls } from "@anchortls/client";
import { NamedGroup } from "@anchortls/handshake";
import { type CipherSuite, OPENSSL_CIPHER_NAMES } from "@anchortls/record";
import {
  fixedEcPki,
  fixedPki,
  type PeerProcess,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import { CHIP_CIPHER_SUITES, CHIP_GCM_SUITES } from "../_chip_session_crypto.ts";
import { TrustCoreEmulator } from "../emulator.ts";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import { socatAvailable } from "@anchortls/transport-serial/testing";
import { withPtyChip } from "./_pty_chip.ts";
import { contains, PIN, provisionedChip } from "../_test_support.ts";

const rootPem = await Deno.readTextFile(fixedPki.root);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const pkiFor = (suite: CipherSuite) => suite.keyExchange === "ecdhe_ecdsa" ? fixedEcPki : fixedPki;
const opensslName = (suite: CipherSuite) =>
  OPENSSL_CIPHER_NAMES[suite.name as keyof typeof OPENSSL_CIPHER_NAMES];

function inProcess(chip: TrustCoreEmulator) {
  return { transmit: (apdu: Uint8Array) => Promise.resolve(chip.handle(apdu)) };
}

async function chipProvider(): Promise<
  { chip: TrustCoreEmulator; provider: MultosCryptoProvider }
> {
  const chip = await provisionedChip({ exposeSecretsForTesting: true });
  const provider = await MultosCryptoProvider.open(inProcess(chip), {
    policy: "full",
    pin: PIN,
    chipSuites: CHIP_GCM_SUITES,
  });
  return { chip, provider };
}

function assertNoSecretSent(chip: TrustCoreEmulator, ecdhe: boolean): void {
  const secrets = chip.secretsForTesting();
  // Ephemeral key (ECDHE), premaster, master secret and the two write keys.
  assert.ok(secrets.length >= (ecdhe ? 5 : 4), `${secrets.length} secrets`);
  for (const secret of secrets) {
    for (const response of chip.sentToHost) {
      assert.ok(!contains(response, secret.subarray(0, 8)), "a secret crossed the link");
    }
  }
}

async function readUntil(readable: ReadableStream<Uint8Array>, text: string): Promise<void> {
  const reader = readable.getReader();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value);
    }
  } finally {
    reader.releaseLock();
  }
}

type Peer = "openssl" | "gnutls";

/** A server for the suite: s_server (-www over TLS, stdin/stdout over DTLS) or gnutls-serv --echo. */
function startPeer(peer: Peer, suite: CipherSuite, dtls: boolean): Promise<PeerProcess> {
  return peer === "openssl"
    ? startOpenSslServer({
      pki: pkiFor(suite),
      dtls,
      mode: dtls ? "stdin" : "www",
      ciphers: [opensslName(suite)],
      ...(dtls ? { mtu: 1400 } : {}),
    })
    : startGnutlsServer({
      pki: pkiFor(suite),
      dtls,
      keyExchanges: "+ECDHE-ECDSA:+ECDHE-RSA:+RSA",
      ciphers: "+AES-128-GCM:+AEAD",
      clientCertificate: "none",
    });
}

/**
 * One connection through the chip and a line each way: our line shows in s_server's output (or
 * comes back from gnutls-serv's echo); s_server's page (TLS) or stdin line (DTLS) reaches us.
 */
async function exchange(
  peer: Peer,
  server: PeerProcess,
  provider: MultosCryptoProvider,
  suite: CipherSuite,
  groups: readonly number[],
  dtls: boolean,
): Promise<void> {
  const target = {
    hostname: "127.0.0.1",
    port: server.port,
    serverName: "localhost",
    caCerts: [rootPem],
    provider,
    suites: [suite],
    groups,
  };
  const connection = dtls
    ? await connectDtls({
      ...target,
      retransmit: { initialTimeoutMs: 500, handshakeTimeoutMs: 20_000 },
    })
    : await connectTls(target);
  try {
    assert.equal((await connection.handshake).suite, suite);
    const writer = connection.writable.getWriter();
    if (peer === "openssl" && !dtls) {
      await writer.write(encoder.encode("GET / HTTP/1.0\r\n\r\n"));
      writer.releaseLock();
      const page = await new Response(connection.readable).text();
      assert.match(page, new RegExp(`Cipher is ${opensslName(suite)}\\b`));
      return;
    }
    await writer.write(encoder.encode("through the chip's GCM\n"));
    writer.releaseLock();
    if (peer === "openssl") {
      await server.waitFor(/through the chip's GCM\n/);
      await server.write(encoder.encode("back through it\n"));
      await readUntil(connection.readable, "back through it\n");
    } else {
      await readUntil(connection.readable, "through the chip's GCM\n");
    }
  } finally {
    await connection.close();
  }
}

for (const suite of CHIP_GCM_SUITES) {
  for (const group of [NamedGroup.secp256r1, NamedGroup.secp384r1]) {
    const ecdhe = suite.keyExchange !== "rsa";
    if (!ecdhe && group !== NamedGroup.secp256r1) continue;
    const label = ecdhe ? `${suite.name} over 0x${group.toString(16)}` : suite.name;
    // The group under test first; P-256 after it, since in TLS 1.2 supported_groups also names
    // the curves an ECDSA certificate may be on (RFC 8422 §5.1.1) and the test leaf is P-256.
    const groups = group === NamedGroup.secp256r1 ? [group] : [group, NamedGroup.secp256r1];
    for (const peer of ["openssl", "gnutls"] as const) {
      for (const dtls of [false, true]) {
        Deno.test(`e2e full, GCM in the chip: ${label} against ${peer} (${dtls ? "DTLS" : "TLS"})`, async () => {
          await using server = await startPeer(peer, suite, dtls);
          const { chip, provider } = await chipProvider();
          try {
            await exchange(peer, server, provider, suite, groups, dtls);
            assertNoSecretSent(chip, ecdhe);
          } finally {
            await provider.close();
          }
        });
      }
    }
  }
}

for (const policy of ["full", "hybrid"] as const) {
  for (const peer of ["openssl", "gnutls"] as const) {
    Deno.test({
      name:
        `e2e ${policy}: every chip GCM suite against ${peer} (TLS and DTLS), the chip behind a socat pseudo-terminal`,
      ignore: !(await socatAvailable()),
      async fn() {
        await withPtyChip(
          { key: fixedEcPki.clientKey, cert: fixedEcPki.client, policy },
          async (provider) => {
            for (const suite of CHIP_GCM_SUITES) {
              for (const dtls of [false, true]) {
                await using server = await startPeer(peer, suite, dtls);
                await exchange(peer, server, provider, suite, [NamedGroup.secp256r1], dtls);
              }
            }
          },
        );
      },
    });
  }
}

Deno.test("full offers the chip's GCM suites by default; with only the CBC ones no ECDHE, and a suite it cannot key is refused", async () => {
  const chip = await provisionedChip();
  const byDefault = await MultosCryptoProvider.open(inProcess(chip), {
    policy: "full",
    pin: PIN,
  });
  assert.deepEqual(byDefault.cipherSuites.slice(0, 3), CHIP_GCM_SUITES);
  assert.deepEqual(byDefault.groups, [NamedGroup.secp256r1, NamedGroup.secp384r1]);
  await byDefault.close();
  const provider = await MultosCryptoProvider.open(inProcess(chip), {
    policy: "full",
    pin: PIN,
    chipSuites: CHIP_CIPHER_SUITES,
  });
  try {
    assert.deepEqual(provider.groups, []);
    assert.ok(provider.cipherSuites.every((s) => s.kind === "cbc"));
    await assert.rejects(
      provider.keyAgreement(NamedGroup.secp256r1, new Uint8Array(65)),
      TypeError,
    );
  } finally {
    await provider.close();
  }
  await assert.rejects(
    MultosCryptoProvider.open(inProcess(chip), {
      policy: "full",
      pin: PIN,
      chipSuites: [{
        ...CHIP_GCM_SUITES[0]!,
        id: 0xc02c,
        name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      }],
    }),
    TypeError,
  );
});

/** The chip provisioned with the fixed PKI's ECDSA P-256 client key and certificate. */
async function ecChip(): Promise<TrustCoreEmulator> {
  return await TrustCoreEmulator.fromPem({
    pin: PIN,
    keyPem: await Deno.readTextFile(fixedEcPki.clientKey),
    certificatePem: await Deno.readTextFile(fixedEcPki.client),
    exposeSecretsForTesting: true,
  });
}

for (const policy of ["hybrid", "full"] as const) {
  Deno.test(`e2e ${policy}: the chip's ECDSA device key signs CertificateVerify for openssl s_server (TLS)`, async () => {
    const casFile = await Deno.makeTempFile({ suffix: ".pem" });
    await Deno.writeTextFile(casFile, rootPem + await Deno.readTextFile(fixedPki.intermediate));
    await using server = await startOpenSslServer({
      pki: { ...fixedEcPki, root: casFile },
      mode: "www",
      clientCertificate: "require",
      ciphers: ["ECDHE-ECDSA-AES128-GCM-SHA256"],
      onStop: () => Deno.remove(casFile).catch(() => {}),
    });
    const chip = await ecChip();
    const provider = await MultosCryptoProvider.open(inProcess(chip), {
      policy,
      pin: PIN,
      ...(policy === "full" ? { chipSuites: CHIP_GCM_SUITES } : {}),
    });
    assert.deepEqual(provider.signatureSchemes, [0x0403], "ecdsa_secp256r1_sha256");
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
      caCerts: [rootPem],
      provider,
      suites: [CHIP_GCM_SUITES[0]!],
    });
    try {
      const info = await tls.handshake;
      assert.equal(info.clientCertificateSent, true);
      const writer = tls.writable.getWriter();
      await writer.write(encoder.encode("GET / HTTP/1.0\r\n\r\n"));
      writer.releaseLock();
      const page = await new Response(tls.readable).text();
      assert.match(page, /Cipher is ECDHE-ECDSA-AES128-GCM-SHA256/);
      assert.match(page, /Client certificate/i);
    } finally {
      await tls.close();
      await provider.close();
    }
  });
}
