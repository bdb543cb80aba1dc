import assert from "node:assert/strict";
import { CipherSuites, ContentType, splitDatagram } from "@anchortls/record";
import { parseCertificateChain, parsePem } from "@anchortls/x509";
import {
  DtlsPair,
  DtlsTestServer,
  readFixedPki,
  splitMessages,
  tlsRecords,
  TlsTestServer,
} from "@anchortls/testing";
import { DtlsClientCore } from "./dtls/dtls_client.ts";
import { decodeDtlsHandshakeRecord } from "./dtls/handshake_header.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { TlsClientCore } from "./tls/tls_client.ts";
import { describeTrace, type HandshakeTrace, MAX_TRACED_FRAGMENTS } from "./trace.ts";

const trustAnchors = parseCertificateChain(parsePem(await readFixedPki("root.pem")));
const NOW = Date.now();

/** The clear handshake messages in TLS bytes, as (type, body length). */
function clearMessages(bytes: readonly Uint8Array[]): [number, number][] {
  const out: [number, number][] = [];
  for (const record of tlsRecords(bytes)) {
    if (record.type === ContentType.change_cipher_spec) break;
    if (record.type !== ContentType.handshake) continue;
    for (const m of splitMessages(record.fragment)) out.push([m.type, m.body.length]);
  }
  return out;
}

function summary(trace: readonly HandshakeTrace[], direction: "sent" | "received") {
  return trace.filter((t) => t.direction === direction).map((t) =>
    t.kind === "handshake" ? `${t.name}${t.encrypted ? "*" : ""}` : "ccs"
  );
}

Deno.test("trace: a TLS handshake is reported message by message, sizes as on the wire, contents never", async () => {
  const trace: HandshakeTrace[] = [];
  const core = new TlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    onHandshakeMessage: (m) => trace.push(m),
  });
  const server = new TlsTestServer();
  await core.start(NOW);
  const hello = core.pollTransmit();
  const flight = await server.hello(hello);
  await core.handleBytes(flight, NOW);
  const second = core.pollTransmit();
  await core.handleBytes(await server.finish(second), NOW);
  assert.equal(core.state, "connected");

  assert.deepEqual(summary(trace, "sent"), [
    "client_hello",
    "client_key_exchange",
    "ccs",
    "finished*",
  ]);
  assert.deepEqual(summary(trace, "received"), [
    "server_hello",
    "certificate",
    "server_key_exchange",
    "server_hello_done",
    "ccs",
    "finished*",
  ]);
  // Every clear message's size is the one its header carried on the wire, each way.
  const sized = (direction: string) =>
    trace.flatMap((t) =>
      t.kind === "handshake" && t.direction === direction && !t.encrypted
        ? [[t.msgType, t.length]]
        : []
    );
  assert.deepEqual(sized("sent"), clearMessages([...hello, ...second]));
  assert.deepEqual(sized("received"), clearMessages([flight]));
  const finished = trace.filter((t) => t.kind === "handshake" && t.name === "finished");
  assert.ok(finished.every((t) => t.kind === "handshake" && t.length === 12));
  // Only names, numbers and flags: nothing a trace holds can carry message bytes.
  for (const item of trace) {
    for (const value of Object.values(item)) assert.ok(!(value instanceof Uint8Array));
    assert.equal(item.kind === "handshake" ? item.dtls : undefined, undefined);
  }
  assert.equal(describeTrace(trace[0]!), `→ client_hello (${sized("sent")[0]![1]} bytes)`);
  await core.release();
});

/** Runs a DTLS client and server with nothing lost, keeping every datagram each way. */
async function dtlsHandshake(mtu: number, trace: HandshakeTrace[]) {
  const core = new DtlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    // RSA key exchange: its 258-byte ClientKeyExchange is cut at MTU 256, so both directions
    // show fragments.
    suites: [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256],
    mtu,
    onHandshakeMessage: (m) => trace.push(m),
  });
  const server = new DtlsTestServer({ mtu });
  const wire = { sent: [] as Uint8Array[], received: [] as Uint8Array[] };
  await core.start(NOW);
  for (let round = 0; round < 10 && core.state === "handshaking"; round++) {
    const out = core.pollTransmit();
    wire.sent.push(...out);
    for (const datagram of out) {
      for (const answer of await server.handle(datagram)) {
        wire.received.push(answer);
        await core.handleDatagram(answer, NOW);
      }
    }
  }
  assert.equal(core.state, "connected");
  return { core, wire };
}

/** The epoch-0 handshake fragments in datagrams, per message_seq: (offset, length). */
function wireFragments(datagrams: readonly Uint8Array[]): Map<number, [number, number][]> {
  const out = new Map<number, [number, number][]>();
  for (const datagram of datagrams) {
    for (const record of splitDatagram(datagram)) {
      if (record.type !== ContentType.handshake || record.epoch !== 0) continue;
      for (const f of decodeDtlsHandshakeRecord(record.fragment)) {
        const list = out.get(f.messageSeq) ?? [];
        list.push([f.fragmentOffset, f.body.length]);
        out.set(f.messageSeq, list);
      }
    }
  }
  return out;
}

