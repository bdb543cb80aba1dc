/**
 * Sans-IO test utilities for DTLS over faulty paths: a seeded generator, a seeded fault
 * planner, and an in-memory lossy channel with a fake clock. The client's loopback UDP fault
 * proxy draws from the same planner, so a seed means the same faults in both. Test code only;
 * nothing here belongs in a production path (the generator is predictable by design).
 *
 * @example A lossy in-memory path, reproducible from its seed
 * ```ts
 * import { FakeClock, LossyChannel, withFaultSeed } from "@anchortls/handshake/dtls/testing";
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

export * from "./testing/seeded_random.ts";
export * from "./testing/fault_plan.ts";
export * from "./testing/lossy_channel.ts";
