/**
 * The sans-IO DTLS client against the in-memory DTLS server on a seeded faulty path with a
 * fake clock: the reference run, loss, duplication, reordering, delay, the handshake deadline,
 * servers with and without the cookie exchange, and the record layer's silent drops, replay
 * window, alerts and MTU limit. Nothing sleeps; each scenario runs in well under a second.
 */

import assert from "node:assert/strict";
import {
  AlertDescription,
  AlertLevel,
  CipherSuites,
  concatBytes,
  ContentType,
  encodeDtlsRecord,
  ProtocolVersion,
  TlsAlertError,
} from "@anchortls/record";
import { parsePem } from "@anchortls/x509";
import { SoftwareCryptoProvider } from "../software_provider.ts";
import {
  DtlsPair,
  DtlsTestServer,
  fixedTrustAnchors,
  readFixedPki,
  withFaultSeed,
} from "@anchortls/testing";
import { DtlsClientCore } from "./dtls_client.ts";
import { DtlsHandshakeTimeoutError } from "./retransmit_timer.ts";
import { encodeDtlsHandshakeMessage } from "./handshake_header.ts";
import { HandshakeType } from "../messages/handshake_type.ts";

Deno.test("DTLS core reference run: cookie exchange, no resend, no drop, echo", async () => {
  const s = new DtlsPair(1);
  await s.handshake();
  const connected = s.events.find((e) => e.kind === "connected");
  assert.equal(connected?.kind === "connected" && connected.info.extendedMasterSecret, true);
  assert.equal(s.client.stats.retransmissions, 0);
  // ClientHello, ClientHello with the cookie, and ClientKeyExchange + ChangeCipherSpec +
  // Finished packed into one datagram.
  assert.equal(s.client.stats.datagramsSent, 3);
  assert.equal(s.client.stats.dropped, 0);
  assert.equal(s.client.stats.replayed, 0);
  assert.equal(s.server.resends, 0);
  const seen = await s.echo(20);
  assert.equal(seen.size, 20);
  assert.ok([...seen.values()].every((n) => n === 1));
});

Deno.test("DTLS core: a server without the cookie exchange, every suite × EtM", async () => {
  for (const suite of Object.values(CipherSuites)) {
    for (const encryptThenMac of [true, false]) {
      const s = new DtlsPair(2, {}, { suites: [suite], encryptThenMac }, { cookie: false });
      await s.handshake();
      assert.equal(s.server.server.clientCertificate, undefined);
      assert.equal((await s.echo(3)).size, 3);
    }
  }
});

Deno.test("DTLS core: flights cut to a 300-byte MTU with a client certificate, both ways", async () => {
  const clientProvider = await SoftwareCryptoProvider.create({
    clientCertificate: {
      chain: parsePem(
        (await readFixedPki("client.pem")) + (await readFixedPki("intermediate.pem")),
      ),
      privateKey: await readFixedPki("client.key"),
    },
  });
  const s = new DtlsPair(3, {}, { mtu: 300, provider: clientProvider }, {
    mtu: 300,
    certificateRequest: { schemes: [0x0804, 0x0401] },
  });
  await s.handshake();
  assert.equal(s.server.server.clientCertificate?.length, 2);
  assert.ok(s.client.maxMessageLength <= 300 - 13);
  await assert.rejects(s.client.send(new Uint8Array(s.client.maxMessageLength + 1)), RangeError);
});

const SEEDS = Array.from({ length: 20 }, (_, i) => 7000 + i);

Deno.test("DTLS core under 20% loss each way: every seed completes and echoes arrive once", async () => {
  let timer = 0;
  for (const seed of SEEDS) {
    await withFaultSeed(seed, async () => {
      const s = new DtlsPair(seed, { toServer: { drop: 0.2 }, toClient: { drop: 0.2 } }, {}, {
        mtu: 500,
      });
      await s.handshake();
      timer += s.client.stats.timerRetransmissions;
      const seen = await s.echo(10);
      assert.ok([...seen.values()].every((n) => n === 1));
    });
  }
  assert.ok(timer > 0, "lost flights were resent on the timer");
});

