/**
 * Hostile DTLS peers against `connectDtls`, each within a time cap that fails the test:
 *
 * - an on-path replayer between the client and a real `openssl s_server -dtls1_2` sends every
 *   datagram the server ever sent again, several times, after data has flowed: nothing may be
 *   delivered twice, every replayed record must be counted, and the connection must go on;
 * - a scripted DTLS server plays the TLS scenarios that make sense over datagrams. Invalid
 *   records are dropped and counted, not answered (RFC 6347 §4.1.2.7); protocol violations in
 *   authentic records end in the same typed errors and alerts as over TLS.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { HandshakeType, MAX_CONSECUTIVE_WARNING_ALERTS } from "@anchortls/handshake";
import { encodeDtlsHandshakeFragment } from "@anchortls/handshake/dtls";
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  encodeDtlsRecord,
  splitDatagram,
  TlsAlertError,
} from "@anchortls/record";
import { CertificateError } from "@anchortls/x509";
import { connectDtls, type DtlsConnection, type RetransmitOptions } from "../mod.ts";
import { fixedPki, fixedPkiFile, startOpenSslServer } from "@anchortls/testing";
import type { ReceivedAlert } from "@anchortls/testing";
import { DtlsPeerHandshake, ScriptedDtlsPeer } from "@anchortls/testing";
import { longChain } from "./test_chains.ts";

function assertAlertError(error: unknown, description: number): void {
  assert.ok(error instanceof TlsAlertError, `expected TlsAlertError, got ${error}`);
  assert.equal(error.description, description, error.message);
  assert.equal(error.fromPeer, false);
}

/** The client failed with alert `description` and sent the peer that alert, fatal. */
function assertFailedWithSentAlert(
  error: unknown,
  alerts: readonly ReceivedAlert[],
  description: number,
): void {
  assertAlertError(error, description);
  assert.deepEqual(alerts, [{ level: AlertLevel.fatal, description }]);
}

const CAP_MS = 30_000;
const encoder = new TextEncoder();

