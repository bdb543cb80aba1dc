/**
 * Leak probe: opens, uses and closes TLS connections one after another and reports the heap
 * left per connection after a forced GC, in memory (`startTls` over an in-memory connection)
 * and over loopback TCP (`startTls` on a `Deno.TcpConn`, and `connectTls`), each against the
 * scripted test server's honest handshake: a per-connection leak grows here one connection at
 * a time, without bench/load.ts's concurrency and real servers.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/leak_probe.ts      # N=300 per row
 * ```
 *
 * @module
 */

import { SoftwareCryptoProvider } from "@anchortls/handshake";
import { ContentType } from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { connectTls, type TlsConnection } from "@anchortls/client";
import { startTls } from "@anchortls/client/advanced";
import { fixedPkiFile } from "@anchortls/testing";
import {
  memoryScriptedServer,
  PeerHandshake,
  type ScriptedPeer,
  scriptedServer,
} from "@anchortls/testing";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const N = Number(Deno.env.get("N") ?? 300);
const root = await Deno.readTextFile(fixedPkiFile("root.pem"));
const trustAnchors = parsePem(root).map((der) => parseCertificate(der));
const provider = new SoftwareCryptoProvider();

async function serve(peer: ScriptedPeer): Promise<void> {
  await new PeerHandshake(peer).complete();
  await peer.send(ContentType.alert, Uint8Array.of(1, 0));
}

async function use(tls: TlsConnection): Promise<void> {
  await tls.handshake;
  await new Response(tls.readable).arrayBuffer();
  await tls.close();
}

const rows: Record<string, () => Promise<void>> = {
  "startTls, in memory": async () => {
    const server = memoryScriptedServer(serve);
    await use(startTls(server.transport, { provider, trustAnchors, serverName: "localhost" }));
    await server.done;
    await server.close();
  },
  "startTls, Deno.TcpConn": async () => {
    const server = scriptedServer(serve);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await use(startTls(conn, { provider, trustAnchors, serverName: "localhost" }));
    await server.done;
    await server.close();
  },
  "connectTls, TCP": async () => {
    const server = scriptedServer(serve);
    await use(
      await connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
        caCerts: [root],
        provider,
      }),
    );
    await server.done;
    await server.close();
  },
};

const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

const settle = async () => {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
};

out("| path | connections | heap left per connection |");
out("| --- | --- | --- |");
// Warm every path first: compiled code and inline caches are not per connection.
for (const run of Object.values(rows)) for (let i = 0; i < 100; i++) await run();
for (const [name, run] of Object.entries(rows)) {
  await settle();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) await run();
  await settle();
  const left = (Deno.memoryUsage().heapUsed - before) / N / 1024;
  out(`| ${name} | ${N} | ${left.toFixed(2)} KiB |`);
}
