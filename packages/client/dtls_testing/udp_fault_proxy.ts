/**
 * A UDP proxy for tests that sits between one client and a real server on loopback and
 * drops, duplicates, reorders and delays datagrams per direction, from a seed.
 *
 * The proxy listens on 127.0.0.1 at an ephemeral port; the first address that sends to it
 * becomes the client, and datagrams from anyone else are ignored. It closes itself after
 * `maxRunMs` and stops forwarding after `maxDatagrams`, so a test that goes wrong ends
 * instead of hanging. Put {@linkcode UdpFaultProxy.describe} (seed and counters) into the
 * failure message, e.g. through `withFaultSeed`.
 *
 * @module
 */

import dgram from "node:dgram";
import {
  emptyFaultCounters,
  type FaultCounters,
  type FaultDirection,
  FaultPlanner,
  type FaultPlanOptions,
  type FaultStats,
  formatFaultStats,
} from "@anchortls/handshake/dtls/testing";

/** Default longest life of a proxy. */
export const DEFAULT_PROXY_MAX_RUN_MS = 60_000;

/** Default number of datagrams a proxy forwards before turning the rest away. */
export const DEFAULT_PROXY_MAX_DATAGRAMS = 100_000;

/** Default longest time a held-back datagram waits for one to overtake it. */
export const DEFAULT_PROXY_REORDER_HOLD_MS = 100;

/** Options for {@linkcode startUdpFaultProxy}. */
export interface UdpFaultProxyOptions extends FaultPlanOptions {
  /** The real server's port on loopback. */
  serverPort: number;
  /** The real server's loopback address. @default {"127.0.0.1"} */
  serverHostname?: string;
  /** The proxy closes itself after this long. @default {DEFAULT_PROXY_MAX_RUN_MS} */
  maxRunMs?: number;
  /** Datagrams accepted in all; later ones are turned away. @default {DEFAULT_PROXY_MAX_DATAGRAMS} */
  maxDatagrams?: number;
  /** Longest a held-back datagram waits to be overtaken. @default {DEFAULT_PROXY_REORDER_HOLD_MS} */
  reorderHoldMs?: number;
}

/** A running fault proxy. */
export interface UdpFaultProxy {
  /** Where the client sends: always 127.0.0.1. */
  readonly hostname: string;
  /** The proxy's port for the client. */
  readonly port: number;
  /** The seed of the faults. */
  readonly seed: number;
  /** What the faults did so far (a snapshot). */
  readonly stats: FaultStats;
  /** Datagrams from addresses other than the client's, ignored. */
  readonly foreignIgnored: number;
  /** Resolves once the proxy has closed, by `close()` or at the end of its run time. */
  readonly closed: Promise<void>;
  /**
   * Describes the proxy for failure messages.
   *
   * @returns The seed and counters in one line.
   */
  describe(): string;
  /** Stops forwarding, drops datagrams still held or delayed, and closes both sockets. */
  close(): Promise<void>;
}

function isLoopback(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === "::1";
}

