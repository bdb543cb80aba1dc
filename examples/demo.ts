// deno-lint-ignore-file no-console
/**
 * The whole system on this machine, in well under a minute, with no arguments:
 *
 * 1. a fresh throwaway PKI (root, intermediate, RSA and ECDSA server leaves for localhost, an
 *    ECDSA P-256 client certificate: the device's identity, in the chip for hybrid and full);
 * 2. `openssl s_server` for TLS 1.2 and `openssl s_server -dtls1_2` on free loopback ports;
 * 3. the emulated MULTOS Trust Anchor (`packages/multos-apdu/emulator_cli.ts`) on one end of a
 *    `socat` pseudo-terminal pair, the host on the other (in-process when socat is missing);
 * 4. a TLS connection with each policy — `software` (all on the host), `hybrid` (device key
 *    in the chip), `full` (every secret and record key in the chip) — then the same over DTLS;
 * 5. when mosquitto is installed, an MQTT broker that requires client certificates, and a
 *    `full` run that publishes a retained QoS 1 message and receives it back (otherwise it
 *    says how to install mosquitto).
 *
 * Each run prints the suite, EtM, EMS, the chain and the name it was verified for, where each
 * operation ran, APDUs and link bytes, and the handshake time, then a `✓` line. Everything it
 * started is stopped on exit, Ctrl-C included.
 *
 * Run: `deno run -A examples/demo.ts` (or `deno task demo`).
 *
 * @module
 */

import {
  commandAvailable,
  createTestPki,
  type PeerProcess,
  startMosquitto,
  startOpenSslServer,
  type TestPki,
} from "@anchortls/testing";
import type { HandshakeInfo } from "@anchortls/handshake";
import { OPENSSL_CIPHER_NAMES } from "@anchortls/record";
import { MultosCryptoProvider, TrustCoreEmulator } from "@anchortls/multos-apdu";
import { startEmulatorProcess } from "@anchortls/multos-apdu/testing";
import {
  type ByteLink,
  CommandModeDevice,
  CommandModeTransport,
  createMemoryLinkPair,
  openSerialPort,
} from "@anchortls/transport-serial";
import { socatAvailable, spawnPtyPair } from "@anchortls/transport-serial/testing";
import type { PolicyName } from "./_args.ts";
import {
  countingLink,
  type LinkCounters,
  meterProvider,
  type OpenedProvider,
  openProvider,
} from "./_provider.ts";
import { formatSummary } from "./_report.ts";
import { type ConnectTarget, openTls } from "./_tls.ts";
import { openDtls } from "./_dtls.ts";
import { mqttRoundTrip } from "./mqtt.ts";

const PIN = "1234";
const POLICIES: readonly PolicyName[] = ["software", "hybrid", "full"];

/** Things to stop, last started first. */
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> = Promise.resolve();
/** Set by SIGINT/SIGTERM: no new run starts, and the demo exits with 130. */
let interrupted = false;

/** Stops everything registered so far (one pass at a time; later calls stop later arrivals). */
function cleanUp(): Promise<void> {
  cleaning = cleaning.then(async () => {
    for (let stop = cleanups.pop(); stop; stop = cleanups.pop()) await stop().catch(() => {});
  });
  return cleaning;
}

/**
 * Registers something to stop. After a signal it is stopped at once: it was started by a step
 * that was already under way when Ctrl-C came.
 */
function track(stop: () => Promise<void>): void {
  cleanups.push(stop);
  if (interrupted) void cleanUp();
}

const progress = (line: string) => console.log(`• ${line}`);

/** The emulated chip and the host's serial link to it. */
interface Chip {
  /** How the host reaches it, for the report. */
  readonly where: string;
  /** The host side: one command-mode transport, shared by the runs that use the chip. */
  readonly transport: CommandModeTransport;
  /** Bytes on the host's end of the link. */
  readonly counters: LinkCounters;
}

