/**
 * DTLS session resumption (RFC 6347 §4.2.4, RFC 5246 §7.3) against the in-memory server on a
 * fake clock: the abbreviated handshake, its final flight (ours) held and resent when the
 * server retransmits, released after the hold, and a session bound to the protocol it was
 * made with.
 */

import assert from "node:assert/strict";
import { CipherSuites, ProtocolVersion } from "@anchortls/record";
import { DtlsPair } from "@anchortls/testing";
import type { TlsSession } from "../session_cache.ts";
import { SoftwareCryptoProvider } from "../software_provider.ts";
import type { HandshakeInfo } from "../handshake_types.ts";
import type { DtlsClientConfig } from "./dtls_client.ts";

function connectedInfo(pair: DtlsPair): HandshakeInfo {
  const connected = pair.events.find((e) => e.kind === "connected");
  assert.ok(connected?.kind === "connected");
  return connected.info;
}

/** A full handshake on its own pair; returns the pair and the session it made. */
async function fullHandshake(
  config: Partial<DtlsClientConfig>,
): Promise<{ first: DtlsPair; session: TlsSession }> {
  const first = new DtlsPair(41, {}, config);
  await first.handshake();
  const session = connectedInfo(first).session;
  assert.ok(session, "an EMS full handshake with a session ID yields a session");
  assert.equal(session.version, ProtocolVersion.dtls12);
  return { first, session };
}

for (
  const suite of [
    CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
    CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuites.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
  ]
) {
  Deno.test(`DTLS resumption with ${suite.name}: abbreviated handshake, then data`, async () => {
    const provider = new SoftwareCryptoProvider();
    const { first, session } = await fullHandshake({ provider, suites: [suite] });
    const second = new DtlsPair(42, {}, { provider, suites: [suite], session }, {
      resumeFrom: first.server,
    });
    await second.handshake();
    const info = connectedInfo(second);
    assert.equal(info.resumed, true);
    assert.equal(info.suite, suite);
    assert.equal(second.server.server.resumed, true);
    await second.run(() => second.server.complete, second.elapsed + 5_000);
    assert.equal(second.server.complete, true, "the server verified our Finished");
    // ClientHello, ClientHello with the cookie, then ChangeCipherSpec + Finished in one datagram.
    assert.equal(second.client.stats.datagramsSent, 3);
    assert.equal(second.client.stats.retransmissions, 0);
    const seen = await second.echo(5);
    assert.equal(seen.size, 5);
  });
}

Deno.test("DTLS resumption: our final flight lost, the server's retransmission brings it again", async () => {
  const provider = new SoftwareCryptoProvider();
  const { first, session } = await fullHandshake({ provider });
  const second = new DtlsPair(43, {}, { provider, session }, { resumeFrom: first.server });
  await second.start();
  await second.run(() => second.client.stats.datagramsSent >= 2);
  // Our ChangeCipherSpec + Finished never arrive; we are connected regardless (our flight was
  // the last), and no timer runs for it.
  second.blockToServer = true;
  await second.run(() => second.client.state !== "handshaking");
  assert.equal(second.client.state, "connected");
  assert.equal(second.client.pollTimeout(), undefined);
  assert.equal(second.server.complete, false);
  second.blockToServer = false;
  second.clock.advance(1000);
  for (const d of await second.server.resendLastFlight()) second.inject(d);
  await second.run(() => second.server.complete, second.elapsed + 5_000);
  assert.equal(second.server.complete, true);
  assert.equal(second.client.stats.peerRetransmissions, 1);
  assert.equal((await second.echo(3)).size, 3);
});

Deno.test("DTLS resumption: the held final flight is released after the hold time", async () => {
  const provider = new SoftwareCryptoProvider();
  const { first, session } = await fullHandshake({ provider });
  const second = new DtlsPair(44, {}, {
    provider,
    session,
    retransmit: { initialTimeoutMs: 100, finalFlightHoldMs: 10_000 },
  }, { resumeFrom: first.server });
  await second.start();
  await second.run(() => second.client.stats.datagramsSent >= 2);
  second.blockToServer = true;
  await second.run(() => second.client.state !== "handshaking");
  const sent = second.client.stats.datagramsSent;
  second.clock.advance(11_000);
  for (const d of await second.server.resendLastFlight()) second.inject(d);
  await second.run(() => false, second.elapsed + 1_000);
  assert.equal(second.client.stats.datagramsSent, sent, "nothing resent after the hold");
  assert.equal(second.client.stats.peerRetransmissions, 0);
});

Deno.test("DTLS resumption: a session made over TLS is not offered over DTLS", async () => {
  const provider = new SoftwareCryptoProvider();
  const { first, session } = await fullHandshake({ provider });
  const tlsSession: TlsSession = { ...session, version: ProtocolVersion.tls12 };
  const second = new DtlsPair(45, {}, { provider, session: tlsSession }, {
    resumeFrom: first.server,
  });
  await second.handshake();
  assert.equal(second.server.server.clientHello.sessionId.length, 0);
  assert.equal(connectedInfo(second).resumed, false);
});

Deno.test("DTLS resumption: a ChangeCipherSpec ahead of its ServerHello is dropped, the retransmission completes", async () => {
  const provider = new SoftwareCryptoProvider();
  const { first, session } = await fullHandshake({ provider });
  const second = new DtlsPair(46, {}, { provider, session }, { resumeFrom: first.server });
  await second.start();
  await second.run(() => second.client.stats.datagramsSent >= 2);
  // A stray ChangeCipherSpec before any ServerHello: in DTLS it is dropped, not fatal.
  const strayChangeCipherSpec = Uint8Array.fromHex("14fefd0000000000000009000101");
  await second.client.handleDatagram(strayChangeCipherSpec, second.now);
  assert.equal(second.client.stats.dropped, 1);
  assert.equal(second.client.state, "handshaking");
  await second.run(() => second.client.state !== "handshaking");
  assert.equal(connectedInfo(second).resumed, true);
});
