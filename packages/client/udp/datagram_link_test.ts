import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  connectUdp,
  type DatagramLink,
  DatagramLinkError,
  MAX_UDP_PAYLOAD,
} from "./datagram_link.ts";

interface EchoSocket {
  port: number;
  received: Uint8Array[];
  socket: dgram.Socket;
  close(): Promise<void>;
}

/** A loopback socket that answers every datagram with the same bytes. */
async function startEcho(): Promise<EchoSocket> {
  const socket = dgram.createSocket("udp4");
  const received: Uint8Array[] = [];
  socket.on("message", (m: Uint8Array, from: dgram.RemoteInfo) => {
    received.push(new Uint8Array(m));
    socket.send(m, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    received,
    socket,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Waits (bounded) until a condition holds; fails instead of hanging. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(condition(), `gave up waiting for ${what}`);
}

async function withLink(
  fn: (link: DatagramLink, echo: EchoSocket) => Promise<void>,
  maxQueuedDatagrams?: number,
): Promise<void> {
  const echo = await startEcho();
  let link: DatagramLink | undefined;
  try {
    link = await connectUdp(
      "127.0.0.1",
      echo.port,
      maxQueuedDatagrams === undefined ? {} : { maxQueuedDatagrams },
    );
    await fn(link, echo);
  } finally {
    await link?.close();
    await echo.close();
  }
}

Deno.test("each datagram sent comes back as exactly one chunk, bytes intact", async () => {
  await withLink(async (link, echo) => {
    const sizes = [1, 13, 1200, 1400, 9000, 0];
    const reader = link.readable.getReader();
    for (const size of sizes) {
      const payload = new Uint8Array(size).map((_, i) => (i * 13 + size) & 0xff);
      await link.send(payload);
      const { value, done } = await reader.read();
      assert.equal(done, false);
      assert.ok(value instanceof Uint8Array);
      assert.deepEqual(value, payload);
    }
    assert.deepEqual(echo.received.map((d) => d.length), sizes);
    assert.equal(link.stats.sent, sizes.length);
    assert.equal(link.stats.received, sizes.length);
    reader.releaseLock();
  });
});

Deno.test("writes to the writable side go out one datagram each", async () => {
  await withLink(async (link, echo) => {
    const writer = link.writable.getWriter();
    await writer.write(new Uint8Array([1, 2]));
    await writer.write(new Uint8Array([3]));
    writer.releaseLock();
    const reader = link.readable.getReader();
    assert.deepEqual((await reader.read()).value, new Uint8Array([1, 2]));
    assert.deepEqual((await reader.read()).value, new Uint8Array([3]));
    reader.releaseLock();
    assert.equal(echo.received.length, 2);
  });
});

Deno.test("binds an ephemeral port and reports both addresses", async () => {
  await withLink((link, echo) => {
    assert.deepEqual(link.remoteAddress, { hostname: "127.0.0.1", port: echo.port });
    assert.ok(link.localAddress.port > 0);
    return Promise.resolve();
  });
});

Deno.test("datagrams from any other address never reach the reader", async () => {
  await withLink(async (link) => {
    const stranger = dgram.createSocket("udp4");
    try {
      await new Promise<void>((resolve) => stranger.bind(0, "127.0.0.1", resolve));
      await new Promise((resolve) =>
        stranger.send(new Uint8Array([0xee]), link.localAddress.port, "127.0.0.1", resolve)
      );
      await link.send(new Uint8Array([7]));
      const reader = link.readable.getReader();
      assert.deepEqual((await reader.read()).value, new Uint8Array([7]));
      reader.releaseLock();
      assert.equal(link.stats.received, 1);
    } finally {
      await new Promise<void>((resolve) => stranger.close(() => resolve()));
    }
  });
});

Deno.test("a reader that falls behind loses datagrams past the queue bound, counted", async () => {
  await withLink(async (link) => {
    for (let i = 0; i < 5; i++) await link.send(new Uint8Array([i]));
    await until(
      () => link.stats.received + link.stats.overflowDropped === 5,
      "five echoes",
    );
    assert.equal(link.stats.received, 2);
    assert.equal(link.stats.overflowDropped, 3);
    const reader = link.readable.getReader();
    assert.deepEqual((await reader.read()).value, new Uint8Array([0]));
    assert.deepEqual((await reader.read()).value, new Uint8Array([1]));
    reader.releaseLock();
  }, 2);
});

Deno.test("close ends the readable side and later sends fail with DatagramLinkError", async () => {
  const echo = await startEcho();
  try {
    const link = await connectUdp("localhost", echo.port);
    const reader = link.readable.getReader();
    const pending = reader.read();
    await link.close();
    assert.deepEqual(await pending, { done: true, value: undefined });
    await assert.rejects(link.send(new Uint8Array([1])), DatagramLinkError);
    await link.close();
  } finally {
    await echo.close();
  }
});

Deno.test("rejects oversized datagrams, bad ports and bad queue bounds", async () => {
  await withLink(async (link) => {
    await assert.rejects(link.send(new Uint8Array(MAX_UDP_PAYLOAD + 1)), RangeError);
  });
  await assert.rejects(connectUdp("127.0.0.1", 0), RangeError);
  await assert.rejects(connectUdp("127.0.0.1", 70_000), RangeError);
  await assert.rejects(connectUdp("127.0.0.1", 9, { maxQueuedDatagrams: 0 }), RangeError);
});

Deno.test("a local address that cannot be bound is a DatagramLinkError", async () => {
  await assert.rejects(
    connectUdp("127.0.0.1", 9, { localHostname: "192.0.2.1" }),
    DatagramLinkError,
  );
});
