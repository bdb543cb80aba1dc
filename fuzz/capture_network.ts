/**
 * Real TLS and DTLS traffic for the seed corpus: `connectTls` and `connectDtls` talk to
 * `openssl s_server` (loopback only) through a tapping proxy that records every chunk (TCP)
 * or datagram (UDP) in both directions. Used by `capture_corpus.ts`.
 *
 * @module
 */

import dgram from "node:dgram";
import {
  connectDtls,
  type ConnectDtlsOptions,
  connectTls,
  type ConnectTlsOptions,
  SessionCache,
} from "@anchortls/client";
import {
  fixedPki,
  fixedPkiFile,
  type OpenSslServerOptions,
  startOpenSslServer,
} from "@anchortls/testing";

/** Bytes of one connection, each direction in the order they crossed the proxy. */
export interface Conversation {
  /** What the run was (for the capture report). */
  readonly name: string;
  /** Client to server: TCP chunks or UDP datagrams. */
  readonly toServer: Uint8Array[];
  /** Server to client: TCP chunks or UDP datagrams. */
  readonly toClient: Uint8Array[];
}

/** A TCP proxy on a free loopback port that records both directions of each connection. */
function tcpTap(
  serverPort: number,
  name: string,
  into: Conversation[],
): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pipe = async (from: Deno.Conn, to: Deno.Conn, into: Uint8Array[]): Promise<void> => {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        into.push(buffer.slice(0, n));
        await to.write(buffer.subarray(0, n));
      }
    } catch {
      // One side went away: the other copy ends too.
    }
    try {
      await to.closeWrite();
    } catch {
      // Already closed.
    }
  };
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: serverPort });
      const record: Conversation = { name, toServer: [], toClient: [] };
      into.push(record);
      Promise.all([
        pipe(client, server, record.toServer),
        pipe(server, client, record.toClient),
      ]).finally(() => {
        client.close();
        server.close();
      });
    }
  })().catch(() => undefined);
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

/** A UDP proxy on a free loopback port that records every datagram in both directions. */
async function udpTap(
  serverPort: number,
  record: Conversation,
): Promise<{ port: number; close(): Promise<void> }> {
  const front = dgram.createSocket("udp4");
  const back = dgram.createSocket("udp4");
  let client: { address: string; port: number } | undefined;
  front.on("message", (message: Uint8Array, from: dgram.RemoteInfo) => {
    client = { address: from.address, port: from.port };
    record.toServer.push(new Uint8Array(message));
    back.send(message, serverPort, "127.0.0.1");
  });
  back.on("message", (message: Uint8Array) => {
    record.toClient.push(new Uint8Array(message));
    if (client) front.send(message, client.port, client.address);
  });
  await new Promise<void>((resolve) => front.bind(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => back.bind(0, "127.0.0.1", resolve));
  return {
    port: front.address().port,
    close: async () => {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => back.close(() => resolve()));
    },
  };
}

/** What a run sets on `openssl s_server` (its identity is always the fixed test PKI). */
type ServerSettings = Pick<OpenSslServerOptions, "ciphers" | "mtu" | "extraArgs">;

/** openssl's own default cipher list: what the client offers decides the suite. */
const OPENSSL_DEFAULT_CIPHERS = ["DEFAULT"];

interface TlsRun {
  readonly name: string;
  readonly server: ServerSettings;
  readonly client: Partial<ConnectTlsOptions>;
  /** Connections with the same client options (a session cache in them resumes). */
  readonly connections?: number;
}

/** Connects, GETs the status page if the handshake succeeds, and closes. */
async function getStatusPage(options: ConnectTlsOptions): Promise<void> {
  const tls = await connectTls({ ...options, signal: AbortSignal.timeout(10_000) });
  try {
    await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    await new Response(tls.readable).arrayBuffer();
  } catch {
    // A refused handshake is traffic too (its alert record).
  } finally {
    await tls.close().catch(() => undefined);
  }
}

