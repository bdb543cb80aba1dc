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
  type FaultDirection,
  type FaultPlanOptions,
  type FaultStats,
  formatFaultStats,
} from "./fault_plan.ts";
import { LossyChannel } from "./lossy_channel.ts";

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
  // The in-memory channel decides and schedules every fate; the proxy only moves real
  // datagrams on a real clock, so a seed means the same faults on both.
  const channel = new LossyChannel({
    seed: options.seed,
    ...(options.toServer ? { toServer: options.toServer } : {}),
    ...(options.toClient ? { toClient: options.toClient } : {}),
    latencyMs: 0,
    reorderHoldMs: holdMs,
    maxDatagrams,
  });
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
  return new FaultProxy(front, back, channel, maxRunMs);
}

class FaultProxy implements UdpFaultProxy {
  readonly hostname: string;
  readonly port: number;
  readonly closed: Promise<void>;
  readonly #front: dgram.Socket;
  readonly #back: dgram.Socket;
  readonly #channel: LossyChannel;
  readonly #runTimer: ReturnType<typeof setTimeout>;
  #deliveryTimer: ReturnType<typeof setTimeout> | undefined;
  #client: { address: string; port: number } | undefined;
  #foreignIgnored = 0;
  #closing = false;
  #resolveClosed!: () => void;

  constructor(front: dgram.Socket, back: dgram.Socket, channel: LossyChannel, maxRunMs: number) {
    this.#front = front;
    this.#back = back;
    this.#channel = channel;
    const address = front.address();
    this.hostname = address.address;
    this.port = address.port;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#runTimer = setTimeout(() => void this.close(), maxRunMs);
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
    return this.#channel.seed;
  }

  get stats(): FaultStats {
    return this.#channel.stats;
  }

  get foreignIgnored(): number {
    return this.#foreignIgnored;
  }

  describe(): string {
    return `udp fault proxy seed ${this.seed}: ${formatFaultStats(this.stats)}`;
  }

  #handle(direction: FaultDirection, bytes: Uint8Array): void {
    if (this.#closing) return;
    this.#channel.send(direction, bytes, performance.now());
    this.#deliver();
  }

  /** Sends what has arrived by now and sleeps until the next arrival. */
  #deliver(): void {
    clearTimeout(this.#deliveryTimer);
    this.#deliveryTimer = undefined;
    if (this.#closing) return;
    const client = this.#client;
    for (const { direction, datagram } of this.#channel.deliver(performance.now())) {
      if (direction === "toServer") this.#back.send(datagram);
      else if (client !== undefined) this.#front.send(datagram, client.port, client.address);
    }
    const next = this.#channel.pollTimeout();
    if (next !== undefined) {
      this.#deliveryTimer = setTimeout(
        () => this.#deliver(),
        Math.max(0, next - performance.now()),
      );
    }
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      clearTimeout(this.#runTimer);
      clearTimeout(this.#deliveryTimer);
      await Promise.all([
        new Promise<void>((resolve) => this.#front.close(() => resolve())),
        new Promise<void>((resolve) => this.#back.close(() => resolve())),
      ]);
      this.#resolveClosed();
    }
    return this.closed;
  }
}
