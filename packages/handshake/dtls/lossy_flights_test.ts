/**
 * The DTLS building blocks wired together as the handshake will wire them, on both ends of a
 * seeded lossy path with a fake clock: fragmenter and packer out, datagram splitter and
 * reassembler in, flight tracker and timer deciding every resend. The messages are dummies of
 * realistic sizes; what is tested is that the flights get through, in well under a second of
 * real time, whatever the path drops, duplicates and reorders.
 */

import assert from "node:assert/strict";
import { ContentType, encodeDtlsRecord, ProtocolVersion, splitDatagram } from "@anchortls/record";
import { type FlightEntry, FlightTracker, planFlightRecords } from "./flight.ts";
import { packDatagrams } from "./fragmenter.ts";
import { decodeDtlsHandshakeRecord, type DtlsHandshakeMessage } from "./handshake_header.ts";
import { DtlsReassembler } from "./reassembler.ts";
import { DtlsHandshakeTimeoutError } from "./retransmit_timer.ts";
import { FakeClock, type FaultRates, LossyChannel } from "@anchortls/testing";

const MTU = 400;

function message(msgType: number, messageSeq: number, length: number): DtlsHandshakeMessage {
  const body = new Uint8Array(length).map((_, i) => (i * 7 + msgType * 13 + messageSeq) & 0xff);
  return { msgType, messageSeq, body };
}

const hs = (epoch: number, m: DtlsHandshakeMessage): FlightEntry => ({
  kind: "handshake",
  epoch,
  message: m,
});
const ccs: FlightEntry = { kind: "change_cipher_spec", epoch: 0 };

// A full handshake with a cookie exchange; sizes as openssl s_server sends them.
const clientHello = message(1, 0, 90);
const helloVerifyRequest = message(3, 0, 23);
const clientHelloWithCookie = message(1, 1, 110);
const certificate = message(11, 2, 1800);
const flight4 = [message(2, 1, 70), certificate, message(14, 3, 0)].map((m) => hs(0, m));
const flight5 = [hs(0, message(16, 2, 258)), ccs, hs(1, message(20, 3, 12))];
const flight6 = [ccs, hs(1, message(20, 4, 12))];

type Side = "client" | "server";

class Endpoint {
  readonly reassembler = new DtlsReassembler();
  readonly flights = new FlightTracker(0);
  readonly received: DtlsHandshakeMessage[] = [];
  readonly #sequence = new Map<number, number>();
  done = false;

  /** Encodes entries as records with fresh sequence numbers per epoch, packed into datagrams. */
  datagrams(entries: readonly FlightEntry[]): Uint8Array[] {
    const records = planFlightRecords(entries, { mtu: MTU, expansion: () => 0 }).map((r) => {
      const sequenceNumber = this.#sequence.get(r.epoch) ?? 0;
      this.#sequence.set(r.epoch, sequenceNumber + 1);
      return encodeDtlsRecord({
        type: r.contentType,
        version: ProtocolVersion.dtls12,
        epoch: r.epoch,
        sequenceNumber,
        fragment: r.plaintext,
      });
    });
    return packDatagrams(records, MTU);
  }
}

interface Outcome {
  client: Endpoint;
  server: Endpoint;
  now: number;
  datagrams: number;
}

