import assert from "node:assert/strict";
import { ContentType } from "@anchortls/record";
import {
  DEFAULT_FINAL_FLIGHT_HOLD_MS,
  type FlightEntry,
  FlightTracker,
  planFlightRecords,
} from "./flight.ts";
import { decodeDtlsHandshakeRecord } from "./handshake_header.ts";
import { DtlsHandshakeTimeoutError } from "./retransmit_timer.ts";

const clientHello: FlightEntry = {
  kind: "handshake",
  epoch: 0,
  message: { msgType: 1, messageSeq: 1, body: new Uint8Array(90).fill(1) },
};

// Flight 5 of a full handshake: ClientKeyExchange, ChangeCipherSpec, Finished under epoch 1.
const flight5: FlightEntry[] = [
  {
    kind: "handshake",
    epoch: 0,
    message: { msgType: 16, messageSeq: 2, body: new Uint8Array(258).fill(2) },
  },
  { kind: "change_cipher_spec", epoch: 0 },
  {
    kind: "handshake",
    epoch: 1,
    message: { msgType: 20, messageSeq: 3, body: new Uint8Array(12).fill(3) },
  },
];

Deno.test("plans one record per fragment and a one-byte ChangeCipherSpec record", () => {
  const records = planFlightRecords(flight5, {
    mtu: 200,
    expansion: (epoch) => (epoch === 0 ? 0 : 64),
  });
  assert.deepEqual(
    records.map((r) => [r.contentType, r.epoch, r.plaintext.length]),
    [[22, 0, 187], [22, 0, 95], [20, 0, 1], [22, 1, 24]],
  );
  assert.deepEqual(records[2]?.plaintext, new Uint8Array([1]));
  assert.equal(records[2]?.contentType, ContentType.change_cipher_spec);
  const finished = decodeDtlsHandshakeRecord(records[3]!.plaintext)[0];
  assert.deepEqual([finished?.msgType, finished?.messageSeq, finished?.length], [20, 3, 12]);
});

Deno.test("the epoch's expansion shrinks the fragments of that epoch only", () => {
  const big: FlightEntry[] = [
    {
      kind: "handshake",
      epoch: 1,
      message: { msgType: 20, messageSeq: 0, body: new Uint8Array(300) },
    },
  ];
  const records = planFlightRecords(big, { mtu: 200, expansion: (e) => (e === 1 ? 100 : 0) });
  assert.ok(records.every((r) => 13 + 100 + r.plaintext.length <= 200));
  assert.equal(records.length, Math.ceil(300 / (200 - 13 - 100 - 12)));
});

Deno.test("resends the flight on timer expiry, doubling, until the handshake deadline", () => {
  const flights = new FlightTracker(0, { handshakeTimeoutMs: 10_000 });
  assert.deepEqual(flights.send([clientHello], 0, { peerNextMessageSeq: 1 }), [clientHello]);
  const resentAt: number[] = [];
  assert.throws(() => {
    for (;;) {
      const at = flights.pollTimeout()!;
      if (flights.handleTimeout(at) !== undefined) resentAt.push(at);
    }
  }, DtlsHandshakeTimeoutError);
  assert.deepEqual(resentAt, [1_000, 3_000, 7_000]);
  assert.deepEqual(flights.stats, {
    flights: 1,
    timerRetransmissions: 3,
    peerRetransmissions: 0,
    ignoredPeerRetransmissions: 0,
  });
});

Deno.test("a new flight replaces the old one and restarts the timer", () => {
  const flights = new FlightTracker(0);
  flights.send([clientHello], 0, { peerNextMessageSeq: 1 });
  flights.send(flight5, 400, { peerNextMessageSeq: 4 });
  assert.equal(flights.pollTimeout(), 1_400);
  assert.equal(flights.handleTimeout(1_000), undefined);
  assert.deepEqual(flights.handleTimeout(1_400), flight5);
});

