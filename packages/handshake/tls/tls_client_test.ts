import assert from "node:assert/strict";
import {
  AlertDescription,
  ContentType,
  encodeTlsRecord,
  type TlsAlertError,
} from "@anchortls/record";
import { parseCertificateChain, parsePem } from "@anchortls/x509";
import { readFixedPki, tlsRecords as records, TlsTestServer } from "@anchortls/testing";
import type { HandshakeInfo } from "../handshake_types.ts";
import { HandshakeTimeoutError } from "../handshake_timeout.ts";
import { isSessionResumable } from "../session_cache.ts";
import { SoftwareCryptoProvider } from "../software_provider.ts";
import { TruncationError } from "../truncation_error.ts";
import { MAX_CONSECUTIVE_EMPTY_RECORDS, TlsClientCore, type TlsClientEvent } from "./tls_client.ts";

const trustAnchors = parseCertificateChain(parsePem(await readFixedPki("root.pem")));
const NOW = Date.parse("2027-06-01T00:00:00Z");

function client(handshakeTimeoutMs?: number): TlsClientCore {
  return new TlsClientCore({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs }),
  });
}

function events(core: TlsClientCore): TlsClientEvent[] {
  const out: TlsClientEvent[] = [];
  for (let e = core.pollEvent(); e; e = core.pollEvent()) out.push(e);
  return out;
}

function plain(type: number, fragment: Uint8Array, version = 0x0303): Uint8Array {
  return encodeTlsRecord({ type, version, fragment });
}

/** A connected core, its server and what the handshake settled. */
async function connected(): Promise<
  { core: TlsClientCore; server: TlsTestServer; info: HandshakeInfo }
> {
  const core = client();
  const server = new TlsTestServer();
  await core.start(NOW);
  await core.handleBytes(await server.hello(core.pollTransmit()), NOW);
  await core.handleBytes(await server.finish(core.pollTransmit()), NOW);
  const [event] = events(core);
  assert.ok(event?.kind === "connected");
  assert.equal(core.state, "connected");
  return { core, server, info: event.info };
}

async function sentAlert(core: TlsClientCore, server?: TlsTestServer): Promise<number[]> {
  const sent = records(core.pollTransmit());
  assert.equal(sent.length, 1, "one alert record");
  assert.equal(sent[0]!.type, ContentType.alert);
  return [...(server ? await server.open(sent[0]!) : sent[0]!.fragment)];
}

function failedWith(core: TlsClientCore): unknown {
  const failed = events(core).find((e) => e.kind === "failed");
  assert.ok(failed?.kind === "failed", "a failed event");
  return failed.error;
}

Deno.test("TlsClientCore: a handshake, data both ways and close_notify, in memory", async () => {
  const { core, server } = await connected();
  assert.equal(core.pollTimeout(), undefined, "no deadline once connected");
  await core.send(new TextEncoder().encode("ping"));
  const [request] = records(core.pollTransmit());
  assert.equal(new TextDecoder().decode(await server.open(request!)), "ping");
  await core.handleBytes(await server.seal(ContentType.application_data, Uint8Array.of(7, 8)), NOW);
  await core.handleBytes(await server.seal(ContentType.alert, Uint8Array.of(1, 0)), NOW);
  const got = events(core);
  assert.deepEqual(got.map((e) => e.kind), ["data", "closed"]);
  assert.deepEqual(got[0]!.kind === "data" && [...got[0]!.data], [7, 8]);
  // RFC 5246 §7.2.1: our close_notify answers the server's.
  assert.deepEqual(await sentAlert(core, server), [1, 0]);
  await assert.rejects(core.send(Uint8Array.of(1)), TypeError);
  await core.release();
});