function bindLoopback(socket: dgram.Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, address, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

/**
 * Starts a fault proxy in front of a server on loopback.
 *
 * @example A proxy losing a fifth of the datagrams each way
 * ```ts
 * import dgram from "node:dgram";
 * import { startUdpFaultProxy } from "./udp_fault_proxy.ts";
 * const server = dgram.createSocket("udp4");
 * await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
 * const proxy = await startUdpFaultProxy({
 *   seed: 1,
 *   serverPort: server.address().port,
 *   toServer: { drop: 0.2 },
 *   toClient: { drop: 0.2 },
 * });
 * // Point the client at proxy.hostname:proxy.port, then:
 * await proxy.close();
 * server.close();
 * ```
 *
 * @param options Seed, rates per direction, the server's port and the run's bounds.
 * @returns The running proxy.
 * @throws {RangeError} When the server is not on loopback or an option is out of range.
 */
export async function startUdpFaultProxy(options: UdpFaultProxyOptions): Promise<UdpFaultProxy> {
  const serverHostname = options.serverHostname ?? "127.0.0.1";
  if (!isLoopback(serverHostname)) {
    throw new RangeError(`the fault proxy only talks to loopback, not ${serverHostname}`);
  }
  if (
    !Number.isInteger(options.serverPort) || options.serverPort < 1 || options.serverPort > 0xffff
  ) {
    throw new RangeError(`server port ${options.serverPort} outside 1..65535`);
  }
  const maxRunMs = options.maxRunMs ?? DEFAULT_PROXY_MAX_RUN_MS;
  const maxDatagrams = options.maxDatagrams ?? DEFAULT_PROXY_MAX_DATAGRAMS;
  const holdMs = options.reorderHoldMs ?? DEFAULT_PROXY_REORDER_HOLD_MS;
  if (!(maxRunMs > 0) || !(maxDatagrams >= 0) || !(holdMs >= 0)) {
    throw new RangeError("maxRunMs must be positive; maxDatagrams and reorderHoldMs not negative");
  }
  const planner = new FaultPlanner(options);
  const family = serverHostname.includes(":") ? "udp6" : "udp4";
  const front = dgram.createSocket(family);
  const back = dgram.createSocket(family);
  try {
    await bindLoopback(front, serverHostname.includes(":") ? "::1" : "127.0.0.1");
    await bindLoopback(back, serverHostname.includes(":") ? "::1" : "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      back.once("error", reject);
      back.connect(options.serverPort, serverHostname, () => {
        back.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    front.close();
    back.close();
    throw err;
  }
  return new FaultProxy(front, back, planner, { maxRunMs, maxDatagrams, holdMs });
}

type Timer = ReturnType<typeof setTimeout>;

interface Held {
  readonly bytes: Uint8Array;
  readonly copies: number;
  readonly timer: Timer;
}

class FaultProxy implements UdpFaultProxy {
  readonly hostname: string;
  readonly port: number;
  readonly closed: Promise<void>;
  readonly #front: dgram.Socket;
  readonly #back: dgram.Socket;
  readonly #planner: FaultPlanner;
  readonly #maxDatagrams: number;
  readonly #holdMs: number;
  readonly #runTimer: Timer;
  readonly #timers = new Set<Timer>();
  readonly #held: Record<FaultDirection, Held | undefined> = {
    toServer: undefined,
    toClient: undefined,
  };
  readonly #counters: Record<FaultDirection, FaultCounters> = {
    toServer: emptyFaultCounters(),
    toClient: emptyFaultCounters(),
  };
  #client: { address: string; port: number } | undefined;
  #accepted = 0;
  #foreignIgnored = 0;
  #closing = false;
  #resolveClosed!: () => void;

  constructor(
    front: dgram.Socket,
    back: dgram.Socket,
    planner: FaultPlanner,
    bounds: { maxRunMs: number; maxDatagrams: number; holdMs: number },
  ) {
    this.#front = front;
    this.#back = back;
    this.#planner = planner;
    this.#maxDatagrams = bounds.maxDatagrams;
    this.#holdMs = bounds.holdMs;
    const address = front.address();
    this.hostname = address.address;
    this.port = address.port;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#runTimer = setTimeout(() => void this.close(), bounds.maxRunMs);
    front.on("message", (message: Uint8Array, from: dgram.RemoteInfo) => {
      this.#client ??= { address: from.address, port: from.port };
      if (from.address !== this.#client.address || from.port !== this.#client.port) {
        this.#foreignIgnored++;
        return;
      }
      this.#handle("toServer", new Uint8Array(message));
    });
    back.on("message", (message: Uint8Array) => {
      if (this.#client === undefined) return;
      this.#handle("toClient", new Uint8Array(message));
    });
  }

  get seed(): number {
    return this.#planner.seed;
  }

  get stats(): FaultStats {
    return { toServer: { ...this.#counters.toServer }, toClient: { ...this.#counters.toClient } };
  }

  get foreignIgnored(): number {
    return this.#foreignIgnored;
  }

  describe(): string {
    return `udp fault proxy seed ${this.seed}: ${formatFaultStats(this.stats)}`;
  }

  #handle(direction: FaultDirection, bytes: Uint8Array): void {
    if (this.#closing) return;
    const counters = this.#counters[direction];
    if (this.#accepted >= this.#maxDatagrams) {
      counters.overLimit++;
      return;
    }
    this.#accepted++;
    counters.received++;
    const decision = this.#planner.decide(direction);
    const held = this.#held[direction];
    this.#held[direction] = undefined;
    if (decision.drop) {
      counters.dropped++;
    } else {
      const copies = decision.duplicate ? 2 : 1;
      if (decision.duplicate) counters.duplicated++;
      if (decision.delayMs > 0) counters.delayed++;
      if (decision.reorder && held === undefined) {
        counters.reordered++;
        const timer = this.#later(() => {
          if (this.#held[direction]?.timer !== timer) return;
          this.#held[direction] = undefined;
          this.#transmit(direction, bytes, copies);
        }, this.#holdMs + decision.delayMs);
        this.#held[direction] = { bytes, copies, timer };
      } else {
        this.#forward(direction, bytes, copies, decision.delayMs);
      }
    }
    if (held !== undefined) {
      this.#cancel(held.timer);
      this.#forward(direction, held.bytes, held.copies, decision.drop ? 0 : decision.delayMs);
    }
  }

  #forward(direction: FaultDirection, bytes: Uint8Array, copies: number, delayMs: number): void {
    if (delayMs === 0) {
      this.#transmit(direction, bytes, copies);
    } else {
      this.#later(() => this.#transmit(direction, bytes, copies), delayMs);
    }
  }

  #transmit(direction: FaultDirection, bytes: Uint8Array, copies: number): void {
    if (this.#closing) return;
    const client = this.#client;
    for (let i = 0; i < copies; i++) {
      if (direction === "toServer") {
        this.#back.send(bytes);
      } else if (client !== undefined) {
        this.#front.send(bytes, client.port, client.address);
      }
    }
    this.#counters[direction].delivered += copies;
  }

  #later(fn: () => void, ms: number): Timer {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #cancel(timer: Timer): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      clearTimeout(this.#runTimer);
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      await Promise.all([
        new Promise<void>((resolve) => this.#front.close(() => resolve())),
        new Promise<void>((resolve) => this.#back.close(() => resolve())),
      ]);
      this.#resolveClosed();
    }
    return this.closed;
  }
}
