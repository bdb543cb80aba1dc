import assert from "node:assert/strict";
import dgram from "node:dgram";
import { connectUdp, type DatagramLink } from "@anchortls/client/advanced";
import type { FaultRates } from "./fault_plan.ts";
import { startUdpFaultProxy, type UdpFaultProxy } from "./udp_fault_proxy.ts";

interface Echo {
  port: number;
  received: number[];
  close(): Promise<void>;
}

/** A loopback server that answers each datagram with its bytes and logs the first byte. */
async function startEcho(): Promise<Echo> {
  const socket = dgram.createSocket("udp4");
  const received: number[] = [];
  socket.on("message", (m: Uint8Array, from: dgram.RemoteInfo) => {
    received.push(m[0]!);
    socket.send(m, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Waits (bounded) until a condition holds; fails with the proxy's seed instead of hanging. */
async function until(condition: () => boolean, proxy: UdpFaultProxy, what: string) {
  for (let i = 0; i < 300 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(condition(), `gave up waiting for ${what}; ${proxy.describe()}`);
}

/** Collects whatever the link receives, in the background, until it closes. */
function collect(link: DatagramLink): number[] {
  const got: number[] = [];
  void (async () => {
    for await (const d of link.readable) got.push(d[0]!);
  })();
  return got;
}

async function scenario(
  options: { seed: number; toServer?: FaultRates; toClient?: FaultRates; maxDatagrams?: number },
  body: (ctx: { proxy: UdpFaultProxy; link: DatagramLink; echo: Echo; got: number[] }) => Promise<
    void
  >,
): Promise<void> {
  const echo = await startEcho();
  let proxy: UdpFaultProxy | undefined;
  let link: DatagramLink | undefined;
  try {
    proxy = await startUdpFaultProxy({ ...options, serverPort: echo.port });
    link = await connectUdp(proxy.hostname, proxy.port);
    await body({ proxy, link, echo, got: collect(link) });
  } finally {
    await link?.close();
    await proxy?.close();
    await echo.close();
  }
}

async function sendAll(link: DatagramLink, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await link.send(new Uint8Array([i, 0xaa, 0xbb]));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("with no faults the proxy is transparent both ways", async () => {
  await scenario({ seed: 1 }, async ({ proxy, link, echo, got }) => {
    await sendAll(link, 30);
    await until(() => got.length === 30, proxy, "30 echoes");
    assert.deepEqual(echo.received, range(30));
    assert.deepEqual(got, range(30));
    const { toServer, toClient } = proxy.stats;
    assert.deepEqual([toServer.received, toServer.delivered], [30, 30]);
    assert.deepEqual([toClient.received, toClient.delivered], [30, 30]);
    assert.equal(toServer.dropped + toServer.duplicated + toServer.reordered + toServer.delayed, 0);
  });
});

Deno.test("with 100% drop toward the server nothing passes", async () => {
  await scenario({ seed: 2, toServer: { drop: 1 } }, async ({ proxy, link, echo, got }) => {
    await sendAll(link, 10);
    await until(() => proxy.stats.toServer.received === 10, proxy, "10 datagrams at the proxy");
    assert.equal(proxy.stats.toServer.dropped, 10);
    assert.equal(proxy.stats.toServer.delivered, 0);
    assert.deepEqual(echo.received, []);
    assert.deepEqual(got, []);
  });
});

Deno.test("duplicates are delivered twice and counted", async () => {
  await scenario({ seed: 3, toServer: { duplicate: 1 } }, async ({ proxy, link, echo, got }) => {
    await sendAll(link, 5);
    await until(() => got.length === 10, proxy, "10 echoes");
    assert.deepEqual(echo.received, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    assert.equal(proxy.stats.toServer.duplicated, 5);
    assert.equal(proxy.stats.toServer.delivered, 10);
    assert.equal(proxy.stats.toClient.duplicated, 0);
  });
});

Deno.test("reordering swaps a held datagram with the next one", async () => {
  await scenario({ seed: 4, toClient: { reorder: 1 } }, async ({ proxy, link, echo, got }) => {
    await sendAll(link, 4);
    await until(() => got.length === 4, proxy, "4 echoes");
    assert.deepEqual(echo.received, [0, 1, 2, 3]);
    assert.deepEqual(got, [1, 0, 3, 2]);
    assert.equal(proxy.stats.toClient.reordered, 2);
  });
});

Deno.test("delayed datagrams still arrive, and are counted", async () => {
  await scenario(
    { seed: 5, toServer: { delay: 1, delayMs: [5, 20] } },
    async ({ proxy, link, got }) => {
      await sendAll(link, 8);
      await until(() => got.length === 8, proxy, "8 echoes");
      assert.deepEqual([...got].sort((a, b) => a - b), range(8));
      assert.equal(proxy.stats.toServer.delayed, 8);
    },
  );
});

Deno.test("the same seed makes the same decisions, another seed other ones", async () => {
  const rates = { drop: 0.4, duplicate: 0.3 };
  const arrivals = async (seed: number): Promise<number[]> => {
    let seen: number[] = [];
    await scenario({ seed, toServer: rates }, async ({ proxy, link, echo }) => {
      await sendAll(link, 40);
      await until(
        () =>
          proxy.stats.toServer.received === 40 &&
          echo.received.length === proxy.stats.toServer.delivered,
        proxy,
        "40 datagrams through the proxy",
      );
      seen = [...echo.received];
    });
    return seen;
  };
  const first = await arrivals(77);
  assert.deepEqual(await arrivals(77), first);
  assert.notDeepEqual(await arrivals(78), first);
});

Deno.test("datagrams past maxDatagrams are turned away", async () => {
  await scenario({ seed: 6, maxDatagrams: 3 }, async ({ proxy, link, echo }) => {
    await sendAll(link, 5);
    await until(
      () => proxy.stats.toServer.received + proxy.stats.toServer.overLimit === 5,
      proxy,
      "5 datagrams at the proxy",
    );
    await until(() => proxy.stats.toClient.overLimit === 3, proxy, "3 echoes turned away");
    assert.deepEqual(echo.received, [0, 1, 2]);
    assert.equal(proxy.stats.toServer.overLimit, 2);
  });
});

Deno.test("datagrams from a second client are ignored", async () => {
  await scenario({ seed: 7 }, async ({ proxy, link, echo, got }) => {
    await link.send(new Uint8Array([1]));
    await until(() => got.length === 1, proxy, "first echo");
    const intruder = await connectUdp(proxy.hostname, proxy.port);
    try {
      await intruder.send(new Uint8Array([99]));
      await until(() => proxy.foreignIgnored === 1, proxy, "the intruder's datagram");
    } finally {
      await intruder.close();
    }
    assert.deepEqual(echo.received, [1]);
  });
});

Deno.test("the proxy closes itself at the end of its run time", async () => {
  const echo = await startEcho();
  const proxy = await startUdpFaultProxy({ seed: 8, serverPort: echo.port, maxRunMs: 50 });
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      proxy.closed.then(() => "closed"),
      new Promise((resolve) => (guard = setTimeout(() => resolve("still open"), 5_000))),
    ]);
    assert.equal(outcome, "closed", proxy.describe());
  } finally {
    clearTimeout(guard);
    await proxy.close();
    await echo.close();
  }
});

Deno.test("describe names the seed; non-loopback servers and bad bounds are refused", async () => {
  const echo = await startEcho();
  try {
    const proxy = await startUdpFaultProxy({ seed: 31337, serverPort: echo.port });
    assert.match(proxy.describe(), /seed 31337: toServer 0 in/);
    await proxy.close();
    await proxy.close();
  } finally {
    await echo.close();
  }
  await assert.rejects(
    startUdpFaultProxy({ seed: 1, serverPort: 4433, serverHostname: "192.0.2.1" }),
    RangeError,
  );
  await assert.rejects(startUdpFaultProxy({ seed: 1, serverPort: 0 }), RangeError);
  await assert.rejects(startUdpFaultProxy({ seed: 1, serverPort: 9, maxRunMs: 0 }), RangeError);
  await assert.rejects(
    startUdpFaultProxy({ seed: 1, serverPort: 9, toClient: { drop: 2 } }),
    RangeError,
  );
});
