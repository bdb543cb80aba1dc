/**
 * `ClientHandshake.abort()`: every way a handshake ends short of completion leaves no secret
 * handle alive in the provider, also when the abort lands while the handshake awaits it; after
 * completion only the session's master secret stays.
 */

import assert from "node:assert/strict";
import { type CipherSuite, CipherSuites } from "@anchortls/record";
import { parseCertificateChain, parsePem } from "@anchortls/x509";
import { feedRecord, readFixedPki, ServerHandshake, splitMessages } from "@anchortls/testing";
import { CountingProvider, type Gate } from "@anchortls/testing";
import { ClientHandshake, type HandshakeAction } from "./client_handshake.ts";

const trustAnchors = parseCertificateChain(parsePem(await readFixedPki("root.pem")));
const HS = 22;
const CCS = 20;

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

function sentHandshake(actions: HandshakeAction[]): Uint8Array {
  return concat(actions.flatMap((a) => a.kind === "send" && a.contentType === HS ? [a.data] : []));
}

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

/** A handshake that has sent its ClientHello, and the server's first flight for it. */
async function started(
  provider: CountingProvider,
  server = new ServerHandshake(),
  suites?: readonly CipherSuite[],
) {
  const handshake = new ClientHandshake({
    provider,
    trustAnchors,
    serverName: "localhost",
    ...(suites ? { suites } : {}),
  });
  const [hello] = await handshake.start(Date.now());
  assert.ok(hello?.kind === "send");
  const { messages } = await server.hello(splitMessages(hello.data)[0]!);
  return { handshake, server, firstFlight: concat(messages) };
}

Deno.test("ClientHandshake.abort: after the client flight releases the master secret, twice is harmless", async () => {
  const provider = new CountingProvider();
  const { handshake, firstFlight } = await started(provider);
  await feedRecord(handshake, { type: HS, data: firstFlight, now: Date.now() });
  assert.equal(provider.live.size, 1, "the master secret, the premaster already released");
  await handshake.abort();
  assert.equal(provider.live.size, 0);
  await handshake.abort();
  assert.equal(provider.live.size, 0);
  await assert.rejects(
    () => feedRecord(handshake, { type: CCS, data: Uint8Array.of(1), now: Date.now() }),
    isAbort,
  );
  assert.equal(handshake.isComplete, false);
});

Deno.test("ClientHandshake.abort: before anything was issued does nothing, and a start-less one too", async () => {
  const provider = new CountingProvider();
  const { handshake } = await started(provider);
  await handshake.abort();
  assert.equal(provider.live.size, 0);
  await new ClientHandshake({ provider, trustAnchors }).abort();
});

// The premaster comes from encryptPremaster (RSA key transport) or keyAgreement (ECDHE).
const keyExchanges = [
  { suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, premaster: "encryptPremaster" },
  { suite: CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, premaster: "keyAgreement" },
] as const;
for (const { suite, premaster } of keyExchanges) {
  const calls: Gate["call"][] = [premaster, "masterSecret", "recordKeys", "client finished"];
  for (const call of calls) {
    Deno.test(`ClientHandshake.abort under ${suite.name}: while awaiting ${call} releases what that call issued`, async () => {
      const provider = new CountingProvider();
      const { handshake, firstFlight } = await started(provider, undefined, [suite]);
      const gate = provider.hold(call);
      const handling = feedRecord(handshake, { type: HS, data: firstFlight, now: Date.now() });
      await gate.reached.promise;
      assert.ok(provider.live.size > 0, "a secret exists while the call is held");
      await handshake.abort();
      gate.open.resolve();
      await assert.rejects(() => handling, isAbort);
      assert.equal(provider.live.size, 0);
    });
  }
}

/** Runs a full handshake up to the server Finished, which `finish` then feeds. */
async function upToServerFinished(provider: CountingProvider) {
  const { handshake, server, firstFlight } = await started(provider);
  const flight = await feedRecord(handshake, { type: HS, data: firstFlight, now: Date.now() });
  const finished = await server.clientFlight(splitMessages(sentHandshake(flight)));
  await feedRecord(handshake, { type: CCS, data: Uint8Array.of(1), now: Date.now() });
  const finish = () => feedRecord(handshake, { type: HS, data: finished, now: Date.now() });
  return { handshake, finish };
}

Deno.test("ClientHandshake.abort: while the server's verify_data is computed (right after ours) releases the master", async () => {
  const provider = new CountingProvider();
  const { handshake, firstFlight } = await started(provider);
  const gate = provider.hold("server finished");
  const handling = feedRecord(handshake, { type: HS, data: firstFlight, now: Date.now() });
  await gate.reached.promise;
  await handshake.abort();
  gate.open.resolve();
  await assert.rejects(() => handling, isAbort);
  assert.equal(provider.live.size, 0);
  assert.equal(handshake.isComplete, false);
});

Deno.test("ClientHandshake.abort: after completion leaves the session's master secret alone", async () => {
  const provider = new CountingProvider();
  const { handshake, finish } = await upToServerFinished(provider);
  const actions = await finish();
  const done = actions.find((a) => a.kind === "complete");
  assert.ok(done?.kind === "complete" && done.info.session, "an EMS session to keep");
  await handshake.abort();
  assert.equal(handshake.isComplete, true);
  assert.deepEqual([...provider.live], [done.info.session.master]);
  await provider.release(done.info.session.master);
  assert.equal(provider.live.size, 0);
});

Deno.test("ClientHandshake: a failed handshake leaves no handle alive (bad server Finished)", async () => {
  const provider = new CountingProvider();
  const { handshake, server, firstFlight } = await started(
    provider,
    new ServerHandshake({ badFinished: true }),
  );
  const flight = await feedRecord(handshake, { type: HS, data: firstFlight, now: Date.now() });
  const finished = await server.clientFlight(splitMessages(sentHandshake(flight)));
  await feedRecord(handshake, { type: CCS, data: Uint8Array.of(1), now: Date.now() });
  await assert.rejects(() => feedRecord(handshake, { type: HS, data: finished, now: Date.now() }));
  assert.equal(provider.live.size, 0);
});
