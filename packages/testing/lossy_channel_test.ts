import assert from "node:assert/strict";
import {
  type FaultDirection,
  FaultPlanner,
  FaultScenarioError,
  formatFaultStats,
  withFaultSeed,
} from "./fault_plan.ts";
import { type ChannelDelivery, FakeClock, LossyChannel } from "./lossy_channel.ts";

function datagram(n: number): Uint8Array {
  return new Uint8Array([n >> 8, n & 0xff]);
}

function idOf(d: ChannelDelivery): number {
  return (d.datagram[0]! << 8) | d.datagram[1]!;
}

/** Sends `count` datagrams each way, one per ms, and collects every arrival. */
function run(channel: LossyChannel, count: number): ChannelDelivery[] {
  const clock = new FakeClock();
  const out: ChannelDelivery[] = [];
  for (let i = 0; i < count; i++) {
    channel.send("toServer", datagram(i), clock.now);
    channel.send("toClient", datagram(i), clock.now);
    out.push(...channel.deliver(clock.now));
    clock.advance(1);
  }
  for (let at = channel.pollTimeout(); at !== undefined; at = channel.pollTimeout()) {
    out.push(...channel.deliver(clock.advanceTo(at)));
  }
  return out;
}

function ids(deliveries: ChannelDelivery[], direction: FaultDirection): number[] {
  return deliveries.filter((d) => d.direction === direction).map(idOf);
}

Deno.test("without faults the channel delivers everything once, in order, after the latency", () => {
  const channel = new LossyChannel({ seed: 1, latencyMs: 7 });
  const out = run(channel, 100);
  const expected = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(ids(out, "toServer"), expected);
  assert.deepEqual(ids(out, "toClient"), expected);
  assert.ok(out.every((d) => d.at === idOf(d) + 7));
  assert.equal(channel.stats.toServer.delivered, 100);
  assert.equal(channel.pending, 0);
});

Deno.test("100% drop lets nothing through, in that direction only", () => {
  const channel = new LossyChannel({ seed: 2, toServer: { drop: 1 } });
  const out = run(channel, 50);
  assert.deepEqual(ids(out, "toServer"), []);
  assert.equal(ids(out, "toClient").length, 50);
  assert.equal(channel.stats.toServer.dropped, 50);
  assert.equal(channel.stats.toServer.delivered, 0);
});

Deno.test("duplicates arrive twice and are counted", () => {
  const channel = new LossyChannel({ seed: 3, toClient: { duplicate: 1 } });
  const out = run(channel, 20);
  assert.deepEqual(ids(out, "toClient"), Array.from({ length: 20 }, (_, i) => [i, i]).flat());
  assert.equal(channel.stats.toClient.duplicated, 20);
  assert.equal(channel.stats.toClient.delivered, 40);
});

Deno.test("a reordered datagram arrives right after the one that followed it", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const channel = new LossyChannel({ seed, toServer: { reorder: 0.3 } });
    const got = ids(run(channel, 200), "toServer");
    assert.equal(got.length, 200, `seed ${seed}`);
    assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
    const swaps = got.filter((id, i) => i > 0 && id < got[i - 1]!).length;
    assert.ok(swaps > 0, `seed ${seed}: nothing was reordered`);
    // The last datagram may be held with nothing to overtake it: counted, but no swap.
    const { reordered } = channel.stats.toServer;
    assert.ok(swaps === reordered || swaps === reordered - 1, `seed ${seed}`);
  }
});

Deno.test("a held datagram with no follower is released after the hold time", () => {
  const channel = new LossyChannel({
    seed: 4,
    toServer: { reorder: 1 },
    latencyMs: 5,
    reorderHoldMs: 40,
  });
  channel.send("toServer", datagram(9), 0);
  assert.equal(channel.pollTimeout(), 45);
  assert.deepEqual(channel.deliver(44), []);
  assert.deepEqual(channel.deliver(45).map(idOf), [9]);
});

