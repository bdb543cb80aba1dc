/**
 * The example clients as a user runs them: `deno run` subprocesses against real local servers
 * (`openssl s_server -www`, `gnutls-serv -u --echo`, libcoap's `coap-server-gnutls`), plus
 * `--help`, wrong arguments and unreachable hosts. Needs `openssl` and `gnutls-bin`;
 * the CoAP runs need `libcoap3-bin` and are skipped without it.
 */
import assert from "node:assert/strict";
import { cipherSuiteByName } from "@anchortls/record";
import {
  commandAvailable,
  createTestPki,
  fixedEcPki,
  freePort,
  freeUdpPort,
  type PeerProcess,
  type ServerIdentity,
  startGnutlsServer,
  startOpenSslServer,
  startPeerProcess,
} from "@anchortls/testing";

import { type Outcome, runExample as run } from "./_run_example.ts";

const EXAMPLES = ["https_get", "dtls_echo", "coap_get", "mqtt_publish"] as const;

/** A failure as the examples promise it: non-zero, one line on stderr naming the example. */
function assertOneLineError(outcome: Outcome, example: string, code: number, pattern: RegExp) {
  assert.equal(outcome.code, code, `exit code; stderr: ${outcome.stderr}`);
  const lines = outcome.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected:\n${outcome.stderr}`);
  assert.match(lines[0]!, new RegExp(`^${example}: `));
  assert.match(lines[0]!, pattern);
}

/** Trace lines must show names and sizes only: no long hex or base64 runs. */
function assertTraceHasNoBlobs(stdout: string) {
  const trace = stdout.split("\n").filter((l) => /^\s+[→←] /.test(l));
  assert.ok(trace.length > 0, "there is a trace");
  for (const line of trace) assert.doesNotMatch(line, /[0-9A-Fa-f]{16}|[A-Za-z0-9+/]{24}/, line);
}

for (const example of EXAMPLES) {
  Deno.test(`${example}: --help prints usage and exits 0`, async () => {
    const outcome = await run(example, ["--help"]);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, new RegExp(`^usage: deno run -A examples/${example}\\.ts`));
    for (
      const flag of [
        "--ca",
        "--trust-anchor",
        "--policy",
        "--suite",
        "--no-etm",
        "--verbose",
        "--session",
        "--no-tickets",
        "--psk",
        "--cid",
        "--record-limit",
        "--read-buffer",
      ]
    ) {
      assert.ok(outcome.stdout.includes(flag), `usage mentions ${flag}`);
    }
    assert.equal(outcome.stderr, "");
  });
}

Deno.test("examples: wrong arguments end in one line and exit code 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["https_get", [], /expected one https:\/\/ URL/],
    ["https_get", ["--ca", "x.pem", "http://localhost/"], /not an https:\/\/ URL/],
    ["https_get", ["https://localhost/"], /--ca FILE is required/],
    ["https_get", ["--bogus", "https://localhost/"], /bogus/],
    ["https_get", ["--ca", "/nonexistent.pem", "https://localhost/"], /cannot read --ca/],
    ["https_get", ["--policy", "full", "https://localhost/"], /needs --trust-anchor/],
    ["https_get", ["--policy", "chip", "https://localhost/"], /unknown policy "chip"/],
    ["https_get", ["--suite", "RC4-MD5", "https://localhost/"], /unknown suite "RC4-MD5"/],
    ["https_get", ["--cert", "c.pem", "https://localhost/"], /--cert and --key go together/],
    ["https_get", ["--timeout", "0", "https://localhost/"], /--timeout takes seconds/],
    ["dtls_echo", ["--ca", "x.pem", "localhost"], /expected HOST:PORT/],
    ["dtls_echo", ["--ca", "x.pem", "a:1", "b:2"], /expected one HOST:PORT/],
    ["coap_get", ["--ca", "x.pem", "https://localhost/"], /not a coaps:\/\/ or coap:\/\/ URL/],
    ["coap_get", ["coaps://localhost/"], /--ca FILE is required/],
    ["coap_get", ["--psk", "k", "coaps://localhost/"], /--psk and --psk-identity go together/],
    ["https_get", ["--record-limit", "5", "https://localhost/"], /--record-limit takes a number/],
    ["coap_get", ["--psk-identity", "d", "--psk", "hex:zz", "coaps://localhost/"], /hex/],
  ];
  for (const [example, args, pattern] of cases) {
    await t.step(`${example} ${args.join(" ")}`, async () => {
      const outcome = await run(example, args);
      assertOneLineError(outcome, example, 2, pattern);
      assert.equal(outcome.stdout, "");
    });
  }
});

Deno.test("examples: an unreachable server ends in one line and a non-zero exit", async (t) => {
  await using pki = await createTestPki();
  await t.step("https_get, nothing listening on the TCP port", async () => {
    const port = freePort();
    const outcome = await run("https_get", ["--ca", pki.root, `https://127.0.0.1:${port}/`]);
    assertOneLineError(
      outcome,
      "https_get",
      1,
      new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}`),
    );
  });
  await t.step("dtls_echo, nothing listening on the UDP port", async () => {
    const port = await freeUdpPort();
    const outcome = await run(
      "dtls_echo",
      ["--ca", pki.root, "--timeout", "2", `127.0.0.1:${port}`],
      "hello\n",
    );
    assertOneLineError(outcome, "dtls_echo", 1, /DTLS handshake with 127\.0\.0\.1:\d+ failed/);
  });
  await t.step("coap_get, nothing listening on the UDP port", async () => {
    const port = await freeUdpPort();
    const outcome = await run("coap_get", [
      "--ca",
      pki.root,
      "--timeout",
      "2",
      `coaps://127.0.0.1:${port}/`,
    ]);
    assertOneLineError(outcome, "coap_get", 1, /DTLS handshake with 127\.0\.0\.1:\d+ failed/);
  });
});

