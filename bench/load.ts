/**
 * Load: many concurrent connections from one process to one local server, 1 KiB each way on
 * every one, then close. Reports handshakes per second, RSS per open connection, and what is
 * left after close and a garbage collection: open file descriptors, the heap against the
 * phase's start, and the heap against the end of the round before (what a leak would grow).
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/load.ts            # 1000 TLS, 200 DTLS
 * TLS=200 DTLS=50 deno run -A --v8-flags=--expose-gc bench/load.ts
 * ```
 *
 * TLS goes to `gnutls-serv --echo`, which serves many clients at once (`openssl s_server`
 * serves one at a time), 1 KiB out and its echo back on each. DTLS goes to libcoap's
 * `coap-server-gnutls`, which keeps many DTLS sessions at once (gnutls-serv -u and s_server
 * -dtls1_2 serve one): a CoAP GET of `/` on each, and its answer back. Connections open in
 * waves of `WAVE` (default 50) so the server's backlog is not the bottleneck, and all stay
 * open until every one has had its answer.
 *
 * @module
 */

import {
  connectDtls,
  connectTls,
  type DtlsConnection,
  type TlsConnection,
} from "@anchortls/client";
import { fixedPki, freeUdpPort, startGnutlsServer, startPeerProcess } from "@anchortls/testing";
import { coapGetRequest, decodeCoapMessage, encodeCoapMessage } from "../examples/coap.ts";

const TLS = Number(Deno.env.get("TLS") ?? 1000);
const DTLS = Number(Deno.env.get("DTLS") ?? 200);
const WAVE = Number(Deno.env.get("WAVE") ?? 50);
/** Runs each phase this many times: later rounds show what a warmed-up process keeps. */
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 2);
const root = await Deno.readTextFile(fixedPki.root);
const payload = new Uint8Array(1024).fill(0x61);
payload[1023] = 0x0a; // gnutls-serv echoes per read; a line is one read

const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;

function settle(): void {
  for (let i = 0; i < 3; i++) gc?.();
}

async function echoTls(tls: TlsConnection): Promise<void> {
  await tls.handshake;
  const writer = tls.writable.getWriter();
  await writer.write(payload);
  writer.releaseLock();
  const reader = tls.readable.getReader();
  let got = 0;
  while (got < payload.length) {
    const { value, done } = await reader.read();
    if (done) throw new Error("closed before the echo");
    got += value.length;
  }
  reader.releaseLock();
}

let messageId = 1;

async function coapGet(dtls: DtlsConnection): Promise<void> {
  await dtls.handshake;
  const id = messageId++ & 0xffff;
  await dtls.send(encodeCoapMessage(coapGetRequest([], id, Uint8Array.of(id >> 8, id & 0xff))));
  const reader = dtls.readable.getReader();
  const { value, done } = await reader.read();
  reader.releaseLock();
  if (done || decodeCoapMessage(value).messageId !== id) throw new Error("no CoAP answer");
}

/** Heap used at the end of the last round of each protocol, after close and GC. */
const lastEnd = new Map<string, number>();

async function run<C extends { close(): Promise<void> }>(
  protocol: string,
  round: number,
  count: number,
  wave: number,
  open: () => Promise<C>,
  echo: (c: C) => Promise<void>,
): Promise<void> {
  if (count === 0) return;
  settle();
  const before = Deno.memoryUsage();
  const fdsBefore = openFds();
  const connections: C[] = [];
  const started = performance.now();
  for (let at = 0; at < count; at += wave) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(wave, count - at) }, async () => {
        const c = await open();
        await echo(c);
        return c;
      }),
    );
    connections.push(...opened);
  }
  const elapsed = (performance.now() - started) / 1000;
  settle();
  const open_ = Deno.memoryUsage();
  for (const c of connections) await c.close();
  connections.length = 0;
  await new Promise((resolve) => setTimeout(resolve, 200));
  settle();
  const after = Deno.memoryUsage();
  const previous = lastEnd.get(protocol);
  lastEnd.set(protocol, after.heapUsed);
  const growth = previous === undefined ? "—" : `${mib(after.heapUsed - previous)} MiB`;
  out(
    `| ${protocol}, round ${round} | ${count} | ${(count / elapsed).toFixed(0)} | ${
      ((open_.rss - before.rss) / count / 1024).toFixed(0)
    } KiB | ${((open_.heapUsed - before.heapUsed) / count / 1024).toFixed(0)} KiB | ${
      mib(after.heapUsed - before.heapUsed)
    } MiB | ${growth} | ${openFds() - fdsBefore} |`,
  );
}

// The servers' logs stay small: gnutls-serv --echo prints every line it gets, and a log kept
// whole would be counted here as heap left per connection.
const LOG_LIMIT = 64 * 1024;
const tlsServer = await startGnutlsServer({ pki: fixedPki, maxOutput: LOG_LIMIT });
const coapPort = await freeUdpPort();
const dtlsServer = await startPeerProcess("coap-server-gnutls", {
  args: ["-A", "127.0.0.1", "-p", String(coapPort), "-c", fixedPki.chain, "-j", fixedPki.leafKey],
  // It listens for DTLS one port above the plain CoAP port.
  ready: { port: coapPort + 1, transport: "udp" },
  timeoutMs: 5000,
  maxOutput: LOG_LIMIT,
});
try {
  out(`gc: ${gc ? "forced between phases" : "not exposed (run with --v8-flags=--expose-gc)"}`);
  out(
    "| protocol | connections | handshakes + exchange /s | RSS per open connection | heap per open connection | heap left after close + GC | heap growth over the round before | fds left |",
  );
  out("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (let round = 1; round <= ROUNDS; round++) {
    await run(
      "TLS",
      round,
      TLS,
      WAVE,
      () =>
        connectTls({
          hostname: "127.0.0.1",
          port: tlsServer.port,
          serverName: "localhost",
          caCerts: [root],
        }),
      echoTls,
    );
  }
  for (let round = 1; round <= ROUNDS; round++) {
    await run(
      "DTLS (CoAP GET)",
      round,
      DTLS,
      WAVE,
      () =>
        connectDtls({
          hostname: "127.0.0.1",
          port: coapPort + 1,
          serverName: "localhost",
          caCerts: [root],
          retransmit: { initialTimeoutMs: 500, handshakeTimeoutMs: 60_000 },
        }),
      coapGet,
    );
  }
} finally {
  await tlsServer.stop();
  await dtlsServer.stop();
}