/** A promise that rejects once `CAP_MS` passed, and its timer to clear when the test ends. */
function timeCap(): { cap: Promise<never>; timer: ReturnType<typeof setTimeout> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${CAP_MS} ms`)), CAP_MS);
  });
  return { cap, timer: timer! };
}

/** Connects to `port` on 127.0.0.1 as "localhost", trusting the fixed test root. */
async function connectLoopback(
  port: number,
  retransmit: RetransmitOptions,
): Promise<DtlsConnection> {
  return connectDtls({
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(fixedPkiFile("root.pem"))],
    retransmit,
  });
}
const decoder = new TextDecoder();

/** A UDP relay that keeps every datagram from the server and can send them all again. */
interface Replayer {
  readonly port: number;
  /** Datagrams recorded from the server so far. */
  readonly recorded: readonly Uint8Array[];
  /** Sends every recorded datagram to the client again, `times` times over, in order. */
  replay(times: number): Promise<void>;
  close(): Promise<void>;
}

async function replayer(serverPort: number): Promise<Replayer> {
  const front = dgram.createSocket("udp4");
  const back = dgram.createSocket("udp4");
  const fromServer: Uint8Array[] = [];
  let client: { address: string; port: number } | undefined;
  await new Promise<void>((resolve) => front.bind(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => back.bind(0, "127.0.0.1", resolve));
  front.on("message", (message, from) => {
    client = { address: from.address, port: from.port };
    back.send(message, serverPort, "127.0.0.1");
  });
  back.on("message", (message) => {
    fromServer.push(new Uint8Array(message));
    if (client) front.send(message, client.port, client.address);
  });
  const send = (datagram: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      front.send(datagram, client!.port, client!.address, (e) => e ? reject(e) : resolve())
    );
  return {
    port: front.address().port,
    recorded: fromServer,
    replay: async (times) => {
      const old = [...fromServer];
      for (let t = 0; t < times; t++) for (const datagram of old) await send(datagram);
    },
    close: async () => {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => back.close(() => resolve()));
    },
  };
}

/** Reads messages until `text` arrived; returns everything read on the way. */
async function readUntil(dtls: DtlsConnection, text: string): Promise<string> {
  const reader = dtls.readable.getReader();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value);
    }
    return seen;
  } finally {
    reader.releaseLock();
  }
}

Deno.test("hostile DTLS: replayed records are never delivered twice, and are counted", async () => {
  const peer = await startOpenSslServer({ pki: fixedPki, dtls: true, mtu: 1400 });
  const path = await replayer(peer.port);
  const { cap, timer } = timeCap();
  const dtls = await connectLoopback(path.port, {
    initialTimeoutMs: 300,
    handshakeTimeoutMs: 15_000,
  });
  try {
    await Promise.race([
      (async () => {
        await dtls.handshake;
        await dtls.send(encoder.encode("hello\n"));
        await peer.waitFor(/hello\n/);
        await peer.write(encoder.encode("one\n"));
        assert.equal(await readUntil(dtls, "one\n"), "one\n");
        await peer.write(encoder.encode("two\n"));
        assert.equal(await readUntil(dtls, "two\n"), "two\n");
        const before = dtls.stats;
        assert.equal(before.delivered, 2);
        assert.equal(before.replayed, 0);

        // Everything the server sent, handshake and data, three more times.
        const old = path.recorded.slice();
        const oldRecords = old.reduce((n, d) => n + splitDatagram(d).length, 0);
        await path.replay(3);
        await peer.write(encoder.encode("three\n"));
        // The next thing delivered is the new record: no replayed "one" or "two" before it.
        assert.equal(await readUntil(dtls, "three\n"), "three\n");

        const after = dtls.stats;
        assert.equal(after.delivered, 3);
        assert.ok(after.datagramsReceived >= before.datagramsReceived + 3 * old.length);
        // Every replayed record (epoch-0 handshake and epoch-1 Finished and data alike) is
        // caught by its epoch's replay window and counted; none is dropped for another reason
        // and none makes the client resend its last flight.
        assert.equal(after.replayed, 3 * oldRecords, JSON.stringify(after));
        assert.equal(after.dropped, 0);
        assert.equal(after.retransmissions, 0);

        // The connection still works both ways.
        await dtls.send(encoder.encode("still here\n"));
        await peer.waitFor(/still here\n/);
      })(),
      cap,
    ]);
  } finally {
    clearTimeout(timer);
    await dtls.close();
    await path.close();
    await peer.stop();
  }
});

/** What a scripted DTLS scenario ended in. */
interface DtlsOutcome {
  readonly error: unknown;
  readonly value: unknown;
  readonly alerts: ReceivedAlert[];
  readonly stats: DtlsConnection["stats"];
}

/**
 * Plays `script` against a fresh `connectDtls`; `client` decides what the client does (by
 * default it awaits the handshake). When the client fails, the alert it sends is awaited.
 */
async function playDtls(
  script: (peer: ScriptedDtlsPeer, dtls: DtlsConnection) => Promise<void>,
  client: (dtls: DtlsConnection) => Promise<unknown> = (dtls) => dtls.handshake,
): Promise<DtlsOutcome> {
  const peer = await ScriptedDtlsPeer.open();
  const { cap, timer } = timeCap();
  const dtls = await connectLoopback(peer.port, {
    initialTimeoutMs: 2000,
    handshakeTimeoutMs: 10_000,
  });
  try {
    const scripted = script(peer, dtls);
    scripted.catch(() => {});
    const result = await Promise.race([
      client(dtls).then((value) => ({ value, error: undefined }), (error) => ({
        value: undefined,
        error,
      })),
      cap,
    ]);
    await Promise.race([scripted, cap]);
    const alerts = result.error ? await peer.waitForAlert(3000) : [...peer.alerts];
    return { ...result, alerts, stats: dtls.stats };
  } finally {
    clearTimeout(timer);
    await dtls.close();
    await peer.close();
  }
}

Deno.test("hostile DTLS: the scripted server completes an honest handshake and echoes", async () => {
  const { error, value } = await playDtls(
    async (peer) => {
      await new DtlsPeerHandshake(peer).complete();
      const ping = await peer.readRecord();
      assert.equal(ping?.type, ContentType.application_data);
      await peer.send(ContentType.application_data, ping!.content);
    },
    async (dtls) => {
      await dtls.handshake;
      await dtls.send(encoder.encode("echo"));
      const { value } = await dtls.readable.getReader().read();
      return decoder.decode(value);
    },
  );
  assert.equal(error, undefined);
  assert.equal(value, "echo");
});

Deno.test("hostile DTLS: a server Finished with wrong verify_data is decrypt_error", async () => {
  const { error, alerts } = await playDtls(async (peer) => {
    const hs = new DtlsPeerHandshake(peer);
    await hs.firstFlight();
    await hs.readClientFlight();
    await hs.changeCipherSpec();
    await peer.send(ContentType.handshake, hs.finished(true));
  });
  assertFailedWithSentAlert(error, alerts, AlertDescription.decrypt_error);
});

for (
  const [name, length] of [["16 MiB", 0xffffff], ["a 1 MiB certificate", (1 << 20) + 6]] as const
) {
  Deno.test(`hostile DTLS: a fragment announcing ${name} is illegal_parameter before any buffer`, async () => {
    const { error, alerts } = await playDtls(async (peer) => {
      const hs = new DtlsPeerHandshake(peer);
      await hs.readClientHello();
      await peer.send(ContentType.handshake, hs.serverHello());
      await peer.send(
        ContentType.handshake,
        encodeDtlsHandshakeFragment({
          msgType: HandshakeType.certificate,
          length,
          messageSeq: 1,
          fragmentOffset: 0,
          body: new Uint8Array(1000),
        }),
      );
    });
    assertAlertError(error, AlertDescription.illegal_parameter);
    assert.deepEqual(alerts, [{
      level: AlertLevel.fatal,
      description: AlertDescription.illegal_parameter,
    }]);
  });
}

Deno.test("hostile DTLS: a chain of 50 certificates in 1000-byte fragments stops at the path depth limit", async () => {
  const chain = await longChain();
  const { error, alerts } = await playDtls(async (peer, dtls) => {
    await new DtlsPeerHandshake(peer, { chain }).firstFlight(async () => {
      while (dtls.stats.datagramsReceived < peer.datagramsSent - 16) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
  });
  assert.ok(error instanceof CertificateError, `expected CertificateError, got ${error}`);
  assert.equal(error.reason, "max_depth_exceeded");
  assert.deepEqual(alerts, [{
    level: AlertLevel.fatal,
    description: AlertDescription.certificate_unknown,
  }]);
});

Deno.test("hostile DTLS: ServerHelloDone in Certificate's place is unexpected_message", async () => {
  const { error, alerts } = await playDtls(async (peer) => {
    const hs = new DtlsPeerHandshake(peer);
    await hs.readClientHello();
    await peer.send(ContentType.handshake, hs.serverHello());
    await peer.send(ContentType.handshake, hs.serverHelloDone());
  });
  assertFailedWithSentAlert(error, alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile DTLS: a ServerHello with a suite we never offered is illegal_parameter", async () => {
  const { error, alerts } = await playDtls(async (peer) => {
    await new DtlsPeerHandshake(peer, {
      serverHello: (hello) => ({ ...hello, cipherSuite: 0x0005 }),
    }).firstFlight();
  });
  assertFailedWithSentAlert(error, alerts, AlertDescription.illegal_parameter);
});

Deno.test("hostile DTLS: records over the size limit and garbage are dropped, counted, and survived", async () => {
  const { error, stats } = await playDtls(async (peer) => {
    const hs = new DtlsPeerHandshake(peer);
    await hs.readClientHello();
    const length = 16_384 + 2048 + 1;
    await peer.sendDatagram(
      encodeDtlsRecord({
        type: ContentType.handshake,
        version: 0xfefd,
        epoch: 0,
        sequenceNumber: 100,
        fragment: new Uint8Array(length),
      }),
    );
    await peer.sendDatagram(crypto.getRandomValues(new Uint8Array(300)));
    await hs.completeAfterClientHello();
  });
  assert.equal(error, undefined);
  assert.ok(stats.dropped >= 2, JSON.stringify(stats));
});

Deno.test("hostile DTLS: endless fragments of messages ahead stay within the reassembly bounds", async () => {
  const { error } = await playDtls(async (peer, dtls) => {
    const hs = new DtlsPeerHandshake(peer);
    await hs.readClientHello();
    // Messages 5..200, each announcing 64 KiB: at most 8 ahead and 128 KiB are ever held.
    // Paced by what the client took in, so the kernel's socket buffer does not drop them.
    for (let seq = 5; seq <= 200; seq++) {
      while (dtls.stats.datagramsReceived < peer.datagramsSent - 16) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await peer.send(
        ContentType.handshake,
        encodeDtlsHandshakeFragment({
          msgType: HandshakeType.certificate,
          length: 65_536,
          messageSeq: seq,
          fragmentOffset: 0,
          body: new Uint8Array(1000),
        }),
      );
    }
    await hs.completeAfterClientHello();
  });
  assert.equal(error, undefined);
});

Deno.test("hostile DTLS: application data before the server Finished is dropped, not delivered", async () => {
  const { error, stats } = await playDtls(async (peer) => {
    const hs = new DtlsPeerHandshake(peer);
    await hs.firstFlight();
    await hs.readClientFlight();
    await hs.changeCipherSpec();
    await peer.send(ContentType.application_data, encoder.encode("too early"));
    await peer.send(ContentType.handshake, hs.finished());
  });
  assert.equal(error, undefined);
  assert.equal(stats.delivered, 0);
  assert.ok(stats.dropped >= 1, JSON.stringify(stats));
});

Deno.test("hostile DTLS: a renegotiation request gets no_renegotiation; a few warnings pass, a storm ends the connection as in TLS", async () => {
  const { error, value, alerts } = await playDtls(
    async (peer) => {
      const hs = new DtlsPeerHandshake(peer);
      await hs.complete();
      await peer.send(
        ContentType.handshake,
        hs.message(HandshakeType.hello_request, new Uint8Array(0)),
      );
      const answer = await peer.readRecord();
      assert.equal(answer?.type, ContentType.alert);
      // Up to the limit, warnings pass (data resets the count)…
      for (let i = 0; i < MAX_CONSECUTIVE_WARNING_ALERTS; i++) {
        await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 100));
      }
      await peer.send(ContentType.application_data, encoder.encode("still here"));
    },
    async (dtls) => {
      await dtls.handshake;
      const { value } = await dtls.readable.getReader().read();
      return decoder.decode(value);
    },
  );
  assert.equal(error, undefined);
  assert.equal(value, "still here");
  assert.deepEqual(alerts, [{
    level: AlertLevel.warning,
    description: AlertDescription.no_renegotiation,
  }]);

  // …and a storm of them is the same unexpected_message as in TLS (one alert policy).
  const storm = await playDtls(
    async (peer) => {
      const hs = new DtlsPeerHandshake(peer);
      await hs.complete();
      for (let i = 0; i < 200; i++) {
        await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 100));
      }
    },
    async (dtls) => {
      await dtls.handshake;
      await dtls.readable.getReader().read();
    },
  );
  assert.ok(
    storm.error instanceof TlsAlertError &&
      storm.error.description === AlertDescription.unexpected_message,
    `expected unexpected_message, got ${storm.error}`,
  );
  assert.deepEqual(storm.alerts, [{
    level: AlertLevel.fatal,
    description: AlertDescription.unexpected_message,
  }]);
});
