/**
 * The DTLS core gives its secret handles back on every way a handshake ends short of
 * completion (deadline, close, fatal alert), keeps only the session's after completion, and
 * counts the handshake fragments its reassembler drops.
 */

import assert from "node:assert/strict";
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  encodeDtlsRecord,
  ProtocolVersion,
} from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { CountingProvider } from "@anchortls/testing";
import { readFixedPki } from "@anchortls/testing";
import { DtlsTestServer } from "@anchortls/testing";
import { DtlsClientCore, type DtlsClientEvent } from "./dtls_client.ts";
import { encodeDtlsHandshakeFragment } from "./handshake_header.ts";
import { DtlsHandshakeTimeoutError } from "./retransmit_timer.ts";

const trustAnchors = parsePem(await readFixedPki("root.pem")).map((der) => parseCertificate(der));

function client(provider: CountingProvider): DtlsClientCore {
  return new DtlsClientCore({
    provider,
    trustAnchors,
    serverName: "localhost",
    retransmit: { initialTimeoutMs: 100, maxTimeoutMs: 400, handshakeTimeoutMs: 2000 },
  });
}

function events(core: DtlsClientCore): DtlsClientEvent[] {
  const out: DtlsClientEvent[] = [];
  for (let e = core.pollEvent(); e; e = core.pollEvent()) out.push(e);
  return out;
}

/** Passes datagrams both ways, with no loss, until `until` holds or nothing moves. */
async function exchange(
  core: DtlsClientCore,
  server: DtlsTestServer,
  now: number,
  until: () => boolean,
): Promise<void> {
  while (!until()) {
    const out = core.pollTransmit();
    if (out.length === 0) return;
    for (const datagram of out) {
      for (const reply of await server.handle(datagram)) await core.handleDatagram(reply, now);
    }
  }
}

/** A client whose second flight is out: it holds the master secret, the server heard nothing. */
async function afterClientFlight(provider: CountingProvider, now: number) {
  const core = client(provider);
  const server = new DtlsTestServer();
  await core.start(now);
  await exchange(core, server, now, () => provider.live.size > 0);
  assert.equal(core.state, "handshaking");
  assert.equal(provider.live.size, 1, "the master secret");
  core.pollTransmit();
  return { core, server };
}

Deno.test("DTLS core: the handshake deadline releases the secrets", async () => {
  const provider = new CountingProvider();
  let now = Date.now();
  const { core } = await afterClientFlight(provider, now);
  for (let at = core.pollTimeout(); at !== undefined; at = core.pollTimeout()) {
    now = at;
    await core.handleTimeout(now);
  }
  const failed = events(core).find((e) => e.kind === "failed");
  assert.ok(failed?.kind === "failed" && failed.error instanceof DtlsHandshakeTimeoutError);
  assert.equal(provider.live.size, 0);
});

Deno.test("DTLS core: close() during the handshake releases the secrets", async () => {
  const provider = new CountingProvider();
  const { core } = await afterClientFlight(provider, Date.now());
  await core.close();
  assert.equal(core.state, "closed");
  assert.equal(provider.live.size, 0);
  assert.equal(core.pollTransmit().length, 2, "user_canceled, then close_notify");
});

Deno.test("DTLS core: a fatal alert from the server during the handshake releases the secrets", async () => {
  const provider = new CountingProvider();
  const now = Date.now();
  const { core, server } = await afterClientFlight(provider, now);
  await core.handleDatagram(
    await server.alert(AlertLevel.fatal, AlertDescription.bad_record_mac),
    now,
  );
  assert.equal(core.state, "failed");
  assert.equal(provider.live.size, 0);
});

Deno.test("DTLS core: after completion only the session's master secret stays, and close() keeps it", async () => {
  const provider = new CountingProvider();
  const now = Date.now();
  const core = client(provider);
  const server = new DtlsTestServer();
  await core.start(now);
  await exchange(core, server, now, () => core.state !== "handshaking");
  const connected = events(core).find((e) => e.kind === "connected");
  assert.ok(connected?.kind === "connected");
  const kept = connected.info.session ? [connected.info.session.master] : [];
  assert.deepEqual([...provider.live], kept);
  await core.close();
  assert.deepEqual([...provider.live], kept);
});

/** A handshake record in epoch 0 carrying one fragment. */
function fragmentRecord(sequenceNumber: number, messageSeq: number, length: number): Uint8Array {
  return encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber,
    fragment: encodeDtlsHandshakeFragment({
      msgType: 2,
      length,
      messageSeq,
      fragmentOffset: 0,
      body: new Uint8Array(16),
    }),
  });
}

Deno.test("DTLS core: fragments the reassembler drops are counted in stats.fragmentsDropped", async () => {
  const provider = new CountingProvider();
  const now = Date.now();
  const core = client(provider);
  await core.start(now);
  assert.equal(core.stats.fragmentsDropped, 0);
  // Too far ahead: the client expects message 0, and buffers at most 8 past it.
  await core.handleDatagram(fragmentRecord(100, 50, 16), now);
  assert.equal(core.stats.fragmentsDropped, 1);
  // Buffer full: two messages ahead announcing 60 000 bytes each fill the 131 072 allowed.
  await core.handleDatagram(fragmentRecord(101, 1, 60_000), now);
  await core.handleDatagram(fragmentRecord(102, 2, 60_000), now);
  assert.equal(core.stats.fragmentsDropped, 1);
  await core.handleDatagram(fragmentRecord(103, 3, 60_000), now);
  assert.equal(core.stats.fragmentsDropped, 2);
  assert.equal(core.stats.dropped, 0, "the records themselves were valid");
  assert.equal(core.state, "handshaking");
  await core.close();
});