Deno.test("https_get: GET from openssl s_server -www, with each provider", async (t) => {
  await using pki = await createTestPki();
  await using server = await startOpenSslServer({
    pki: { ...pki, root: pki.cas },
    mode: "www",
    clientCertificate: "request",
  });
  const url = `https://localhost:${server.port}/`;

  await t.step("software, all defaults", async () => {
    const outcome = await run("https_get", ["--ca", pki.root, url]);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /suite {5}TLS_RSA_WITH_AES_128_CBC_SHA256 {2}EtM yes {2}EMS yes/);
    assert.match(
      outcome.stdout,
      /chain {5}localhost ← anchortls test intermediate ← anchortls test root {2}\(verified for "localhost"\)/,
    );
    assert.match(outcome.stdout, /^status {4}HTTP\/1\.0 200 ok$/m);
    assert.match(outcome.stdout, /^header {4}Content-type: text\/html$/m);
    assert.match(outcome.stdout, /Cipher is AES128-SHA256/, "the server's page came through");
  });

  await t.step(
    "SSLKEYLOGFILE: software appends the NSS line, full refuses and says why",
    async () => {
      const file = await Deno.makeTempFile({ suffix: ".keys" });
      try {
        const logged = await run("https_get", ["--ca", pki.root, url], undefined, {
          SSLKEYLOGFILE: file,
        });
        assert.equal(logged.code, 0, logged.stderr);
        assert.match(await Deno.readTextFile(file), /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
        const refused = await run(
          "https_get",
          [
            ["--ca", pki.root, "--trust-anchor", "emulator", "--policy", "full"],
            ["--cert", pki.client, "--key", pki.clientKey, url],
          ].flat(),
          undefined,
          { SSLKEYLOGFILE: file },
        );
        assertOneLineError(refused, "https_get", 1, /keyLog is refused: .*never leaves it/);
      } finally {
        await Deno.remove(file);
      }
    },
  );

  await t.step("--suite AES256-SHA --no-etm with a software client certificate", async () => {
    const outcome = await run(
      "https_get",
      [
        ["--ca", pki.root, "--suite", "AES256-SHA", "--no-etm"],
        ["--cert", pki.clientChain, "--key", pki.clientKey, url],
      ].flat(),
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /TLS_RSA_WITH_AES_256_CBC_SHA {2}EtM no {2}EMS yes/);
    assert.match(outcome.stdout, /client cert yes/);
    assert.match(outcome.stdout, /Cipher is AES256-SHA\b/);
  });

  await t.step("--trust-anchor emulator --policy full --verbose", async () => {
    const outcome = await run(
      "https_get",
      [
        ["--ca", pki.root, "--trust-anchor", "emulator", "--policy", "full", "--verbose"],
        ["--cert", pki.client, "--key", pki.clientKey, url],
      ].flat(),
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    const expected = [
      "→ client_hello",
      "← server_hello",
      "← certificate",
      "← certificate_request",
      "← server_hello_done",
      "→ certificate",
      "→ client_key_exchange",
      "→ certificate_verify",
      "→ change_cipher_spec",
      "→ finished (12 bytes, encrypted)",
      "← change_cipher_spec",
      "← finished (12 bytes, encrypted)",
    ];
    let at = 0;
    for (const step of expected) {
      const found = outcome.stdout.indexOf(step, at);
      assert.ok(found >= 0, `trace has "${step}" in order:\n${outcome.stdout}`);
      at = found;
    }
    assertTraceHasNoBlobs(outcome.stdout);
    assert.match(outcome.stdout, /on chip {3}randoms \(1 APDU\).*CertificateVerify \(3 APDUs\)/);
    assert.match(outcome.stdout, /on host {3}—/);
    // 28 without the NewSessionTicket s_server sends: the server's Finished is asked for after
    // it, not beside ours, which costs the chip two more APDUs.
    assert.match(outcome.stdout, /chip {6}emulator \(in-process\): 30 APDUs/);
  });

  await t.step("a name the certificate does not cover: one line, exit 1", async () => {
    const outcome = await run("https_get", ["--ca", pki.root, "--server-name", "example.com", url]);
    assertOneLineError(outcome, "https_get", 1, /TLS handshake with localhost:\d+ failed/);
  });

  await t.step("the emulator behind emulator_cli on a TCP port (tcp:HOST:PORT)", async () => {
    await using chip = await startPeerProcess(Deno.execPath(), {
      args: [
        ["run", "-A", new URL("../packages/multos-apdu/emulator_cli.ts", import.meta.url).pathname],
        ["--tcp", "0", "--pin", "4321", "--key", pki.clientKey, "--cert", pki.client],
      ].flat(),
      ready: { output: /ready tcp:127\.0\.0\.1:(\d+)/ },
    });
    const outcome = await run(
      "https_get",
      [
        ["--ca", pki.root, "--trust-anchor", `tcp:127.0.0.1:${chip.port}`, "--pin", "4321"],
        ["--policy", "hybrid", url],
      ].flat(),
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(
      outcome.stdout,
      /on chip {3}client chain \(0 APDUs\), CertificateVerify \(3 APDUs\)/,
    );
    assert.match(
      outcome.stdout,
      /chip {6}tcp:127\.0\.0\.1:\d+: 3 APDUs, \d+ bytes to the chip, \d+ back/,
    );
    assert.match(outcome.stdout, /client cert yes/);
  });
});

Deno.test("dtls_echo: lines echoed by gnutls-serv -u --echo", async (t) => {
  await using pki = await createTestPki();
  await using server = await startGnutlsServer({ pki, dtls: true });
  const target = `127.0.0.1:${server.port}`;

  await t.step("software", async () => {
    const outcome = await run(
      "dtls_echo",
      ["--ca", pki.root, "--server-name", "localhost", target],
      "hello\nover DTLS\n",
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /^DTLS 1\.2 with 127\.0\.0\.1:\d+$/m);
    assert.match(outcome.stdout, /\(verified for "localhost"\)/);
    assert.match(outcome.stdout, /^hello\nover DTLS\n/m);
    assert.match(outcome.stdout, /^2 lines echoed; /m);
  });

  await t.step("full policy in the emulator, AES256-SHA256, with the record trace", async () => {
    const outcome = await run(
      "dtls_echo",
      [
        ["--ca", pki.root, "--server-name", "localhost", "--trust-anchor", "emulator"],
        ["--suite", "AES256-SHA256", "--verbose", target],
      ].flat(),
      "ping\n",
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /← hello_verify_request \(\d+ bytes, seq 0, epoch 0\)/);
    assert.match(outcome.stdout, /→ client_hello \(\d+ bytes, seq 1, epoch 0\)/);
    assert.match(outcome.stdout, /→ finished \(12 bytes, encrypted, seq 3, epoch 1\)/);
    assert.match(outcome.stdout, /TLS_RSA_WITH_AES_256_CBC_SHA256/);
    // 25 without gnutls-serv's NewSessionTicket (see the TLS case).
    assert.match(outcome.stdout, /chip {6}emulator \(in-process\): 27 APDUs/);
    assert.match(outcome.stdout, /^ping$/m);
    assertTraceHasNoBlobs(outcome.stdout);
  });
});

/** libcoap's server with GnuTLS: PKI on UDP port+1 (the OpenSSL build sends no chain). */
async function startCoapServer(
  pki: Pick<ServerIdentity, "chain" | "leafKey">,
): Promise<PeerProcess> {
  for (let attempt = 0;; attempt++) {
    const port = await freeUdpPort();
    try {
      const server = await startPeerProcess("coap-server-gnutls", {
        args: ["-A", "127.0.0.1", "-p", String(port), "-c", pki.chain, "-j", pki.leafKey],
        ready: { port: port + 1, transport: "udp" },
        timeoutMs: 5000,
      });
      return server;
    } catch (error) {
      if (attempt === 2) throw error;
    }
  }
}

Deno.test({
  name: "coap_get: GET from libcoap's coap-server-gnutls over DTLS and plain UDP",
  ignore: !(await commandAvailable("coap-server-gnutls", ["-?"])),
  async fn(t) {
    await using pki = await createTestPki();
    await using server = await startCoapServer(pki);
    const dtlsPort = server.port;

    await t.step("coaps:// GET /, software", async () => {
      const outcome = await run("coap_get", ["--ca", pki.root, `coaps://localhost:${dtlsPort}/`]);
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(outcome.stdout, /^CoAP over DTLS 1\.2 with localhost:\d+$/m);
      assert.match(outcome.stdout, /EMS yes/);
      assert.match(outcome.stdout, /^response {2}2\.05 Content \(\d+ bytes/m);
      assert.match(outcome.stdout, /This is a test server made with libcoap/);
    });

    await t.step("coaps:// GET /.well-known/core, full policy, every suite", async () => {
      for (const suite of ["AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES256-SHA256"]) {
        const outcome = await run(
          "coap_get",
          [
            ["--ca", pki.root, "--trust-anchor", "emulator", "--suite", suite],
            [`coaps://localhost:${dtlsPort}/.well-known/core`],
          ].flat(),
        );
        assert.equal(outcome.code, 0, outcome.stderr);
        assert.match(outcome.stdout, /response {2}2\.05 Content \(\d+ bytes, content-format 40\)/);
        assert.match(outcome.stdout, /<\/time>/);
        assert.match(outcome.stdout, /chip {6}emulator \(in-process\)/);
      }
    });

    await t.step("coaps:// a resource that does not exist: 4.04", async () => {
      const outcome = await run("coap_get", [
        "--ca",
        pki.root,
        `coaps://localhost:${dtlsPort}/nope`,
      ]);
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(outcome.stdout, /response {2}4\.04 Not Found/);
    });

    await t.step(
      "coaps:// with an ECDSA server certificate: CCM_8, CoAP's mandatory suite",
      async () => {
        await using ecServer = await startCoapServer(fixedEcPki);
        for (const suite of ["ECDHE-ECDSA-AES128-CCM8", "ECDHE-ECDSA-AES128-GCM-SHA256"]) {
          const outcome = await run(
            "coap_get",
            [
              ["--ca", fixedEcPki.root, "--suite", suite, "--verbose"],
              [`coaps://localhost:${ecServer.port}/.well-known/core`],
            ].flat(),
          );
          assert.equal(outcome.code, 0, outcome.stderr);
          assert.match(outcome.stdout, new RegExp(`suite {5}${cipherSuiteByName(suite)!.name}\\b`));
          assert.match(outcome.stdout, /← server_key_exchange/);
          assert.match(
            outcome.stdout,
            /response {2}2\.05 Content \(\d+ bytes, content-format 40\)/,
          );
          assert.match(outcome.stdout, /<\/time>/);
        }
      },
    );

    await t.step("coap:// GET / on the plain port", async () => {
      const outcome = await run("coap_get", [`coap://127.0.0.1:${dtlsPort - 1}/`]);
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(outcome.stdout, /no DTLS/);
      assert.match(outcome.stdout, /This is a test server made with libcoap/);
    });
  },
});

Deno.test({
  name: "coap_get: libcoap's PSK server (coap-server-gnutls -k) with --psk, CCM_8 included",
  ignore: !(await commandAvailable("coap-server-gnutls", ["-?"])),
  async fn(t) {
    let server: PeerProcess | undefined;
    for (let attempt = 0; !server; attempt++) {
      const port = await freeUdpPort();
      try {
        server = await startPeerProcess("coap-server-gnutls", {
          args: ["-A", "127.0.0.1", "-p", String(port), "-k", "secretPSK", "-h", "anchortls"],
          ready: { port: port + 1, transport: "udp" },
          timeoutMs: 5000,
        });
      } catch (error) {
        if (attempt === 2) throw error;
      }
    }
    await using _server = server;
    const url = `coaps://127.0.0.1:${server.port}/.well-known/core`;
    const psk = ["--psk-identity", "device-17", "--psk", "secretPSK"];
    for (
      const [name, extra] of [["default offer", []], ["CCM_8", ["--suite", "PSK-AES128-CCM8"]], [
        "hybrid",
        ["--trust-anchor", "emulator", "--policy", "hybrid"],
      ]] as const
    ) {
      await t.step(name, async () => {
        const outcome = await run("coap_get", [...psk, ...extra, url]);
        assert.equal(outcome.code, 0, outcome.stderr);
        assert.match(outcome.stdout, /chain {5}none: the server proved the pre-shared key/);
        assert.match(outcome.stdout, /response {2}2\.05 Content \(\d+ bytes, content-format 40\)/);
        if (name === "CCM_8") assert.match(outcome.stdout, /suite {5}TLS_PSK_WITH_AES_128_CCM_8\b/);
      });
    }
    await t.step("without a PSK the server stays silent: the timeout says why", async () => {
      const outcome = await run("coap_get", ["--ca", fixedEcPki.root, "--timeout", "5", url]);
      assertOneLineError(
        outcome,
        "coap_get",
        1,
        /ignores a ClientHello without PSK suites: give it a `psk`/,
      );
    });
    await t.step("--psk in full is a usage error: the applet takes no pre-shared key", async () => {
      const outcome = await run("coap_get", [...psk, "--trust-anchor", "emulator", url]);
      assertOneLineError(outcome, "coap_get", 2, /applet takes no pre-shared key/);
    });
  },
});