/** Starts the emulator CLI on one end of a socat pty pair and opens the other end. */
async function chipBehindPty(pki: TestPki): Promise<Chip> {
  const pair = await spawnPtyPair();
  track(() => pair.close());
  const emulator = await startEmulatorProcess({
    tty: pair.paths[0],
    pin: PIN,
    key: pki.ecClientKey,
    cert: pki.ecClient,
    stderr: "null",
  });
  track(() => emulator.stop());
  const counters: LinkCounters = { sent: 0, received: 0 };
  const port = await openSerialPort(pair.paths[1], { baudRate: 115200 });
  const transport = await CommandModeTransport.open(countingLink(port, counters));
  track(() => transport.close());
  return { where: `emulator on ${pair.paths[0]} ↔ host on ${pair.paths[1]}`, transport, counters };
}

/** The same chip in this process, over an in-memory link. */
async function chipInProcess(pki: TestPki): Promise<Chip> {
  const chip = await TrustCoreEmulator.fromPem({
    pin: PIN,
    keyPem: await Deno.readTextFile(pki.ecClientKey),
    certificatePem: await Deno.readTextFile(pki.ecClient),
  });
  const [hostEnd, chipEnd] = createMemoryLinkPair();
  const device = new CommandModeDevice(chipEnd, chip.handle, { onReset: () => chip.reset() });
  track(() => device.close());
  const counters: LinkCounters = { sent: 0, received: 0 };
  const transport = await CommandModeTransport.open(countingLink(hostEnd as ByteLink, counters));
  track(() => transport.close());
  return { where: "emulator in-process (memory link)", transport, counters };
}

/** A provider for one run: software with the PKI's client certificate, or the chip. */
async function providerFor(policy: PolicyName, chip: Chip, pki: TestPki): Promise<OpenedProvider> {
  if (policy === "software") {
    return await openProvider({
      policy,
      certPem: await Deno.readTextFile(pki.ecClientChain),
      keyPem: await Deno.readTextFile(pki.ecClientKey),
    });
  }
  const provider = await MultosCryptoProvider.open(chip.transport, { policy, pin: PIN });
  return {
    provider,
    where: chip.where,
    apdus: () => provider.trustCore.stats.apdus,
    linkBytes: () => ({ ...chip.counters }),
    close: () => provider.close(),
  };
}

/** What one run showed, for its success line. */
interface RunResult {
  readonly info: HandshakeInfo;
  readonly apdus: number;
  readonly handshakeMs: number;
}

/** What a run's connect step hands back. */
interface Attempt {
  /** Settles with the handshake. */
  readonly info: Promise<HandshakeInfo>;
  /** Network bytes, when counted. */
  readonly wire?: { sent: number; received: number };
  /** Extra summary lines taken right after the handshake. */
  readonly extra?: () => string[];
  /** Exchanges some data and closes; returns what it showed. */
  after(): Promise<string>;
}

/**
 * One run: opens the policy's provider, connects to the local server as `localhost` through
 * `connect`, prints the summary once the run's data exchange is done, and closes the provider.
 */
async function measured(
  protocol: string,
  policy: PolicyName,
  server: PeerProcess,
  pki: TestPki,
  chip: Chip,
  connect: (target: ConnectTarget) => Promise<Attempt>,
): Promise<RunResult> {
  const label = `${protocol} ${policy}`;
  const serverName = "localhost";
  const opened = await providerFor(policy, chip, pki);
  try {
    const meter = meterProvider(opened);
    const run = await connect({
      hostname: "127.0.0.1",
      port: server.port,
      serverName,
      caPem: await Deno.readTextFile(pki.root),
      provider: meter.provider,
      encryptThenMac: true,
    });
    const info = await run.info;
    const summary = meter.summary(info, serverName, run.wire, true);
    const extra = run.extra?.() ?? [];
    const check = await run.after();
    console.log(`\n${label}`);
    for (const line of formatSummary(summary)) console.log(line);
    for (const line of extra) console.log(`  ${line}`);
    console.log(`  data      ${check}`);
    return { info, apdus: summary.apdus, handshakeMs: summary.handshakeMs };
  } finally {
    await opened.close();
  }
}

function successLine(protocol: string, policy: PolicyName, result: RunResult): string {
  const { info } = result;
  const extensions = [
    info.suite.kind === "aead" ? "AEAD" : info.encryptThenMac ? "EtM" : "no EtM",
    info.extendedMasterSecret ? "EMS" : "no EMS",
  ];
  return `✓ ${protocol} ${policy}: ${info.suite.name}, ${extensions.join(", ")}, ` +
    `${result.apdus} APDUs, ${result.handshakeMs.toFixed(0)} ms`;
}