/** Runs the handshake's flights over the lossy path until the client has the server's Finished. */
function run(seed: number, toServer: FaultRates, toClient: FaultRates): Outcome {
  const path = new LossyChannel({ seed, toServer, toClient, latencyMs: 1 });
  const client = new Endpoint();
  const server = new Endpoint();
  const clock = new FakeClock();
  let datagrams = 0;

  const transmit = (from: Side, entries: readonly FlightEntry[] | undefined): void => {
    if (entries === undefined) return;
    const sender = from === "client" ? client : server;
    for (const datagram of sender.datagrams(entries)) {
      datagrams++;
      path.send(from === "client" ? "toServer" : "toClient", datagram, clock.now);
    }
  };

  const onClientMessage = (m: DtlsHandshakeMessage): void => {
    const peerNextMessageSeq = client.reassembler.nextMessageSeq;
    if (m.msgType === 3) {
      transmit(
        "client",
        client.flights.send([hs(0, clientHelloWithCookie)], clock.now, { peerNextMessageSeq }),
      );
    } else if (m.msgType === 14) {
      transmit("client", client.flights.send(flight5, clock.now, { peerNextMessageSeq }));
    } else if (m.msgType === 20) {
      client.flights.complete(clock.now);
      client.done = true;
    }
  };

  const onServerMessage = (m: DtlsHandshakeMessage): void => {
    const peerNextMessageSeq = server.reassembler.nextMessageSeq;
    if (m.msgType === 1 && m.messageSeq === 0) {
      // A stateless cookie exchange: the HelloVerifyRequest is not a tracked flight.
      transmit("server", [hs(0, helloVerifyRequest)]);
    } else if (m.msgType === 1) {
      transmit("server", server.flights.send(flight4, clock.now, { peerNextMessageSeq }));
    } else if (m.msgType === 20) {
      transmit(
        "server",
        server.flights.send(flight6, clock.now, { peerNextMessageSeq, final: true }),
      );
      server.flights.complete(clock.now);
      server.done = true;
    }
  };

  const receive = (side: Side, datagram: Uint8Array): void => {
    const me = side === "client" ? client : server;
    for (const record of splitDatagram(datagram)) {
      if (record.type !== ContentType.handshake) continue;
      for (const fragment of decodeDtlsHandshakeRecord(record.fragment)) {
        const outcome = me.reassembler.push(fragment);
        if (outcome.kind === "retransmission") {
          if (side === "server" && outcome.messageSeq === 0 && !server.flights.stats.flights) {
            transmit("server", [hs(0, helloVerifyRequest)]);
          } else {
            transmit(side, me.flights.retransmissionSeen(outcome.messageSeq, clock.now));
          }
        }
      }
      for (let m = me.reassembler.next(); m; m = me.reassembler.next()) {
        me.received.push(m);
        (side === "client" ? onClientMessage : onServerMessage)(m);
      }
    }
  };

  transmit(
    "client",
    client.flights.send([hs(0, clientHello)], clock.now, { peerNextMessageSeq: 0 }),
  );
  while (!client.done) {
    const wake = [
      path.pollTimeout(),
      client.flights.pollTimeout(),
      server.flights.pollTimeout(),
    ].filter((t): t is number => t !== undefined);
    assert.ok(wake.length > 0, `seed ${seed}: nothing left to happen at ${clock.now} ms`);
    const now = clock.advanceTo(Math.min(...wake));
    for (const d of path.deliver(now)) {
      receive(d.direction === "toServer" ? "server" : "client", d.datagram);
    }
    if ((client.flights.pollTimeout() ?? Infinity) <= now) {
      transmit("client", client.flights.handleTimeout(now));
    }
    if ((server.flights.pollTimeout() ?? Infinity) <= now) {
      transmit("server", server.flights.handleTimeout(now));
    }
  }
  return { client, server, now: clock.now, datagrams };
}

const clean: FaultRates = {};

Deno.test("reference: a clean path needs no retransmission at all", () => {
  const { client, server } = run(1, clean, clean);
  for (const side of [client, server]) {
    assert.equal(side.flights.stats.timerRetransmissions, 0);
    assert.equal(side.flights.stats.peerRetransmissions, 0);
  }
  assert.deepEqual(
    client.received.map((m) => [m.msgType, m.messageSeq]),
    [[3, 0], [2, 1], [11, 2], [14, 3], [20, 4]],
  );
  assert.deepEqual(client.received[2], certificate);
  assert.deepEqual(
    server.received.map((m) => [m.msgType, m.messageSeq]),
    [[1, 0], [1, 1], [16, 2], [20, 3]],
  );
});

Deno.test("with 20% loss each way, duplicates and reordering, every seed of 30 completes", () => {
  // Every datagram also waits 0..29 ms more, so datagrams overtake each other.
  const lossy: FaultRates = { drop: 0.2, duplicate: 0.1, delay: 1, delayMs: [0, 29] };
  let retransmissions = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const { client, server, now } = run(seed, lossy, lossy);
    assert.ok(server.done, `seed ${seed}`);
    assert.deepEqual(
      client.received.map((m) => m.messageSeq),
      [0, 1, 2, 3, 4],
      `seed ${seed}`,
    );
    assert.deepEqual(client.received[2], certificate, `seed ${seed}`);
    assert.deepEqual(server.received.map((m) => m.messageSeq), [0, 1, 2, 3], `seed ${seed}`);
    assert.ok(now < 60_000, `seed ${seed}: took ${now} ms`);
    retransmissions += client.flights.stats.timerRetransmissions +
      server.flights.stats.timerRetransmissions;
  }
  assert.ok(retransmissions > 0, "the losses never forced a retransmission");
});

Deno.test("a dead path ends in a typed timeout at the handshake deadline", () => {
  const dead: FaultRates = { drop: 1 };
  assert.throws(
    () => run(7, dead, clean),
    (err: unknown) =>
      err instanceof DtlsHandshakeTimeoutError && err.elapsedMs === 60_000 &&
      err.retransmissions === 5,
  );
});
