// deno-lint-ignore-file no-console
/**
 * What a MULTOS Trust Anchor costs a TLS client: APDUs, link bytes and wall time per full
 * handshake and per 1 KiB application record, for the `software` (baseline), `hybrid` and
 * `full` provider policies, against a local `openssl s_server` that asks for a client
 * certificate (the chip's device key signs CertificateVerify in `hybrid` and `full`).
 *
 * The chip is a `TrustCoreEmulator` reached two ways:
 * - memory: in process, through `createMemoryLinkPair` with MULTOS command-mode framing on both
 *   ends (`CommandModeTransport` ↔ `CommandModeDevice`), so the counted bytes are real frames;
 * - pty: `emulator_cli.ts` in a subprocess behind a socat pseudo-terminal pair at 115200
 *   (skipped with a note when socat is absent). A pty does not pace at its baud rate.
 *
 * Link bytes are counted on the host's end of the link (command frames, ACKs, response frames).
 * Beside each measured time the bench prints what those bytes take on a real 115200-baud 8N1
 * UART (10 bits per byte), which neither link simulates; the chip's own processing comes on top.
 *
 * - handshake: TCP connect, full TLS 1.2 handshake (TLS_RSA_WITH_AES_128_CBC_SHA256 with EtM,
 *   or the suite `SUITE` names, e.g. `SUITE=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` for the
 *   chip's ECDHE and GCM; EMS, server chain checked, client certificate), close_notify, close. One provider makes every
 *   handshake of its row, so from the second one on `full` erases the previous session's keys.
 * - 1 KiB echo: on one open connection, a 1024-byte record to `s_server -rev` and the 1024-byte
 *   record it sends back (one record each way).
 *
 * Before the benches run, the file prints a table of APDU and byte counts per operation. They
 * depend only on the command sequence, not on timing (record counts are averages because one
 * pooled GET RANDOM serves fifteen record IVs).
 *
 * Run: `deno bench -A bench/multos_bench.ts` (openssl and, for the pty rows, socat on the PATH).
 *
 * @module
 */

import { connectTls, type ConnectTlsOptions, type TlsConnection } from "@anchortls/client";
import { fixedEcPki, fixedPki, startOpenSslServer } from "@anchortls/testing";
import { type CryptoProvider, SoftwareCryptoProvider } from "@anchortls/handshake";
import { MultosCryptoProvider, TrustCoreEmulator } from "@anchortls/multos-apdu";
import { startEmulatorProcess } from "@anchortls/multos-apdu/testing";
import { cipherSuiteByName, CipherSuites, OPENSSL_CIPHER_NAMES } from "@anchortls/record";
import {
  type ApduTransport,
  type ByteLink,
  CommandModeDevice,
  CommandModeTransport,
  createMemoryLinkPair,
  openSerialPort,
} from "@anchortls/transport-serial";
import { socatAvailable, spawnPtyPair } from "@anchortls/transport-serial/testing";
import { parsePem } from "@anchortls/x509";

const UART_BYTES_PER_SECOND = 115200 / 10;
const SUITE = cipherSuiteByName(Deno.env.get("SUITE") ?? "TLS_RSA_WITH_AES_128_CBC_SHA256") ??
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256;
const OPENSSL_NAME = OPENSSL_CIPHER_NAMES[SUITE.name as keyof typeof OPENSSL_CIPHER_NAMES];
/** PSO commands per record in `full`: one GCM, or a MAC and a cipher for CBC. */
const PSOS_PER_RECORD = SUITE.kind === "aead" ? 1 : 2;
const PIN = "4711";
const RECORD = 1024;
const COUNTED_HANDSHAKES = 8;
const COUNTED_ECHOES = 30;
const INS_PSO = 0x2a;

const rootPem = await Deno.readTextFile(fixedPki.root);
const clientKeyPem = await Deno.readTextFile(fixedPki.clientKey);
const clientCertPem = await Deno.readTextFile(fixedPki.client);