Deno.test("DTLS core with duplication: replays are counted, never delivered twice", async () => {
  let replayed = 0;
  for (const seed of SEEDS.slice(0, 10)) {
    await withFaultSeed(seed, async () => {
      const s = new DtlsPair(seed, { toServer: { duplicate: 0.5 }, toClient: { duplicate: 0.5 } });
      await s.handshake();
      const seen = await s.echo(20);
      assert.equal(seen.size, 20);
      assert.ok([...seen.values()].every((n) => n === 1));
      replayed += s.client.stats.replayed;
    });
  }
  assert.ok(replayed > 0);
});

Deno.test("DTLS core with reordering and delay: every seed completes", async () => {
  for (const seed of SEEDS.slice(0, 10)) {
    await withFaultSeed(seed, async () => {
      const s = new DtlsPair(
        seed,
        {
          toServer: { reorder: 0.3, delay: 0.2, delayMs: [200, 600] },
          toClient: { reorder: 0.3, delay: 0.2, delayMs: [200, 600], duplicate: 0.1 },
        },
        {},
        { mtu: 400 },
      );
      await s.handshake();
      const seen = await s.echo(10);
      assert.ok([...seen.values()].every((n) => n === 1));
    });
  }
});

Deno.test("DTLS core: a silent server ends at the handshake deadline with a typed error", async () => {
  const s = new DtlsPair(4, { toClient: { drop: 1 } }, {
    retransmit: { initialTimeoutMs: 1000, maxTimeoutMs: 60_000, handshakeTimeoutMs: 20_000 },
  });
  await s.start();
  const spent = await s.run(() => s.client.state !== "handshaking");
  assert.equal(s.client.state, "failed");
  const failed = s.events.find((e) => e.kind === "failed");
  assert.ok(failed?.kind === "failed" && failed.error instanceof DtlsHandshakeTimeoutError);
  assert.equal(failed.error.waitingFor, "ServerHello or HelloVerifyRequest");
  assert.match(
    failed.error.message,
    /4 retransmissions while waiting for the server's ServerHello/,
  );
  assert.ok(spent >= 20_000);
  // 1 s, then 2, 4, 8 (15 s in all) before the 20 s deadline.
  assert.equal(s.client.stats.timerRetransmissions, 4);
  assert.equal(s.client.pollTimeout(), undefined);
});

Deno.test("DTLS core: garbage, unknown epochs and forged records are dropped and counted", async () => {
  const s = new DtlsPair(5);
  await s.handshake();
  const before = s.client.stats.dropped;
  let sequenceNumber = 1000;
  const record = (epoch: number, type: number, fragment: Uint8Array) =>
    encodeDtlsRecord({
      type,
      version: ProtocolVersion.dtls12,
      epoch,
      sequenceNumber: sequenceNumber++,
      fragment,
    });
  s.inject(Uint8Array.of(23, 0xfe, 0xfd, 0, 1)); // cut-short header
  s.inject(record(7, ContentType.application_data, new Uint8Array(48))); // unknown epoch
  s.inject(record(1, ContentType.application_data, new Uint8Array(48))); // bad MAC
  s.inject(record(0, ContentType.application_data, Uint8Array.of(1, 2, 3))); // plaintext data
  s.inject(record(0, ContentType.alert, Uint8Array.of(2, 40))); // unauthenticated alert
  await s.run(() => false, s.elapsed + 100);
  assert.equal(s.client.stats.dropped - before, 5);
  assert.equal(s.client.state, "connected");
  assert.equal(s.events.filter((e) => e.kind === "data").length, 0);
});

Deno.test("DTLS core: a replayed application record is dropped by the window", async () => {
  const s = new DtlsPair(6);
  await s.handshake();
  const datagram = await s.server.applicationData(new TextEncoder().encode("once"));
  s.inject(datagram);
  s.inject(datagram);
  await s.run(() => false, s.elapsed + 100);
  assert.equal(s.events.filter((e) => e.kind === "data").length, 1);
  assert.equal(s.client.stats.replayed, 1);
});

