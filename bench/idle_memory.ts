/**
 * Memory per idle connection (issue 19): opens N TLS connections to `gnutls-serv --echo` from
 * one process, waits for every handshake, and reports what each one holds while idle — the
 * JavaScript heap and the ArrayBuffers outside it (`heapUsed + external`, after a forced GC)
 * and the process RSS — then the same after a 1 KiB round trip on each, then closes them all.
 * Runs with the defaults and with the smallest knobs, each alone and together:
 * record_size_limit and max_fragment_length of 512, and a 512-byte read buffer.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/idle_memory.ts            # N=1,100,1000
 * N=200 SETTINGS=defaults deno run -A --v8-flags=--expose-gc bench/idle_memory.ts
 * ```
 *
 * @module
 */

import { connectTls, type ConnectTlsOptions, type TlsConnection } from "@anchortls/client";
import { fixedPki, type PeerProcess, startGnutlsServer } from "@anchortls/testing";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const COUNTS = (Deno.env.get("N") ?? "1,100,1000").split(",").map(Number);
const WAVE = 50;
const root = await Deno.readTextFile(fixedPki.root);
const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

interface Reading {
  readonly heap: number;
  readonly rss: number;
}

async function settle(): Promise<Reading> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = Deno.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

async function roundTrip(tls: TlsConnection): Promise<void> {
  const line = new Uint8Array(1024).fill(0x61);
  line[1023] = 0x0a;
  const writer = tls.writable.getWriter();
  await writer.write(line);
  writer.releaseLock();
  const reader = tls.readable.getReader();
  let got = 0;
  while (got < line.length) {
    const { value, done } = await reader.read();
    if (done) throw new Error("closed early");
    got += value.length;
  }
  reader.releaseLock();
}

/** A fresh server per measurement: gnutls-serv select()s, so its descriptors must stay below 1024. */
function startServer(): Promise<PeerProcess> {
  return startGnutlsServer({
    pki: fixedPki,
    keyExchanges: "+ECDHE-RSA:+RSA",
    ciphers: "+AES-128-GCM:+AEAD:+AES-128-CBC:+AES-256-CBC:+SHA1:+SHA256",
    maxOutput: 4096,
  });
}

async function measure(label: string, n: number, knobs: Partial<ConnectTlsOptions>): Promise<void> {
  await using server = await startServer();
  const port = server.port;
  const before = await settle();
  const connections: TlsConnection[] = [];
  for (let i = 0; i < n; i += WAVE) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(WAVE, n - i) }, async () => {
        const tls = await connectTls({
          hostname: "127.0.0.1",
          port,
          serverName: "localhost",
          caCerts: [root],
          ...knobs,
        });
        await tls.handshake;
        return tls;
      }),
    );
    connections.push(...wave);
  }
  const idle = await settle();
  for (let i = 0; i < n; i += WAVE) {
    await Promise.all(connections.slice(i, i + WAVE).map(roundTrip));
  }
  const used = await settle();
  await Promise.all(connections.map((c) => c.close()));
  const per = (r: Reading) =>
    `${kib((r.heap - before.heap) / n).padStart(6)} KiB heap, ${
      kib((r.rss - before.rss) / n).padStart(6)
    } KiB RSS`;
  out(`| ${label.padEnd(26)} | ${String(n).padStart(5)} | ${per(idle)} | ${per(used)} |`);
}

out(
  "| settings                   |     N | idle (per connection)              | after 1 KiB each way               |",
);
out(
  "| -------------------------- | ----: | ---------------------------------- | ---------------------------------- |",
);
// One connection first, unmeasured: the modules and the shared provider are loaded once.
await measure("warm-up", 1, {});
const settings: [string, Partial<ConnectTlsOptions>][] = [
  ["defaults", {}],
  ["record limits 512", { recordSizeLimit: 512, maxFragmentLength: 512 }],
  ["read buffer 512", { readBufferSize: 512 }],
  ["both", { recordSizeLimit: 512, maxFragmentLength: 512, readBufferSize: 512 }],
];
const only = Deno.env.get("SETTINGS")?.split(",");
for (const n of COUNTS) {
  for (const [label, knobs] of settings) {
    if (!only || only.includes(label)) await measure(label, n, knobs);
  }
}
