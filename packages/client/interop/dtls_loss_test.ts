/**
 * connectDtls through a seeded fault proxy (drop, duplicate, reorder, delay) to real servers
 * on 127.0.0.1: with 20% loss each way the handshake completes for every one of 20 fixed
 * seeds against gnutls-serv and against openssl s_server (whose ~100-byte Certificate
 * fragments make long flights); with heavy duplication and reordering no echoed message is
 * delivered twice and the replay window counts the copies. Timers are short here (100 ms
 * first retransmission) so the suite stays fast; seeds run a few at a time.
 *
 * Needs: `gnutls-serv` and `openssl` on PATH, --allow-run, --allow-net (loopback),
 * --allow-read (the x509 package's test PKI), --allow-env.
 */

import assert from "node:assert/strict";
import { connectDtls, type DtlsConnection } from "@anchortls/client";
import { type FaultRates, withFaultSeed } from "@anchortls/testing";
import { startUdpFaultProxy } from "@anchortls/testing";
import {
  fixedPki,
  fixedPkiFile,
  type PeerProcess,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";

const SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i);
const LOSS: FaultRates = { drop: 0.2 };
const RETRANSMIT = { initialTimeoutMs: 100, maxTimeoutMs: 800, handshakeTimeoutMs: 60_000 };

const gnutlsDtls = () => startGnutlsServer({ pki: fixedPki, dtls: true });
const opensslDtls = () => startOpenSslServer({ pki: fixedPki, dtls: true });

/** Runs `task` for every item, at most `width` at a time. */
async function pool<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>) {
  const queue = [...items];
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        await task(item).catch((e) => failures.push(e));
      }
    }),
  );
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} seeds failed`);
}

/**
 * Starts a server of its own (s_server and gnutls-serv over UDP serve one client at a time,
 * and a close_notify lost on the way would keep the next seed waiting), puts a fresh proxy
 * with the given faults in front, connects and runs `body`; everything is stopped after.
 */
async function throughProxy(
  start: () => Promise<PeerProcess>,
  seed: number,
  faults: { toServer: FaultRates; toClient: FaultRates },
  body: (dtls: DtlsConnection) => Promise<void>,
): Promise<void> {
  const peer = await start();
  try {
    const proxy = await startUdpFaultProxy({
      seed,
      ...faults,
      serverPort: peer.port,
      maxRunMs: 60_000,
    });
    try {
      await withFaultSeed(seed, async () => {
        const dtls = await connectDtls({
          hostname: proxy.hostname,
          port: proxy.port,
          serverName: "localhost",
          caCerts: [await Deno.readTextFile(fixedPkiFile("root.pem"))],
          retransmit: RETRANSMIT,
        });
        try {
          await body(dtls);
        } finally {
          await dtls.close();
        }
      }, () => proxy.describe());
    } finally {
      await proxy.close();
    }
  } finally {
    await peer.stop();
  }
}

/**
 * Sends `count` numbered messages, then reads echoes until `quietMs` passes without one;
 * each echo must match what was sent and arrive at most once.
 *
 * @returns How many came back.
 */
async function echoOnce(dtls: DtlsConnection, count: number, quietMs = 400): Promise<number> {
  const sent: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const m = new Uint8Array(8 + (i * 37) % 200);
    new DataView(m.buffer).setUint32(0, i);
    m.fill(i & 0xff, 4);
    sent.push(m);
    await dtls.send(m);
  }
  const reader = dtls.readable.getReader();
  const seen = new Set<number>();
  try {
    for (;;) {
      let id: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<undefined>((resolve) =>
        id = setTimeout(() => resolve(undefined), quietMs)
      );
      const result = await Promise.race([reader.read(), quiet]);
      clearTimeout(id);
      if (result === undefined || result.done) break;
      const index = new DataView(result.value.buffer, result.value.byteOffset).getUint32(0);
      assert.ok(!seen.has(index), `message ${index} delivered twice`);
      assert.deepEqual(result.value, sent[index], `echo of message ${index}`);
      seen.add(index);
    }
  } finally {
    reader.releaseLock();
  }
  return seen.size;
}

Deno.test("DTLS under 20% loss each way: gnutls-serv completes the handshake for 20 seeds", async () => {
  await pool(
    SEEDS,
    5,
    (seed) =>
      throughProxy(gnutlsDtls, seed, { toServer: LOSS, toClient: LOSS }, async (dtls) => {
        const info = await dtls.handshake;
        assert.equal(info.extendedMasterSecret, true);
        await echoOnce(dtls, 10);
      }),
  );
});

Deno.test("DTLS under 20% loss each way: openssl s_server (100-byte Certificate fragments) for 20 seeds", async () => {
  // s_server resends its flights on its own timer only (1 s, doubling), and its Certificate
  // travels in ~20 datagrams: the slowest seeds take tens of seconds, so all run at once.
  await pool(
    SEEDS,
    SEEDS.length,
    (seed) =>
      throughProxy(opensslDtls, seed, { toServer: LOSS, toClient: LOSS }, async (dtls) => {
        await dtls.handshake;
        assert.ok(dtls.stats.datagramsReceived > 0);
      }),
  );
});

Deno.test("DTLS duplicated, reordered and delayed datagrams: nothing is delivered twice, replays are counted", async () => {
  const noisy: FaultRates = { duplicate: 0.5, reorder: 0.2, delay: 0.2, delayMs: [5, 60] };
  let replayed = 0;
  await pool(
    SEEDS.slice(0, 10),
    5,
    (seed) =>
      throughProxy(gnutlsDtls, seed, { toServer: noisy, toClient: noisy }, async (dtls) => {
        await dtls.handshake;
        const echoed = await echoOnce(dtls, 40);
        assert.equal(echoed, 40, "no loss was configured, so every message comes back");
        replayed += dtls.stats.replayed;
      }),
  );
  assert.ok(replayed > 0, "duplicates reached the replay window");
});