/** Everything that must stop when the run ends (deno bench has no teardown hook). */
const cleanups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch {
      // Already gone.
    }
  }
});

/** Starts `openssl s_server -rev` on a free port, asking for a client certificate. */
async function startServer(): Promise<number> {
  const server = await startOpenSslServer({
    pki: fixedPki,
    mode: "rev",
    ciphers: [OPENSSL_NAME],
    extraArgs: [
      ["-CAfile", fixedPki.root, "-chainCAfile", fixedPki.intermediate, "-Verify", "3"],
      // The P-256 certificate too, for the ECDHE_ECDSA suites.
      ["-dcert", fixedEcPki.leaf, "-dkey", fixedEcPki.leafKey],
      ["-dcert_chain", fixedEcPki.intermediate],
    ].flat(),
  });
  cleanups.push(() => void server.stop());
  return server.port;
}

/** Bytes that crossed one chip link, counted on the host's end, and the APDUs sent. */
interface Meter {
  apdus: number;
  hostToChip: number;
  chipToHost: number;
  /** Called when a PERFORM SECURITY OPERATION command has been answered. */
  afterPso?: () => void;
}

type Reading = Omit<Meter, "afterPso">;

const read = (m: Meter): Reading => ({
  apdus: m.apdus,
  hostToChip: m.hostToChip,
  chipToHost: m.chipToHost,
});

const minus = (a: Reading, b: Reading): Reading => ({
  apdus: a.apdus - b.apdus,
  hostToChip: a.hostToChip - b.hostToChip,
  chipToHost: a.chipToHost - b.chipToHost,
});

/**
 * Counts the bytes of a host-side link in both directions. Local to this file: the memory
 * link's taps count only in-memory pairs, and the pty needs the same counting.
 */
function countedLink(link: ByteLink, meter: Meter): ByteLink {
  const writer = link.writable.getWriter();
  return {
    readable: link.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          meter.chipToHost += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    ),
    writable: new WritableStream<Uint8Array>({
      write(chunk) {
        meter.hostToChip += chunk.length;
        return writer.write(chunk);
      },
    }),
    close: () => link.close(),
  };
}

/** Counts APDUs, and reports answered PERFORM SECURITY OPERATIONs to split records. */
function meteredTransport(transport: ApduTransport, meter: Meter): ApduTransport {
  return {
    async transmit(apdu, options) {
      meter.apdus++;
      const response = await transport.transmit(apdu, options);
      if (apdu[1] === INS_PSO) meter.afterPso?.();
      return response;
    },
    close: () => transport.close(),
  };
}

/** The emulated chip in process, behind command-mode framing over an in-memory pair. */
async function memoryChip(meter: Meter): Promise<ApduTransport> {
  const chip = await TrustCoreEmulator.fromPem({
    pin: PIN,
    keyPem: clientKeyPem,
    certificatePem: clientCertPem,
  });
  const [hostEnd, chipEnd] = createMemoryLinkPair();
  const device = new CommandModeDevice(chipEnd, chip.handle);
  const transport = await CommandModeTransport.open(countedLink(hostEnd, meter));
  cleanups.push(() => void transport.close(), () => void device.close());
  return meteredTransport(transport, meter);
}

/** `emulator_cli.ts` on one end of a socat pty pair; the host on the other at 115200. */
async function ptyChip(meter: Meter): Promise<ApduTransport> {
  const pair = await spawnPtyPair();
  cleanups.push(() => void pair.close());
  const emulator = await startEmulatorProcess({
    tty: pair.paths[0],
    pin: PIN,
    key: fixedPki.clientKey,
    cert: fixedPki.client,
  });
  cleanups.push(() => void emulator.stop());
  const port = await openSerialPort(pair.paths[1], { baudRate: 115200 });
  const transport = await CommandModeTransport.open(countedLink(port, meter));
  cleanups.push(() => void transport.close());
  return meteredTransport(transport, meter);
}

