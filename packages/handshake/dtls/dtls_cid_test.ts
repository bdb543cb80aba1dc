/**
 * DTLS Connection ID (RFC 9146) in memory, across a simulated address change: the in-memory
 * server, like a real one, ties datagrams to an association by address; after the handshake
 * the client's datagrams arrive from a new address (a NAT rebinding). With CIDs the server
 * finds the association by the CID, authenticates the record, moves to the new address and
 * answers; without, the datagrams are strangers and go unanswered. Also: the client drops a
 * record of a CID epoch that lacks our CID or carries another.
 */

import assert from "node:assert/strict";
import { DtlsTestServer, fixedTrustAnchors } from "@anchortls/testing";
import { SoftwareCryptoProvider } from "../software_provider.ts";
import { DtlsClientCore, type DtlsClientEvent } from "./dtls_client.ts";

const OURS = Uint8Array.of(0xc1, 0xd2, 0xe3);
const THEIRS = Uint8Array.of(0x5e, 0x4f);

/** Runs the handshake with every datagram from `address`; returns the client's events. */
async function connect(
  client: DtlsClientCore,
  server: DtlsTestServer,
  address: string,
): Promise<DtlsClientEvent[]> {
  const events: DtlsClientEvent[] = [];
  const now = Date.now();
  await client.start(now);
  for (let round = 0; round < 20 && client.state === "handshaking"; round++) {
    for (const datagram of client.pollTransmit()) {
      for (const reply of await server.handleFrom(address, datagram)) {
        await client.handleDatagram(reply, now);
      }
    }
    for (let e = client.pollEvent(); e; e = client.pollEvent()) events.push(e);
  }
  return events;
}

/** Sends `text` from `address` and delivers the server's answers; returns what came back. */
async function roundTrip(
  client: DtlsClientCore,
  server: DtlsTestServer,
  address: string,
  text: string,
): Promise<string[]> {
  await client.send(new TextEncoder().encode(text));
  for (const datagram of client.pollTransmit()) {
    for (const reply of await server.handleFrom(address, datagram)) {
      await client.handleDatagram(reply, Date.now());
    }
  }
  const got: string[] = [];
  for (let e = client.pollEvent(); e; e = client.pollEvent()) {
    if (e.kind === "data") got.push(new TextDecoder().decode(e.data));
  }
  return got;
}

function newClient(connectionId?: Uint8Array): DtlsClientCore {
  return new DtlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors: fixedTrustAnchors,
    serverName: "localhost",
    ...(connectionId ? { connectionId } : {}),
  });
}

Deno.test("DTLS CID in memory: the association follows the client to a new address", async () => {
  const client = newClient(OURS);
  const server = new DtlsTestServer({ connectionId: THEIRS });
  const events = await connect(client, server, "198.51.100.7:40001");
  const connected = events.find((e) => e.kind === "connected");
  assert.ok(connected?.kind === "connected");
  assert.deepEqual(connected.info.connectionId, { ours: OURS, peer: THEIRS });
  assert.deepEqual(
    await roundTrip(client, server, "198.51.100.7:40001", "before"),
    ["before"],
  );
  // The NAT rebinds: the same client, a new source port.
  assert.deepEqual(await roundTrip(client, server, "198.51.100.7:51234", "after"), ["after"]);
  assert.equal(server.peerAddress, "198.51.100.7:51234", "the association moved");
  assert.equal(server.strangers, 0);
});

Deno.test("DTLS CID in memory: without CIDs the datagrams from the new address are strangers", async () => {
  const client = newClient();
  const server = new DtlsTestServer({ connectionId: THEIRS });
  const events = await connect(client, server, "198.51.100.7:40001");
  const connected = events.find((e) => e.kind === "connected");
  assert.ok(connected?.kind === "connected");
  assert.equal(connected.info.connectionId, undefined, "not asked for");
  assert.deepEqual(await roundTrip(client, server, "198.51.100.7:51234", "after"), []);
  assert.equal(server.strangers, 1);
  assert.equal(server.peerAddress, "198.51.100.7:40001");
});

Deno.test("DTLS CID in memory: a record of a CID epoch without our CID, or with another, is dropped", async () => {
  const client = newClient(OURS);
  const server = new DtlsTestServer({ connectionId: THEIRS });
  await connect(client, server, "a");
  const dropped = client.stats.dropped;
  // Under the session's real keys, so only the CID rule can refuse them: a plain record in
  // the CID epoch, and one with another CID (its own CID bound into its MAC input).
  await client.handleDatagram(
    await server.applicationDataWithCid(new TextEncoder().encode("plain"), null),
    Date.now(),
  );
  await client.handleDatagram(
    await server.applicationDataWithCid(new TextEncoder().encode("other"), Uint8Array.of(9, 9, 9)),
    Date.now(),
  );
  assert.equal(client.stats.dropped, dropped + 2);
  assert.equal(client.pollEvent(), undefined, "nothing delivered");
  assert.equal(client.state, "connected");
  // The genuine server's records still come through.
  assert.deepEqual(await roundTrip(client, server, "a", "still here"), ["still here"]);
});