Deno.test("DTLS core: close_notify both ways, and a fatal alert from the server", async () => {
  const s = new DtlsPair(7);
  await s.handshake();
  s.inject(await s.server.alert(AlertLevel.warning, AlertDescription.close_notify));
  await s.run(() => s.client.state !== "connected");
  assert.equal(s.client.state, "closed");
  assert.ok(s.events.some((e) => e.kind === "closed"));

  const t = new DtlsPair(8);
  await t.handshake();
  await t.client.close();
  t.drain();
  await t.run(() => t.server.alerts.length > 0);
  assert.deepEqual(t.server.alerts, [[AlertLevel.warning, AlertDescription.close_notify]]);
  await assert.rejects(t.client.send(new Uint8Array(1)), TypeError);

  const u = new DtlsPair(9);
  await u.handshake();
  u.inject(await u.server.alert(AlertLevel.fatal, AlertDescription.internal_error));
  await u.run(() => u.client.state !== "connected");
  const failed = u.events.find((e) => e.kind === "failed");
  assert.ok(
    failed?.kind === "failed" && failed.error instanceof TlsAlertError && failed.error.fromPeer,
  );
});

Deno.test("DTLS core: a bad server Finished fails with decrypt_error sent in epoch 1", async () => {
  const s = new DtlsPair(10, {}, {}, { badFinished: true });
  await assert.rejects(
    s.handshake(),
    (e: unknown) => e instanceof TlsAlertError && e.description === AlertDescription.decrypt_error,
  );
  await s.run(() => s.server.alerts.length > 0, s.elapsed + 100);
  assert.deepEqual(s.server.alerts, [[AlertLevel.fatal, AlertDescription.decrypt_error]]);
});

Deno.test("DTLS core: a ServerHello with the TLS version is protocol_version", async () => {
  const s = new DtlsPair(11, {}, {}, {
    serverHello: (hello) => ({ ...hello, version: ProtocolVersion.tls12 }),
  });
  await assert.rejects(
    s.handshake(),
    (e: unknown) =>
      e instanceof TlsAlertError && e.description === AlertDescription.protocol_version,
  );
});

Deno.test("DTLS core: the server's retransmitted flight makes the client resend its lost one at once", async () => {
  const s = new DtlsPair(12, {}, {
    retransmit: { initialTimeoutMs: 1000, handshakeTimeoutMs: 30_000 },
  });
  await s.start();
  await s.run(() => s.client.stats.datagramsSent >= 2);
  s.blockToServer = true;
  await s.run(() => s.client.stats.datagramsSent >= 3);
  const started = s.now;
  // Half a timeout later the server, which never saw our flight, sends its own again.
  s.clock.advance(600);
  for (const d of await s.server.resendLastFlight()) s.inject(d);
  s.blockToServer = false;
  await s.run(() => s.client.state !== "handshaking");
  assert.equal(s.client.state, "connected");
  assert.equal(s.client.stats.peerRetransmissions, 1);
  assert.equal(s.client.stats.timerRetransmissions, 0);
  assert.ok(s.now - started < 1000, "done before the retransmission timer would have fired");
});

Deno.test("DTLS core: closing during the handshake sends user_canceled, then close_notify", async () => {
  const s = new DtlsPair(13);
  await s.start();
  await s.run(() => s.client.stats.datagramsSent >= 2);
  await s.client.close();
  s.drain();
  await s.run(() => s.server.alerts.length >= 2);
  assert.deepEqual(s.server.alerts, [
    [AlertLevel.warning, AlertDescription.user_canceled],
    [AlertLevel.warning, AlertDescription.close_notify],
  ]);
  assert.equal(s.client.state, "closed");
  assert.equal(s.client.pollTimeout(), undefined);
});