async function tlsRun(
  policy: PolicyName,
  server: PeerProcess,
  pki: TestPki,
  chip: Chip,
): Promise<RunResult> {
  return await measured("TLS", policy, server, pki, chip, async (target) => {
    const { connection, wire } = await openTls({
      ...target,
      signal: AbortSignal.timeout(20_000),
    });
    return {
      info: connection.handshake,
      wire,
      async after() {
        try {
          const writer = connection.writable.getWriter();
          await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
          writer.releaseLock();
          const page = await new Response(connection.readable).text();
          const cipher = page.match(/Cipher is (\S+)/)?.[1];
          if (!page.startsWith("HTTP/1.0 200") || !cipher) {
            throw new Error("s_server's status page did not come back");
          }
          return `GET / → ${page.length}-byte status page from s_server ("Cipher is ${cipher}")`;
        } finally {
          await connection.close();
        }
      },
    };
  });
}

async function dtlsRun(
  policy: PolicyName,
  server: PeerProcess,
  pki: TestPki,
  chip: Chip,
): Promise<RunResult> {
  return await measured("DTLS", policy, server, pki, chip, async (target) => {
    const { connection, wire } = await openDtls({ ...target, handshakeTimeoutMs: 20_000 });
    return {
      info: connection.handshake,
      wire,
      extra: () => {
        const stats = connection.stats;
        return [
          `datagrams ${stats.datagramsSent} sent, ${stats.datagramsReceived} received, ` +
          `${stats.retransmissions} retransmissions`,
        ];
      },
      async after() {
        try {
          const line = `hello over DTLS (${policy})`;
          const writer = connection.writable.getWriter();
          await writer.write(new TextEncoder().encode(line + "\n"));
          writer.releaseLock();
          await server.waitFor(new RegExp(line.replace(/[()]/g, "\\$&")), 10_000);
          return `one datagram to s_server, which printed "${line}"`;
        } finally {
          await connection.close();
        }
      },
    };
  });
}