/**
 * Runs TLS 1.2 handshakes and one request each: every suite, MAC-then-encrypt, a client
 * certificate, a resumed session, and a server the client does not trust (a plaintext alert).
 *
 * @returns One conversation per connection.
 */
export async function captureTls(): Promise<Conversation[]> {
  const root = await Deno.readTextFile(fixedPki.root);
  const cache = new SessionCache();
  const runs: TlsRun[] = [
    ...["AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES256-SHA256"].map((suite) => ({
      name: `tls ${suite}`,
      server: { ciphers: [suite] },
      client: {},
    })),
    { name: "tls mac-then-encrypt", server: {}, client: { encryptThenMac: false } },
    {
      name: "tls client certificate",
      server: { extraArgs: ["-Verify", "1", "-verifyCAfile", fixedPki.root] },
      client: {
        clientCertificate: {
          certificateChain: await Deno.readTextFile(fixedPki.client),
          privateKey: await Deno.readTextFile(fixedPki.clientKey),
        },
      },
    },
    { name: "tls resumption", server: {}, client: { session: cache }, connections: 2 },
    {
      name: "tls untrusted server",
      server: {},
      client: { caCerts: [await Deno.readTextFile(fixedPkiFile("other-root.pem"))] },
    },
  ];
  const conversations: Conversation[] = [];
  for (const run of runs) {
    const server = await startOpenSslServer({
      pki: fixedPki,
      mode: "www",
      ciphers: OPENSSL_DEFAULT_CIPHERS,
      ...run.server,
    });
    try {
      // One proxy port per run: the session cache is keyed by name and port.
      const tap = tcpTap(server.port, run.name, conversations);
      try {
        for (let i = 0; i < (run.connections ?? 1); i++) {
          await getStatusPage({
            hostname: "127.0.0.1",
            port: tap.port,
            serverName: "localhost",
            caCerts: [root],
            ...run.client,
          });
        }
      } finally {
        tap.close();
      }
    } finally {
      await server.stop();
    }
  }
  return conversations;
}

/**
 * Runs DTLS 1.2 handshakes with a cookie exchange and one echoed datagram: the server's
 * flights cut to a small MTU, and the client's cut to its own.
 *
 * @returns One conversation per connection.
 */
export async function captureDtls(): Promise<Conversation[]> {
  const root = await Deno.readTextFile(fixedPki.root);
  const runs: { name: string; server: ServerSettings; client: Partial<ConnectDtlsOptions> }[] = [
    { name: "dtls default", server: {}, client: {} },
    { name: "dtls mtu 400", server: { mtu: 400 }, client: { mtu: 400 } },
    {
      name: "dtls mac-then-encrypt",
      server: { ciphers: ["AES128-SHA"] },
      client: { encryptThenMac: false, mtu: 256 },
    },
  ];
  const conversations: Conversation[] = [];
  for (const run of runs) {
    const server = await startOpenSslServer({
      pki: fixedPki,
      dtls: true,
      ciphers: OPENSSL_DEFAULT_CIPHERS,
      ...run.server,
    });
    const record: Conversation = { name: run.name, toServer: [], toClient: [] };
    const tap = await udpTap(server.port, record);
    try {
      const dtls = await connectDtls({
        hostname: "127.0.0.1",
        port: tap.port,
        serverName: "localhost",
        caCerts: [root],
        retransmit: { initialTimeoutMs: 200, maxTimeoutMs: 1000, handshakeTimeoutMs: 10_000 },
        ...run.client,
      });
      try {
        await dtls.handshake;
        const writer = dtls.writable.getWriter();
        await writer.write(new TextEncoder().encode("ping\n"));
        writer.releaseLock();
        // Give the server's answers time to arrive before closing.
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        await dtls.close().catch(() => undefined);
      }
    } finally {
      await tap.close();
      await server.stop();
    }
    conversations.push(record);
  }
  return conversations;
}