Deno.test("trace: DTLS messages carry message_seq, epoch and the fragments that crossed the wire", async () => {
  const trace: HandshakeTrace[] = [];
  // At an MTU of 256 the server's Certificate and our RSA ClientKeyExchange both fragment.
  const { core, wire } = await dtlsHandshake(256, trace);
  assert.deepEqual(summary(trace, "sent"), [
    "client_hello",
    "client_hello",
    "client_key_exchange",
    "ccs",
    "finished*",
  ]);
  assert.deepEqual(summary(trace, "received"), [
    "hello_verify_request",
    "server_hello",
    "certificate",
    "server_hello_done",
    "ccs",
    "finished*",
  ]);
  for (
    const [direction, datagrams] of [["sent", wire.sent], ["received", wire.received]] as const
  ) {
    const onWire = wireFragments(datagrams);
    for (const item of trace) {
      if (item.kind !== "handshake" || item.direction !== direction || item.encrypted) continue;
      const dtls = item.dtls!;
      assert.equal(dtls.epoch, 0);
      assert.equal(dtls.retransmission, false);
      assert.equal(dtls.fragmentCount, dtls.fragments.length);
      assert.deepEqual(
        dtls.fragments.map((f) => [f.offset, f.length]),
        onWire.get(dtls.messageSeq),
        `${direction} ${item.name}`,
      );
      const covered = dtls.fragments.reduce((n, f) => n + f.length, 0);
      assert.equal(covered, item.length);
    }
  }
  const fragmented = trace.filter((t) => t.kind === "handshake" && t.dtls!.fragmentCount > 1);
  assert.deepEqual(fragmented.map((t) => `${t.direction} ${t.kind === "handshake" && t.name}`), [
    "received certificate",
    "sent client_key_exchange",
  ]);
  const finished = trace.find((t) =>
    t.kind === "handshake" && t.direction === "sent" && t.encrypted
  );
  assert.ok(finished?.kind === "handshake" && finished.dtls!.epoch === 1);
  assert.match(
    describeTrace(fragmented[0]!),
    /^← certificate \(\d+ bytes, seq 2, epoch 0, \d+ fragments: 0\+\d+ /,
  );
  await core.close();
});

Deno.test("trace: DTLS resends are reported as retransmissions", async () => {
  const trace: HandshakeTrace[] = [];
  const pair = new DtlsPair(7, { toServer: { drop: 0.3 } }, {
    onHandshakeMessage: (m) => trace.push(m),
  });
  await pair.handshake();
  const resent = trace.filter((t) => t.direction === "sent" && t.dtls?.retransmission);
  assert.ok(resent.length > 0, "a lossy path makes the client resend");
  assert.equal(
    resent.length >= pair.client.stats.retransmissions,
    true,
    "each resent flight is traced",
  );
  assert.ok(trace.filter((t) => t.direction === "received").every((t) => !t.dtls?.retransmission));
});

Deno.test("trace: a peer cannot grow a traced message's fragment list without bound", async () => {
  const trace: HandshakeTrace[] = [];
  const core = new DtlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    onHandshakeMessage: (m) => trace.push(m),
  });
  await core.start(NOW);
  core.pollTransmit();
  // A HelloVerifyRequest (message_seq 0, body 3 + 20 bytes) sent one byte per record: all
  // but its last byte three times over (duplicates are accepted and held once), then the last.
  const body = Uint8Array.of(0xfe, 0xfd, 20, ...new Uint8Array(20).fill(7));
  let sequence = 0;
  const oneByte = (at: number) => {
    const fragment = Uint8Array.of(3, 0, 0, body.length, 0, 0, 0, 0, at, 0, 0, 1, body[at]!);
    const header = new Uint8Array(13);
    header.set([ContentType.handshake, 0xfe, 0xfd]);
    new DataView(header.buffer).setUint32(7, sequence++);
    header[12] = fragment.length;
    return Uint8Array.of(...header, ...fragment);
  };
  for (let round = 0; round < 3; round++) {
    for (let at = 0; at < body.length - 1; at++) await core.handleDatagram(oneByte(at), NOW);
  }
  await core.handleDatagram(oneByte(body.length - 1), NOW);
  const hvr = trace.find((t) => t.kind === "handshake" && t.name === "hello_verify_request");
  assert.ok(hvr?.kind === "handshake");
  assert.equal(hvr.dtls!.fragmentCount, 3 * (body.length - 1) + 1);
  assert.equal(hvr.dtls!.fragments.length, MAX_TRACED_FRAGMENTS);
  assert.equal(core.state, "handshaking");
  await core.close();
});