/** The records of a datagram as raw bytes with their type and epoch (13-byte DTLS headers). */
function rawRecords(datagram: Uint8Array): { type: number; epoch: number; bytes: Uint8Array }[] {
  const out: { type: number; epoch: number; bytes: Uint8Array }[] = [];
  for (let at = 0; at + 13 <= datagram.length;) {
    const length = datagram[at + 11]! << 8 | datagram[at + 12]!;
    out.push({
      type: datagram[at]!,
      epoch: datagram[at + 3]! << 8 | datagram[at + 4]!,
      bytes: datagram.subarray(at, at + 13 + length),
    });
    at += 13 + length;
  }
  return out;
}

Deno.test("DTLS core: one forged epoch-0 record with sequence 2^48−1 does not stall the handshake", async () => {
  const s = new DtlsPair(21);
  await s.start();
  // Unauthenticated and of no use (it does not even decode): it must not move the window.
  s.inject(encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber: 2 ** 48 - 1,
    fragment: Uint8Array.of(1, 2, 3),
  }));
  await s.run(() => s.client.state !== "handshaking");
  assert.equal(s.client.state, "connected");
  assert.equal(s.client.stats.replayed, 0);
});

Deno.test("DTLS core: after the server's ChangeCipherSpec an epoch-0 Finished is dropped; the epoch-1 one completes", async () => {
  const s = new DtlsPair(22, {}, {}, { cookie: false });
  const forgedFinished = encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber: 5000,
    // A plaintext Finished at every message_seq the server could be at.
    fragment: concatBytes(Array.from({ length: 12 }, (_, messageSeq) =>
      encodeDtlsHandshakeMessage({
        msgType: HandshakeType.finished,
        messageSeq,
        body: new Uint8Array(12),
      }))),
  });
  const handle = s.server.handle.bind(s.server);
  let forged = false;
  s.server.handle = async (datagram) => {
    const out: Uint8Array[] = [];
    for (const d of await handle(datagram)) {
      const records = rawRecords(d);
      const ccs = records.findIndex((r) => r.type === ContentType.change_cipher_spec);
      if (forged || ccs < 0) {
        out.push(d);
        continue;
      }
      forged = true;
      out.push(concatBytes(records.slice(0, ccs + 1).map((r) => r.bytes)), forgedFinished);
      const rest = records.slice(ccs + 1);
      if (rest.length) out.push(concatBytes(rest.map((r) => r.bytes)));
    }
    return out;
  };
  await s.handshake();
  assert.ok(forged, "the forged Finished was sent after the CCS");
  assert.ok(s.client.stats.fragmentsDropped >= 1);
});

Deno.test("DTLS core: an opened record over 2^14 bytes is dropped and counted, never delivered", async () => {
  // A protector double that opens a marked 100-byte record to 2^14 + 1 bytes, as a broken or
  // hostile peer's record could decrypt to.
  class OversizeProvider extends SoftwareCryptoProvider {
    override async recordKeys(
      ...args: Parameters<SoftwareCryptoProvider["recordKeys"]>
    ): ReturnType<SoftwareCryptoProvider["recordKeys"]> {
      const keys = await super.recordKeys(...args);
      const server = keys.server;
      return {
        client: keys.client,
        server: {
          maxExpansion: server.maxExpansion,
          open: (context, fragment) =>
            fragment.length === 100 && fragment[0] === 0xee
              ? new Uint8Array(16385)
              : server.open(context, fragment),
          seal: (context, plaintext) => server.seal(context, plaintext),
        },
      };
    }
  }
  const s = new DtlsPair(23, {}, { provider: new OversizeProvider() });
  await s.handshake();
  const before = s.client.stats.dropped;
  s.inject(encodeDtlsRecord({
    type: ContentType.application_data,
    version: ProtocolVersion.dtls12,
    epoch: 1,
    sequenceNumber: 77,
    fragment: new Uint8Array(100).fill(0xee),
  }));
  await s.run(() => false, s.elapsed + 100);
  assert.equal(s.client.stats.dropped - before, 1);
  assert.equal(s.events.filter((e) => e.kind === "data").length, 0);
  assert.equal(s.client.state, "connected");
});