/** One bench row: a policy, how its chip is reached, its provider and its echo server. */
interface Row {
  label: string;
  baseline: boolean;
  /** Makes every handshake of the row, so a `full` one erases the previous session's keys. */
  provider: CryptoProvider;
  meter: Meter;
  /** An `s_server -rev` of the row's own: it serves one connection at a time. */
  echoPort: number;
}

async function softwareRow(): Promise<Row> {
  const provider = await SoftwareCryptoProvider.create({
    clientCertificate: { chain: parsePem(clientCertPem), privateKey: clientKeyPem },
  });
  return {
    label: "software",
    baseline: true,
    provider,
    meter: { apdus: 0, hostToChip: 0, chipToHost: 0 },
    echoPort: await startServer(),
  };
}

async function chipRow(policy: "hybrid" | "full", link: "memory" | "pty"): Promise<Row> {
  const meter: Meter = { apdus: 0, hostToChip: 0, chipToHost: 0 };
  const transport = link === "memory" ? await memoryChip(meter) : await ptyChip(meter);
  return {
    label: `${policy}, ${link === "memory" ? "memory link" : "pty 115200"}`,
    baseline: false,
    provider: await MultosCryptoProvider.open(transport, { policy, pin: PIN }),
    meter,
    echoPort: await startServer(),
  };
}

function options(port: number, provider: CryptoProvider): ConnectTlsOptions {
  return {
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts: [rootPem],
    provider,
    suites: [SUITE],
    encryptThenMac: true,
  };
}

async function handshakeAndClose(port: number, provider: CryptoProvider): Promise<void> {
  const tls = await connectTls(options(port, provider));
  await tls.handshake;
  await tls.close();
}

