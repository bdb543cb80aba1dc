/**
 * Bytes on the wire and round trips (issue 19): a full handshake, resumption by session ID,
 * by session ticket, and by a session exported, "restarted" (a new provider) and imported,
 * against `openssl s_server` (TLS 1.2, the default offer: ECDHE_RSA with AES-128-GCM); and a
 * DTLS application record with a Connection ID against one without, against the in-memory
 * server. Counted under the TLS layer, so record headers are in; round trips are the server
 * flights the client waited for before it could send application data.
 *
 * ```sh
 * deno run -A bench/resumption_bytes.ts
 * ```
 *
 * @module
 */

import {
  exportSession,
  type HandshakeInfo,
  type HandshakeTrace,
  importSession,
  SoftwareCryptoProvider,
  type TlsSession,
} from "@anchortls/handshake";
import { DtlsClientCore } from "@anchortls/handshake/dtls";
import { type ByteTransport, startTls } from "@anchortls/client/advanced";
import { parseCertificate, parsePem } from "@anchortls/x509";
import {
  DtlsTestServer,
  fixedPki,
  fixedTrustAnchors,
  startOpenSslServer,
} from "@anchortls/testing";

const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
const trustAnchors = parsePem(await Deno.readTextFile(fixedPki.root)).map((d) =>
  parseCertificate(d)
);

interface Run {
  readonly info: HandshakeInfo;
  readonly sent: number;
  readonly received: number;
  readonly roundTrips: number;
}

/** A TCP connection counted both ways. */
async function counted(
  port: number,
): Promise<{ transport: ByteTransport; wire: { sent: number; received: number } }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const wire = { sent: 0, received: 0 };
  return {
    wire,
    transport: {
      readable: new ReadableStream<Uint8Array>({
        async pull(controller) {
          const buffer = new Uint8Array(16 * 1024);
          const n = await conn.read(buffer);
          if (n === null) controller.close();
          else {
            wire.received += n;
            controller.enqueue(buffer.slice(0, n));
          }
        },
      }),
      writable: new WritableStream<Uint8Array>({
        async write(chunk) {
          wire.sent += chunk.length;
          for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
        },
      }),
      closeWrite: () => conn.closeWrite(),
      close: () => conn.close(),
    },
  };
}

/** Round trips: each run of our messages that a run of the server's answered. */
function roundTrips(trace: readonly HandshakeTrace[]): number {
  let trips = 0;
  let last: string | undefined;
  for (const t of trace) {
    if (last === "sent" && t.direction === "received") trips++;
    last = t.direction;
  }
  return trips;
}

async function handshake(
  port: number,
  provider: SoftwareCryptoProvider,
  options: { session?: TlsSession; sessionTickets?: boolean } = {},
): Promise<Run> {
  const { transport, wire } = await counted(port);
  const trace: HandshakeTrace[] = [];
  const tls = startTls(transport, {
    provider,
    trustAnchors,
    serverName: "localhost",
    onHandshakeMessage: (m) => trace.push(m),
    ...options,
  });
  const info = await tls.handshake;
  const run = { info, sent: wire.sent, received: wire.received, roundTrips: roundTrips(trace) };
  await tls.close();
  return run;
}

function row(what: string, run: Run): void {
  out(
    `| ${what.padEnd(40)} | ${String(run.sent).padStart(5)} | ${
      String(run.received).padStart(8)
    } | ${String(run.sent + run.received).padStart(5)} | ${run.roundTrips} | ${
      run.info.resumed ? "yes" : "no "
    } |`,
  );
}

out("| handshake                                |  sent | received | total | RTT | resumed |");
out("| ---------------------------------------- | ----: | -------: | ----: | --: | ------- |");
{
  await using server = await startOpenSslServer({ pki: fixedPki, mode: "stdin" });
  const provider = new SoftwareCryptoProvider();
  const full = await handshake(server.port, provider, { sessionTickets: false });
  row("full (ECDHE_RSA, RSA-2048 chain)", full);
  row(
    "resumed by session ID",
    await handshake(server.port, provider, { session: full.info.session!, sessionTickets: false }),
  );
}
{
  await using server = await startOpenSslServer({
    pki: fixedPki,
    mode: "stdin",
    extraArgs: ["-no_cache"],
  });
  const provider = new SoftwareCryptoProvider();
  const full = await handshake(server.port, provider);
  row("full, a ticket issued", full);
  row(
    "resumed by session ticket",
    await handshake(server.port, provider, { session: full.info.session! }),
  );
  const saved = await exportSession(full.info.session!);
  const restarted = new SoftwareCryptoProvider();
  const imported = await importSession(saved, { provider: restarted });
  row(
    `resumed by an imported session (${saved.length} B file)`,
    await handshake(server.port, restarted, { session: imported }),
  );
}

/** One 100-byte application record's datagram size over DTLS, with and without a CID. */
async function dtlsRecordSize(connectionId?: Uint8Array): Promise<{ size: number; suite: string }> {
  const client = new DtlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors: fixedTrustAnchors,
    serverName: "localhost",
    ...(connectionId ? { connectionId } : {}),
  });
  const server = new DtlsTestServer({ connectionId: Uint8Array.of(0xab, 0xcd, 0xef, 0x01) });
  const now = Date.now();
  await client.start(now);
  let suite = "";
  for (let round = 0; round < 20 && client.state === "handshaking"; round++) {
    for (const d of client.pollTransmit()) {
      for (const reply of await server.handle(d)) await client.handleDatagram(reply, now);
    }
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      if (e.kind === "connected") suite = e.info.suite.name;
    }
  }
  await client.send(new Uint8Array(100));
  const [datagram] = client.pollTransmit();
  return { size: datagram!.length, suite };
}

const plain = await dtlsRecordSize();
const withCid = await dtlsRecordSize(Uint8Array.of(1, 2, 3, 4));
out("");
out(`| DTLS record, 100-byte payload (${plain.suite}) | datagram bytes |`);
out("| ------------------------------------------------------------------ | -------------: |");
out(
  `| plain                                                              | ${
    String(plain.size).padStart(14)
  } |`,
);
out(
  `| with a 4-byte Connection ID (RFC 9146: CID + inner content type)   | ${
    String(withCid.size).padStart(14)
  } |`,
);