Deno.test("the peer retransmitting the flight ours answered makes us resend, once per gap", () => {
  const flights = new FlightTracker(0);
  flights.send(flight5, 0, { peerNextMessageSeq: 4 });
  // The server's flight 4 (ServerHello 1, Certificate 2, ServerHelloDone 3) comes again.
  assert.deepEqual(flights.retransmissionSeen(1, 600), flight5);
  assert.equal(flights.retransmissionSeen(2, 601), undefined, "same burst");
  assert.equal(flights.retransmissionSeen(3, 1_000), undefined, "still within the gap");
  assert.equal(flights.pollTimeout(), 1_600, "the resend re-armed the timer without doubling");
  assert.deepEqual(flights.retransmissionSeen(1, 1_100), flight5);
  assert.deepEqual(flights.stats, {
    flights: 1,
    timerRetransmissions: 0,
    peerRetransmissions: 2,
    ignoredPeerRetransmissions: 2,
  });
});

Deno.test("retransmissions of the peer's current flight are no sign of loss", () => {
  const flights = new FlightTracker(0);
  flights.send([clientHello], 0, { peerNextMessageSeq: 1 });
  // ServerHello (1) was delivered; the server resends it while we still wait for the rest.
  assert.equal(flights.retransmissionSeen(1, 900, 2), undefined);
  // Its HelloVerifyRequest (0) again once the ServerHello is in: the server has our hello.
  assert.equal(flights.retransmissionSeen(0, 900, 2), undefined);
  // Before any of its answer arrived, the same HelloVerifyRequest means our hello was lost.
  assert.deepEqual(flights.retransmissionSeen(0, 900, 1), [clientHello]);
});

Deno.test("the gap can be set, down to zero", () => {
  const flights = new FlightTracker(0, { peerRetransmitMinGapMs: 0 });
  flights.send(flight5, 0, { peerNextMessageSeq: 4 });
  assert.deepEqual(flights.retransmissionSeen(1, 0), flight5);
  assert.deepEqual(flights.retransmissionSeen(2, 0), flight5);
});

Deno.test("after a full handshake our flight is dropped and the peer's final flight ignored", () => {
  const flights = new FlightTracker(0);
  flights.send(flight5, 0, { peerNextMessageSeq: 4 });
  flights.complete(50);
  assert.equal(flights.pollTimeout(), undefined);
  assert.equal(flights.retransmissionSeen(4, 5_000), undefined);
  assert.equal(flights.handleTimeout(1e9), undefined);
});

Deno.test("a final flight is held for twice the MSL to answer a peer that missed it", () => {
  const finished: FlightEntry[] = [
    { kind: "change_cipher_spec", epoch: 0 },
    {
      kind: "handshake",
      epoch: 1,
      message: { msgType: 20, messageSeq: 1, body: new Uint8Array(12) },
    },
  ];
  const flights = new FlightTracker(0);
  flights.send(finished, 100, { peerNextMessageSeq: 3, final: true });
  flights.complete(100);
  assert.equal(flights.pollTimeout(), 100 + DEFAULT_FINAL_FLIGHT_HOLD_MS);
  // The server's ServerHello, CCS and Finished (message_seq 2) come again: answer them.
  assert.deepEqual(flights.retransmissionSeen(2, 5_000), finished);
  assert.equal(flights.handleTimeout(100 + DEFAULT_FINAL_FLIGHT_HOLD_MS), undefined);
  assert.equal(flights.pollTimeout(), undefined);
  assert.equal(flights.retransmissionSeen(2, 300_000), undefined, "released after the hold");
});

Deno.test("no flight, no resend; bad options are refused", () => {
  const flights = new FlightTracker(0);
  assert.equal(flights.retransmissionSeen(0, 10), undefined);
  assert.throws(() => new FlightTracker(0, { peerRetransmitMinGapMs: -1 }), RangeError);
  assert.throws(() => new FlightTracker(0, { finalFlightHoldMs: NaN }), RangeError);
  assert.throws(() => new FlightTracker(0, { initialTimeoutMs: 0 }), RangeError);
});