/** A connection to an echo server with its writer and reader held for the whole run. */
interface EchoConnection {
  tls: TlsConnection;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

async function openEcho(port: number, provider: CryptoProvider): Promise<EchoConnection> {
  const tls = await connectTls(options(port, provider));
  await tls.handshake;
  return { tls, writer: tls.writable.getWriter(), reader: tls.readable.getReader() };
}

// s_server -rev answers each line reversed, so 1023 bytes and a newline come back as one record.
const LINE = new Uint8Array(RECORD).fill(0x61).fill(0x0a, RECORD - 1);

async function echo(connection: EchoConnection): Promise<void> {
  await connection.writer.write(LINE);
  let received = 0;
  while (received < RECORD) {
    const { value, done } = await connection.reader.read();
    if (done) throw new Error(`echo ended after ${received} bytes`);
    received += value.length;
  }
}

/** Per-operation counts of one row, measured before the timed runs. */
interface Counts {
  open: Reading;
  firstHandshake: Reading;
  handshake: Reading;
  closeNotify: Reading;
  seal: Reading;
  unseal: Reading;
}

const average = (total: Reading, n: number): Reading => ({
  apdus: total.apdus / n,
  hostToChip: total.hostToChip / n,
  chipToHost: total.chipToHost / n,
});

const sum = (a: Reading, b: Reading): Reading => ({
  apdus: a.apdus + b.apdus,
  hostToChip: a.hostToChip + b.hostToChip,
  chipToHost: a.chipToHost + b.chipToHost,
});

const ZERO: Reading = { apdus: 0, hostToChip: 0, chipToHost: 0 };

async function count(row: Row, handshakePort: number): Promise<Counts> {
  const { provider, meter } = row;
  const open = read(meter);
  let firstHandshake = ZERO;
  let handshakes = ZERO;
  let closes = ZERO;
  for (let i = 0; i <= COUNTED_HANDSHAKES; i++) {
    const before = read(meter);
    const tls = await connectTls(options(handshakePort, provider));
    await tls.handshake;
    const shaken = read(meter);
    await tls.close();
    if (i === 0) firstHandshake = minus(shaken, before);
    else handshakes = sum(handshakes, minus(shaken, before));
    if (i > 0) closes = sum(closes, minus(read(meter), shaken));
  }
  const connection = await openEcho(row.echoPort, provider);
  let seals = ZERO;
  let unseals = ZERO;
  for (let i = 0; i < COUNTED_ECHOES; i++) {
    const before = read(meter);
    // A 1 KiB record is one MAC and one cipher command (CBC) or one GCM command each way, and
    // the server answers only after our record arrived: the first PSOs seal, the rest open.
    let sealed: Reading | undefined;
    let psos = 0;
    meter.afterPso = () => {
      if (++psos === PSOS_PER_RECORD) sealed = read(meter);
    };
    await echo(connection);
    delete meter.afterPso;
    const after = read(meter);
    sealed ??= after;
    seals = sum(seals, minus(sealed, before));
    unseals = sum(unseals, minus(after, sealed));
  }
  await connection.tls.close();
  return {
    open,
    firstHandshake,
    handshake: average(handshakes, COUNTED_HANDSHAKES),
    closeNotify: average(closes, COUNTED_HANDSHAKES),
    seal: average(seals, COUNTED_ECHOES),
    unseal: average(unseals, COUNTED_ECHOES),
  };
}

const linkBytes = (r: Reading): number => r.hostToChip + r.chipToHost;
const linkMs = (r: Reading): number => linkBytes(r) / UART_BYTES_PER_SECOND * 1000;
const fixed = (n: number): string => Number.isInteger(n) ? String(n) : n.toFixed(2);

function describe(r: Reading): string {
  return `${fixed(r.apdus)} APDUs, ${fixed(r.hostToChip)} B → chip, ${
    fixed(r.chipToHost)
  } B → host, ${linkMs(r).toFixed(1)} ms at 115200`;
}

const havePty = await socatAvailable();
if (!havePty) console.log("socat not found: the pty rows are skipped");

const handshakePort = await startServer();
const rows: Row[] = [
  await softwareRow(),
  await chipRow("hybrid", "memory"),
  await chipRow("full", "memory"),
  ...(havePty ? [await chipRow("hybrid", "pty"), await chipRow("full", "pty")] : []),
];

const counted = new Map<Row, Counts>();
const table: string[] = [
  "| row | open | first handshake | handshake | close_notify | 1 KiB out | 1 KiB in |",
  "| --- | --- | --- | --- | --- | --- | --- |",
];
const cell = (r: Reading) =>
  `${fixed(r.apdus)} / ${fixed(r.hostToChip)}+${fixed(r.chipToHost)} B / ${
    linkMs(r).toFixed(1)
  } ms`;
for (const row of rows) {
  const counts = await count(row, handshakePort);
  counted.set(row, counts);
  table.push(
    `| ${row.label} | ${cell(counts.open)} | ${cell(counts.firstHandshake)} | ${
      cell(counts.handshake)
    } | ${cell(counts.closeNotify)} | ${cell(counts.seal)} | ${cell(counts.unseal)} |`,
  );
}
console.log(
  "APDUs / link bytes host→chip+chip→host / link time at 115200 baud, per operation:\n" +
    table.join("\n"),
);

// deno bench runs benches in the order they are registered: every handshake bench ends before
// the first echo connection opens, so no handshake erases the keys of an open connection.
for (const row of rows) {
  const counts = counted.get(row)!;
  Deno.bench({
    name: `${row.label}: ${describe(sum(counts.handshake, counts.closeNotify))}`,
    group: "handshake + close",
    baseline: row.baseline,
    async fn() {
      await handshakeAndClose(handshakePort, row.provider);
    },
  });
}

for (const row of rows) {
  const counts = counted.get(row)!;
  let connection: Promise<EchoConnection> | undefined;
  Deno.bench({
    name: `${row.label}: ${describe(sum(counts.seal, counts.unseal))}`,
    group: "1 KiB record out + 1 KiB record in",
    baseline: row.baseline,
    async fn(b) {
      connection ??= openEcho(row.echoPort, row.provider);
      const open = await connection;
      b.start();
      await echo(open);
      b.end();
    },
  });
}