Deno.test("delays stay within the configured range", () => {
  const channel = new LossyChannel({
    seed: 5,
    latencyMs: 0,
    toClient: { delay: 1, delayMs: [20, 30] },
  });
  const clock = new FakeClock();
  for (let i = 0; i < 100; i++) channel.send("toClient", datagram(i), clock.now);
  assert.equal(channel.deliver(19).length, 0);
  const arrivals = channel.deliver(30);
  assert.equal(arrivals.length, 100);
  assert.ok(arrivals.every((d) => d.at >= 20 && d.at <= 30));
  assert.equal(channel.stats.toClient.delayed, 100);
});

Deno.test("rates are honoured over many datagrams", () => {
  const channel = new LossyChannel({ seed: 6, toServer: { drop: 0.2, duplicate: 0.1 } });
  run(channel, 10_000);
  const { dropped, duplicated } = channel.stats.toServer;
  assert.ok(dropped > 1_800 && dropped < 2_200, `dropped ${dropped}`);
  assert.ok(duplicated > 650 && duplicated < 950, `duplicated ${duplicated}`);
});

Deno.test("the same seed makes the same decisions; another seed other ones", () => {
  const rates = { drop: 0.3, duplicate: 0.2, reorder: 0.2, delay: 0.3 };
  const trace = (seed: number) =>
    run(new LossyChannel({ seed, toServer: rates, toClient: rates }), 300).map((d) =>
      `${d.direction}:${idOf(d)}@${d.at}`
    );
  assert.deepEqual(trace(11), trace(11));
  assert.notDeepEqual(trace(11), trace(12));
});

Deno.test("a direction's decisions do not depend on traffic the other way", () => {
  const rates = { drop: 0.5, duplicate: 0.3, delay: 0.5 };
  const alone = new FaultPlanner({ seed: 8, toServer: rates, toClient: rates });
  const mixed = new FaultPlanner({ seed: 8, toServer: rates, toClient: rates });
  const a = Array.from({ length: 50 }, () => alone.decide("toServer"));
  const b = Array.from({ length: 50 }, (_, i) => {
    if (i % 3 === 0) mixed.decide("toClient");
    return mixed.decide("toServer");
  });
  assert.deepEqual(a, b);
});

Deno.test("datagrams past maxDatagrams are turned away and counted", () => {
  const channel = new LossyChannel({ seed: 9, maxDatagrams: 3 });
  for (let i = 0; i < 5; i++) channel.send("toServer", datagram(i), 0);
  assert.equal(channel.deliver(1_000).length, 3);
  assert.equal(channel.stats.toServer.overLimit, 2);
});

Deno.test("sent bytes are copied", () => {
  const channel = new LossyChannel({ seed: 10 });
  const bytes = new Uint8Array([1, 2]);
  channel.send("toServer", bytes, 0);
  bytes.fill(0);
  assert.deepEqual(channel.deliver(100)[0]?.datagram, new Uint8Array([1, 2]));
});

Deno.test("bad rates and times are refused", () => {
  assert.throws(() => new LossyChannel({ seed: 1, toServer: { drop: 1.5 } }), RangeError);
  assert.throws(() => new LossyChannel({ seed: 1, toClient: { delay: -0.1 } }), RangeError);
  assert.throws(() => new LossyChannel({ seed: 1, toClient: { delayMs: [5, 1] } }), RangeError);
  assert.throws(() => new LossyChannel({ seed: 1, latencyMs: -1 }), RangeError);
  assert.throws(() => new FakeClock().advance(-1), RangeError);
});

Deno.test("a failing step is reported with its seed and the channel's counters", async () => {
  const channel = new LossyChannel({ seed: 4242, toServer: { drop: 1 } });
  run(channel, 3);
  const err = await withFaultSeed(4242, () => {
    throw new Error("handshake did not finish");
  }, () => channel.describe()).catch((e: unknown) => e);
  assert.ok(err instanceof FaultScenarioError);
  assert.equal(err.seed, 4242);
  assert.match(
    err.message,
    /fault seed 4242 .*toServer 3 in\/0 out \(3 dropped.*handshake did not finish/,
  );
  assert.ok(err.cause instanceof Error);
  assert.equal(await withFaultSeed(1, () => Promise.resolve(5)), 5);
  assert.match(formatFaultStats(channel.stats), /^toServer 3 in/);
});