async function mqttRun(
  policy: PolicyName,
  broker: PeerProcess,
  pki: TestPki,
  chip: Chip,
): Promise<RunResult> {
  return await measured("MQTT", policy, broker, pki, chip, async (target) => {
    const { connection, wire } = await openTls({
      ...target,
      alpnProtocols: ["mqtt"],
      signal: AbortSignal.timeout(20_000),
    });
    return {
      info: connection.handshake,
      wire,
      async after() {
        try {
          const steps: string[] = [];
          const topic = "anchortls/demo/state";
          await mqttRoundTrip(
            connection,
            topic,
            new TextEncoder().encode(`online (${policy})`),
            (line) => steps.push(line),
          );
          return `CONNECT, SUBSCRIBE ${topic}, PUBLISH retained QoS 1: PUBACK, and the ` +
            `message back through the subscription (${steps.length} steps)`;
        } finally {
          await connection.close();
        }
      },
    };
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  if (!(await commandAvailable("openssl"))) {
    console.log("demo: openssl is missing — install it with: apt-get install -y openssl");
    return 1;
  }
  progress("making a fresh test PKI (root, intermediate, leaf for localhost, client) …");
  const pki = await createTestPki();
  track(() => pki.remove());
  progress(`  in ${pki.dir}`);

  const serverIdentity = { ...pki, root: pki.cas };
  // An RSA and an ECDSA certificate in one server: the suite each client negotiates picks
  // (software and hybrid: ECDHE_ECDSA with AES-GCM; full: the chip's RSA key transport).
  const ecdsaCertificate = ["-dcert", pki.ecLeaf, "-dkey", pki.ecLeafKey];
  const dualCertificates = [...ecdsaCertificate, "-dcert_chain", pki.intermediate];
  const tlsServer = await startOpenSslServer({
    pki: serverIdentity,
    mode: "www",
    clientCertificate: "request",
    ciphers: Object.values(OPENSSL_CIPHER_NAMES),
    extraArgs: dualCertificates,
  });
  track(() => tlsServer.stop());
  progress(
    `openssl s_server (TLS 1.2, asks for a client certificate) on 127.0.0.1:${tlsServer.port}`,
  );
  const dtlsServer = await startOpenSslServer({
    pki: serverIdentity,
    dtls: true,
    mtu: 1400,
    clientCertificate: "request",
    ciphers: Object.values(OPENSSL_CIPHER_NAMES),
    extraArgs: dualCertificates,
  });
  track(() => dtlsServer.stop());
  progress(`openssl s_server -dtls1_2 on 127.0.0.1:${dtlsServer.port}`);

  let chip: Chip;
  if (await socatAvailable()) {
    progress("starting the Trust Core emulator behind a socat pseudo-terminal pair …");
    chip = await chipBehindPty(pki);
  } else {
    progress(
      "socat is missing: the Trust Core emulator runs in-process (apt-get install -y socat)",
    );
    chip = await chipInProcess(pki);
  }
  progress(`  ${chip.where}`);

  const results: string[] = [];
  let failures = 0;
  const attempt = async (protocol: string, policy: PolicyName, run: () => Promise<RunResult>) => {
    if (interrupted) return;
    progress(`${protocol} with policy ${policy} …`);
    try {
      const line = successLine(protocol, policy, await run());
      console.log(line);
      results.push(line);
    } catch (error) {
      if (interrupted) return;
      failures++;
      console.log(`✗ ${protocol} ${policy}: ${error instanceof Error ? error.message : error}`);
    }
  };
  for (const policy of POLICIES) {
    await attempt("TLS", policy, () => tlsRun(policy, tlsServer, pki, chip));
  }
  for (const policy of POLICIES) {
    await attempt("DTLS", policy, () => dtlsRun(policy, dtlsServer, pki, chip));
  }
  if (await commandAvailable("mosquitto", ["-h"])) {
    const broker = await startMosquitto({ pki, requireCertificate: true });
    track(() => broker.stop());
    progress(
      `mosquitto (MQTT over TLS, requires a client certificate) on 127.0.0.1:${broker.port}`,
    );
    await attempt("MQTT", "full", () => mqttRun("full", broker, pki, chip));
  } else {
    progress("mosquitto is missing: the MQTT run is skipped (apt-get install -y mosquitto)");
  }

  if (interrupted) return 130;
  progress("stopping the servers and the emulator …");
  await cleanUp();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const runs = results.length + failures;
  if (failures > 0) {
    console.log(`✗ demo: ${failures} of ${runs} runs failed (${seconds} s)`);
    return 1;
  }
  console.log(`✓ demo complete: all ${results.length} runs succeeded in ${seconds} s`);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.log(`\n• ${signal}: stopping everything the demo started …`);
    void cleanUp();
    // The main flow unwinds quickly once its servers are gone; this is the backstop.
    Deno.unrefTimer(setTimeout(() => cleanUp().finally(() => Deno.exit(130)), 5000));
  });
}

const USAGE = `usage: deno run -A examples/demo.ts

Runs the whole system on this machine and exits: a throwaway PKI, openssl s_server for TLS 1.2
and DTLS 1.2 on free loopback ports, the emulated MULTOS Trust Anchor behind a socat
pseudo-terminal pair (in-process without socat), then a TLS and a DTLS connection with each
policy (software, hybrid, full), printing where each operation ran, APDUs, link bytes and
times. Everything it starts is stopped on exit, Ctrl-C included. Needs openssl.

  -h, --help    print this help

The example clients take options: deno run -A examples/https_get.ts --help`;

if (import.meta.main && (Deno.args.includes("--help") || Deno.args.includes("-h"))) {
  console.log(USAGE);
  Deno.exit(0);
}
if (import.meta.main && Deno.args.length > 0) {
  console.log(`demo: no arguments expected (got ${Deno.args.join(" ")})\n\n${USAGE}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    if (!interrupted) console.log(`✗ demo: ${error instanceof Error ? error.message : error}`);
  } finally {
    await cleanUp();
  }
  Deno.exit(interrupted ? 130 : code);
}
