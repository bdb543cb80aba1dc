/**
 * Test utilities for DTLS over faulty paths: a seeded fault planner, an in-memory lossy
 * channel with a fake clock for sans-IO tests, and a loopback UDP proxy for tests against
 * real servers. Test code only; nothing here belongs in a production path.
 *
 * @example A lossy in-memory path, reproducible from its seed
 * ```ts
 * import { FakeClock, LossyChannel, withFaultSeed } from "./mod.ts";
 * const clock = new FakeClock();
 * const channel = new LossyChannel({ seed: 9, toServer: { drop: 0.2 }, toClient: { drop: 0.2 } });
 * await withFaultSeed(channel.seed, () => {
 *   channel.send("toServer", new Uint8Array([22]), clock.now);
 *   clock.advanceTo(channel.pollTimeout() ?? clock.now);
 *   return channel.deliver(clock.now);
 * }, () => channel.describe());
 * ```
 *
 * @module
 */

export * from "./seeded_random.ts";
export * from "./fault_plan.ts";
export * from "./lossy_channel.ts";
export * from "./udp_fault_proxy.ts";