Deno.test("TlsClientCore: the handshake deadline comes from the time fed in, with no alert", async () => {
  const core = client(5000);
  await core.start(NOW);
  core.pollTransmit();
  assert.equal(core.pollTimeout(), NOW + 5000);
  await core.handleTimeout(NOW + 4999);
  assert.equal(core.state, "handshaking");
  await core.handleTimeout(NOW + 5000);
  const error = failedWith(core);
  assert.ok(error instanceof HandshakeTimeoutError && error.elapsedMs === 5000);
  // The error says where it stalled: the first answer never came.
  assert.equal(error.waitingFor, "ServerHello");
  assert.match(
    error.message,
    /waiting for the server's ServerHello .*is a \(D\)TLS server listening/,
  );
  assert.deepEqual(core.pollTransmit(), [], "a local timeout sends no alert");
  assert.equal(core.pollTimeout(), undefined);
  await core.release();
});

Deno.test("TlsClientCore: the stream ending inside a record or the handshake is a truncation, without an alert", async () => {
  for (const cut of [0, 3]) {
    const core = client();
    const server = new TlsTestServer();
    await core.start(NOW);
    const flight = await server.hello(core.pollTransmit());
    await core.handleBytes(flight.subarray(0, cut), NOW);
    await core.handleEnd();
    const error = failedWith(core);
    assert.ok(error instanceof TruncationError);
    assert.match(error.message, cut ? /inside a record/ : /during the handshake/);
    assert.deepEqual(core.pollTransmit(), []);
    await core.release();
  }
  const { core } = await connected();
  await core.handleEnd();
  assert.ok(failedWith(core) instanceof TruncationError);
  assert.deepEqual(core.pollTransmit(), []);
});

Deno.test("TlsClientCore: after the ServerHello every record must say 0x0303 (protocol_version)", async () => {
  const { core, server } = await connected();
  await core.handleBytes(
    await server.seal(ContentType.application_data, Uint8Array.of(1), 0x0301),
    NOW,
  );
  const error = failedWith(core) as TlsAlertError;
  assert.equal(error.description, AlertDescription.protocol_version);
  assert.deepEqual(await sentAlert(core, server), [2, AlertDescription.protocol_version]);
});

Deno.test("TlsClientCore: empty application data records are limited, a non-empty one resets the count", async () => {
  const { core, server } = await connected();
  const empty = () => server.seal(ContentType.application_data, new Uint8Array(0));
  for (let i = 0; i < MAX_CONSECUTIVE_EMPTY_RECORDS; i++) {
    await core.handleBytes(await empty(), NOW);
  }
  await core.handleBytes(await server.seal(ContentType.application_data, Uint8Array.of(1)), NOW);
  for (let i = 0; i < MAX_CONSECUTIVE_EMPTY_RECORDS; i++) {
    await core.handleBytes(await empty(), NOW);
  }
  assert.equal(core.state, "connected");
  await core.handleBytes(await empty(), NOW);
  assert.equal(
    (failedWith(core) as TlsAlertError).description,
    AlertDescription.unexpected_message,
  );
  assert.deepEqual(await sentAlert(core, server), [2, AlertDescription.unexpected_message]);
});

Deno.test("TlsClientCore: a cancelled handshake says user_canceled as a warning and sends nothing more", async () => {
  const core = client();
  const server = new TlsTestServer();
  await core.start(NOW);
  const flight = await server.hello(core.pollTransmit());
  await core.close();
  assert.equal((failedWith(core) as DOMException).name, "AbortError");
  assert.deepEqual(await sentAlert(core), [1, AlertDescription.user_canceled]);
  // The server's flight arriving afterwards changes nothing and sends nothing.
  await core.handleBytes(flight, NOW);
  assert.deepEqual(core.pollTransmit(), []);
  assert.deepEqual(events(core), []);
  await core.release();
});

Deno.test("TlsClientCore: application data before the handshake finished is unexpected_message", async () => {
  const core = client();
  await core.start(NOW);
  core.pollTransmit();
  await core.handleBytes(plain(ContentType.application_data, Uint8Array.of(1)), NOW);
  assert.equal(
    (failedWith(core) as TlsAlertError).description,
    AlertDescription.unexpected_message,
  );
  assert.deepEqual(await sentAlert(core), [2, AlertDescription.unexpected_message]);
  await core.release();
});

Deno.test("TlsClientCore: released record keys open and seal nothing", async () => {
  const { core, server } = await connected();
  await core.release();
  await assert.rejects(core.send(Uint8Array.of(1)));
  await core.handleBytes(await server.seal(ContentType.application_data, Uint8Array.of(1)), NOW);
  assert.deepEqual(events(core), []);
});

