/**
 * Hostile DTLS path against `connectDtls`: an on-path replayer between the client and a real
 * `openssl s_server -dtls1_2` sends every datagram the server ever sent again, several times,
 * after data has flowed. Nothing may be delivered twice, every replayed record must be
 * counted, and the connection must go on, all within a time cap that fails the test.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { splitDatagram } from "@anchortls/record";
import { connectDtls, type DtlsConnection } from "../mod.ts";
import { startOpenSslDtls } from "../interop/_dtls_peers.ts";
import { pkiPath } from "./scripted_server.ts";

const CAP_MS = 30_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A UDP relay that keeps every datagram from the server and can send them all again. */
interface Replayer {
  readonly port: number;
  /** Datagrams recorded from the server so far. */
  readonly recorded: readonly Uint8Array[];
  /** Sends every recorded datagram to the client again, `times` times over, in order. */
  replay(times: number): Promise<void>;
  close(): Promise<void>;
}

async function replayer(serverPort: number): Promise<Replayer> {
  const front = dgram.createSocket("udp4");
  const back = dgram.createSocket("udp4");
  const fromServer: Uint8Array[] = [];
  let client: { address: string; port: number } | undefined;
  await new Promise<void>((resolve) => front.bind(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => back.bind(0, "127.0.0.1", resolve));
  front.on("message", (message, from) => {
    client = { address: from.address, port: from.port };
    back.send(message, serverPort, "127.0.0.1");
  });
  back.on("message", (message) => {
    fromServer.push(new Uint8Array(message));
    if (client) front.send(message, client.port, client.address);
  });
  const send = (datagram: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      front.send(datagram, client!.port, client!.address, (e) => e ? reject(e) : resolve())
    );
  return {
    port: front.address().port,
    recorded: fromServer,
    replay: async (times) => {
      const old = [...fromServer];
      for (let t = 0; t < times; t++) for (const datagram of old) await send(datagram);
    },
    close: async () => {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => back.close(() => resolve()));
    },
  };
}

/** Reads messages until `text` arrived; returns everything read on the way. */
async function readUntil(dtls: DtlsConnection, text: string): Promise<string> {
  const reader = dtls.readable.getReader();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value);
    }
    return seen;
  } finally {
    reader.releaseLock();
  }
}

Deno.test("hostile DTLS: replayed records are never delivered twice, and are counted", async () => {
  const peer = await startOpenSslDtls({ mtu: 1400 });
  const path = await replayer(peer.port);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${CAP_MS} ms`)), CAP_MS);
  });
  const dtls = await connectDtls({
    hostname: "127.0.0.1",
    port: path.port,
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(pkiPath("root.pem"))],
    retransmit: { initialTimeoutMs: 300, handshakeTimeoutMs: 15_000 },
  });
  try {
    await Promise.race([
      (async () => {
        await dtls.handshake;
        await dtls.send(encoder.encode("hello\n"));
        await peer.waitFor(/hello\n/);
        await peer.stdin!.write(encoder.encode("one\n"));
        assert.equal(await readUntil(dtls, "one\n"), "one\n");
        await peer.stdin!.write(encoder.encode("two\n"));
        assert.equal(await readUntil(dtls, "two\n"), "two\n");
        const before = dtls.stats;
        assert.equal(before.delivered, 2);
        assert.equal(before.replayed, 0);

        // Everything the server sent, handshake and data, three more times.
        const old = path.recorded.slice();
        const oldRecords = old.reduce((n, d) => n + splitDatagram(d).length, 0);
        await path.replay(3);
        await peer.stdin!.write(encoder.encode("three\n"));
        // The next thing delivered is the new record: no replayed "one" or "two" before it.
        assert.equal(await readUntil(dtls, "three\n"), "three\n");

        const after = dtls.stats;
        assert.equal(after.delivered, 3);
        assert.ok(after.datagramsReceived >= before.datagramsReceived + 3 * old.length);
        // Every replayed record (epoch-0 handshake and epoch-1 Finished and data alike) is
        // caught by its epoch's replay window and counted; none is dropped for another reason
        // and none makes the client resend its last flight.
        assert.equal(after.replayed, 3 * oldRecords, JSON.stringify(after));
        assert.equal(after.dropped, 0);
        assert.equal(after.retransmissions, 0);

        // The connection still works both ways.
        await dtls.send(encoder.encode("still here\n"));
        await peer.waitFor(/still here\n/);
      })(),
      cap,
    ]);
  } finally {
    clearTimeout(timer);
    await dtls.close();
    await path.close();
    await peer.stop();
  }
});