Deno.test("DTLS core: a forged epoch-1 record far ahead with a bad MAC does not lock out the genuine next one", async () => {
  const s = new DtlsPair(24);
  await s.handshake();
  s.inject(encodeDtlsRecord({
    type: ContentType.application_data,
    version: ProtocolVersion.dtls12,
    epoch: 1,
    sequenceNumber: 2 ** 40,
    fragment: new Uint8Array(64),
  }));
  s.inject(await s.server.applicationData(new TextEncoder().encode("genuine")));
  await s.run(() => false, s.elapsed + 100);
  const data = s.events.filter((e) => e.kind === "data");
  assert.equal(data.length, 1);
  assert.equal(
    new TextDecoder().decode(data[0]!.kind === "data" ? data[0]!.data : undefined),
    "genuine",
  );
});

Deno.test("DTLS core: a HelloVerifyRequest once connected is dropped and sends nothing", async () => {
  const s = new DtlsPair(25);
  await s.handshake();
  s.drain();
  const hvr = encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber: 9000,
    fragment: encodeDtlsHandshakeMessage({
      msgType: HandshakeType.hello_verify_request,
      messageSeq: 0,
      body: Uint8Array.of(0xfe, 0xfd, 4, 1, 2, 3, 4),
    }),
  });
  await s.client.handleDatagram(hvr, s.now);
  assert.deepEqual(s.client.pollTransmit(), []);
  assert.equal(s.client.state, "connected");
});

Deno.test("DTLS core: a HelloVerifyRequest after the ServerHello is dropped and no second ClientHello goes out", async () => {
  const client = new DtlsPair(26).client;
  const server = new DtlsTestServer();
  const now = Date.now();
  await client.start(now);
  const [hello] = client.pollTransmit();
  const [verify] = await server.handle(hello!);
  const hvrRecord = verify!;
  await client.handleDatagram(hvrRecord, now);
  const [helloWithCookie] = client.pollTransmit();
  const flight = await server.handle(helloWithCookie!);
  // The datagram with the ServerHello: the server has our ClientHello and is answering it.
  await client.handleDatagram(flight[0]!, now + 300);
  // The old HelloVerifyRequest again (replayed or late), and one with a fresh record number.
  await client.handleDatagram(hvrRecord, now + 400);
  const replayed = encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber: 50,
    fragment: encodeDtlsHandshakeMessage({
      msgType: HandshakeType.hello_verify_request,
      messageSeq: 0,
      body: Uint8Array.of(0xfe, 0xfd, 4, 1, 2, 3, 4),
    }),
  });
  await client.handleDatagram(replayed, now + 500);
  assert.deepEqual(client.pollTransmit(), [], "no ClientHello sent again");
  assert.equal(client.state, "handshaking");
  for (const d of flight.slice(1)) await client.handleDatagram(d, now + 600);
  assert.ok(client.pollTransmit().length > 0, "the handshake goes on: our second flight");
  assert.equal(client.state, "handshaking");
});

Deno.test("DTLS core: by default a silent server fails the handshake after 60 s, naming the stage", async () => {
  const core = new DtlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors: fixedTrustAnchors,
    serverName: "localhost",
  });
  const start = Date.now();
  await core.start(start);
  for (let t = core.pollTimeout(); t !== undefined; t = core.pollTimeout()) {
    core.pollTransmit();
    await core.handleTimeout(t);
  }
  const failed = [...function* () {
    for (let e = core.pollEvent(); e; e = core.pollEvent()) yield e;
  }()].find((e) => e.kind === "failed");
  assert.ok(failed?.kind === "failed" && failed.error instanceof DtlsHandshakeTimeoutError);
  assert.equal(failed.error.elapsedMs, 60_000);
  assert.equal(failed.error.waitingFor, "ServerHello or HelloVerifyRequest");
});