Deno.test("TlsClientCore: a ChangeCipherSpec after the handshake is unexpected_message", async () => {
  const { core, server } = await connected();
  await core.handleBytes(await server.seal(ContentType.change_cipher_spec, Uint8Array.of(1)), NOW);
  assert.equal(
    (failedWith(core) as TlsAlertError).description,
    AlertDescription.unexpected_message,
  );
  assert.deepEqual(await sentAlert(core, server), [2, AlertDescription.unexpected_message]);
});

Deno.test("TlsClientCore: a ChangeCipherSpec inside a fragmented handshake message is unexpected_message", async () => {
  const core = client();
  const server = new TlsTestServer();
  await core.start(NOW);
  await core.handleBytes(await server.hello(core.pollTransmit()), NOW);
  const answer = await server.finish(core.pollTransmit());
  // The first two bytes of a handshake header, then the server's ChangeCipherSpec: the keys
  // would change in the middle of a message.
  await core.handleBytes(plain(ContentType.handshake, Uint8Array.of(0, 0)), NOW);
  await core.handleBytes(answer, NOW);
  const error = failedWith(core) as TlsAlertError;
  assert.equal(error.description, AlertDescription.unexpected_message);
  assert.match(error.message, /inside a fragmented handshake message/);
  assert.equal(core.state, "failed");
  await core.release();
});

Deno.test("TlsClientCore: part of a handshake message after the server Finished is unexpected_message, not a connection", async () => {
  const core = client();
  const server = new TlsTestServer();
  await core.start(NOW);
  await core.handleBytes(await server.hello(core.pollTransmit()), NOW);
  await core.handleBytes(await server.finish(core.pollTransmit(), Uint8Array.of(0, 0)), NOW);
  const got = events(core);
  assert.ok(!got.some((e) => e.kind === "connected"), "never connected");
  const failed = got.find((e) => e.kind === "failed");
  assert.ok(failed?.kind === "failed");
  assert.equal((failed.error as TlsAlertError).description, AlertDescription.unexpected_message);
  assert.match((failed.error as Error).message, /after the server Finished/);
  assert.deepEqual(await sentAlert(core, server), [2, AlertDescription.unexpected_message]);
  await core.release();
});

Deno.test("TlsClientCore: handshake messages split over records, and several in one, are cut out alike", async () => {
  const core = client();
  const server = new TlsTestServer();
  await core.start(NOW);
  const flight = records([await server.hello(core.pollTransmit())])[0]!.fragment;
  // One byte per record, the way a hostile or tiny-MTU peer may send them.
  for (const byte of flight) {
    await core.handleBytes(plain(ContentType.handshake, Uint8Array.of(byte)), NOW);
  }
  await core.handleBytes(await server.finish(core.pollTransmit()), NOW);
  assert.deepEqual(events(core).map((e) => e.kind), ["connected"]);
  await core.release();
});

Deno.test("TlsClientCore: a fatal close_notify is a fatal alert — the connection fails and its session is not resumed", async () => {
  const warning = await connected();
  await warning.core.handleBytes(
    await warning.server.seal(ContentType.alert, Uint8Array.of(1, AlertDescription.close_notify)),
    NOW,
  );
  assert.deepEqual(events(warning.core).map((e) => e.kind), ["closed"]);
  assert.ok(warning.info.session && isSessionResumable(warning.info.session));
  await warning.core.release();

  const fatal = await connected();
  await fatal.core.handleBytes(
    await fatal.server.seal(ContentType.alert, Uint8Array.of(2, AlertDescription.close_notify)),
    NOW,
  );
  const error = failedWith(fatal.core) as TlsAlertError;
  assert.equal(error.description, AlertDescription.close_notify);
  assert.equal(error.level, 2);
  assert.ok(error.fromPeer);
  assert.ok(fatal.info.session, "the handshake made a session");
  assert.equal(isSessionResumable(fatal.info.session), false);
  await fatal.core.release();
});
