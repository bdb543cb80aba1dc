/**
 * A DTLS client core and the in-memory DTLS server joined by a seeded lossy path on one fake
 * clock: the whole handshake, retransmissions and data of a sans-IO test run without a socket
 * or a sleep, reproducibly from the seed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SoftwareCryptoProvider } from "@anchortls/handshake";
import {
  type DtlsClientConfig,
  DtlsClientCore,
  type DtlsClientEvent,
} from "@anchortls/handshake/dtls";
import { type Certificate, parseCertificate, parsePem } from "@anchortls/x509";
import { DtlsTestServer, type DtlsTestServerOptions } from "./dtls_memory_server.ts";
import type { FaultRates } from "./fault_plan.ts";
import { FakeClock, LossyChannel } from "./lossy_channel.ts";
import { fixedPkiFile } from "./peers.ts";

/** The fixed test PKI's root, parsed. */
export const fixedTrustAnchors: Certificate[] = parsePem(
  await Deno.readTextFile(fixedPkiFile("root.pem")),
).map((der) => parseCertificate(der));

/** Faults of the path, per direction. */
export interface PairFaults {
  /** Faults towards the server. */
  readonly toServer?: FaultRates;
  /** Faults towards the client. */
  readonly toClient?: FaultRates;
}

/** Client, server and the seeded lossy path between them, on one fake clock. */
export class DtlsPair {
  /** The client under test. */
  readonly client: DtlsClientCore;
  /** The in-memory server. */
  readonly server: DtlsTestServer;
  /** Every event the client produced, in order. */
  readonly events: DtlsClientEvent[] = [];
  /** The fake clock; it starts at the real time, as the test PKI is valid from about now. */
  readonly clock: FakeClock;
  /** While true, every datagram towards the server is lost. */
  blockToServer = false;
  readonly #path: LossyChannel;
  readonly #start: number;

  /**
   * Joins a client and a server.
   *
   * @param seed The seed of the path's faults.
   * @param faults The fault rates per direction.
   * @param config Client settings over the defaults (software provider, the fixed PKI's root,
   *   `localhost`, a 100 ms first retransmission timeout).
   * @param server The server's options.
   */
  constructor(
    seed: number,
    faults: PairFaults = {},
    config: Partial<DtlsClientConfig> = {},
    server: DtlsTestServerOptions = {},
  ) {
    this.#start = Date.now();
    this.clock = new FakeClock(this.#start);
    this.#path = new LossyChannel({ seed, ...faults });
    this.client = new DtlsClientCore({
      provider: new SoftwareCryptoProvider(),
      trustAnchors: fixedTrustAnchors,
      serverName: "localhost",
      retransmit: { initialTimeoutMs: 100, maxTimeoutMs: 1600, handshakeTimeoutMs: 30_000 },
      ...config,
    });
    this.server = new DtlsTestServer(server);
  }

  /** The fake time now. */
  get now(): number {
    return this.clock.now;
  }

  /** Fake time since the pair was made. */
  get elapsed(): number {
    return this.clock.now - this.#start;
  }

  /** Sends what the client has queued and collects its events. */
  drain(): void {
    for (const d of this.client.pollTransmit()) {
      if (!this.blockToServer) this.#path.send("toServer", d, this.now);
    }
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) this.events.push(e);
  }

  /** Injects a datagram towards the client along the path, as if the server had sent it. */
  inject(datagram: Uint8Array): void {
    this.#path.send("toClient", datagram, this.now);
  }

  /**
   * Runs until `done` holds, nothing is left to happen, or `limitMs` of fake time since the
   * pair was made have passed.
   *
   * @returns The fake time since the pair was made.
   */
  async run(done: () => boolean, limitMs = 120_000): Promise<number> {
    this.drain();
    while (!done() && this.elapsed < limitMs) {
      const next = Math.min(
        this.#path.pollTimeout() ?? Infinity,
        this.client.pollTimeout() ?? Infinity,
      );
      if (next === Infinity) break;
      this.clock.advanceTo(next);
      for (const d of this.#path.deliver(this.now)) {
        if (d.direction === "toServer") {
          for (const reply of await this.server.handle(d.datagram)) {
            this.#path.send("toClient", reply, this.now);
          }
        } else {
          await this.client.handleDatagram(d.datagram, this.now);
        }
        this.drain();
      }
      if ((this.client.pollTimeout() ?? Infinity) <= this.now) {
        await this.client.handleTimeout(this.now);
        this.drain();
      }
    }
    return this.elapsed;
  }

  /** Starts the client's handshake. */
  async start(): Promise<void> {
    await this.client.start(this.now);
  }

  /** Runs a whole handshake; throws the client's error when it failed. */
  async handshake(): Promise<void> {
    await this.start();
    await this.run(() => this.client.state !== "handshaking");
    const failed = this.events.find((e) => e.kind === "failed");
    if (failed?.kind === "failed") throw failed.error;
    assert.equal(this.client.state, "connected");
  }

  /**
   * Sends `count` numbered messages and runs until the path goes quiet.
   *
   * @returns How often each message index came back in the server's echo.
   */
  async echo(count: number): Promise<Map<number, number>> {
    for (let i = 0; i < count; i++) {
      const m = new Uint8Array(4 + (i * 53) % 300);
      new DataView(m.buffer).setUint32(0, i);
      await this.client.send(m);
    }
    this.drain();
    await this.run(() => false, this.elapsed + 5_000);
    const seen = new Map<number, number>();
    for (const e of this.events) {
      if (e.kind !== "data") continue;
      const index = new DataView(e.data.buffer, e.data.byteOffset).getUint32(0);
      seen.set(index, (seen.get(index) ?? 0) + 1);
    }
    return seen;
  }
}
