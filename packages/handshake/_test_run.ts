/**
 * Drives a {@linkcode ClientHandshake} against the in-memory {@linkcode ServerHandshake} of
 * `@anchortls/testing`, message by message, for the handshake package's tests. Not published.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCertificateChain, parsePem } from "@anchortls/x509";
import { feedRecord, readFixedPki, type ServerHandshake, splitMessages } from "@anchortls/testing";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  type HandshakeAction,
  type HandshakeInfo,
} from "./client_handshake.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";

/** The fixed test PKI's root. */
export const trustAnchors = parseCertificateChain(parsePem(await readFixedPki("root.pem")));
const HS = 22;
const CCS = 20;

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

/** What a completed run returns. */
export interface RunResult {
  info: HandshakeInfo;
  actions: HandshakeAction[];
  handshake: ClientHandshake;
}

/** Drives a client against the test server until the client completes. */
export async function run(
  server: ServerHandshake,
  config: Partial<ClientHandshakeConfig> = {},
): Promise<RunResult> {
  const handshake = new ClientHandshake({
    provider: config.provider ?? new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    ...config,
  });
  const now = Date.now();
  const all: HandshakeAction[] = [];
  const [hello] = await handshake.start(now);
  assert.equal(hello?.kind, "send");
  const { messages, resumed } = await server.hello(
    splitMessages((hello as { data: Uint8Array }).data)[0]!,
  );
  const feed = async (type: 20 | 22, data: Uint8Array) => {
    const actions = await feedRecord(handshake, { type, data, now });
    all.push(...actions);
    return actions;
  };
  const sentHandshake = (actions: HandshakeAction[]) =>
    splitMessages(
      concat(actions.flatMap((a) => a.kind === "send" && a.contentType === HS ? [a.data] : [])),
    );

  if (resumed) {
    // ServerHello and any NewSessionTicket, then ChangeCipherSpec and Finished.
    await feed(HS, concat(messages.slice(0, -1)));
    await feed(CCS, Uint8Array.of(1));
    const last = await feed(HS, messages[messages.length - 1]!);
    await server.clientFlight(sentHandshake(last));
  } else {
    const flight = await feed(HS, concat(messages));
    const finished = await server.clientFlight(sentHandshake(flight));
    if (server.ticketMessage) await feed(HS, server.ticketMessage);
    await feed(CCS, Uint8Array.of(1));
    await feed(HS, finished);
  }
  const done = all.find((a) => a.kind === "complete");
  assert.ok(done && done.kind === "complete", "handshake did not complete");
  await checkProtectors(server, all);
  return { info: done.info, actions: all, handshake };
}

/** The installed protectors must talk to the server's own keys in both directions. */
async function checkProtectors(server: ServerHandshake, actions: HandshakeAction[]): Promise<void> {
  const write = actions.find((a) => a.kind === "install_write");
  const read = actions.find((a) => a.kind === "install_read");
  assert.ok(write?.kind === "install_write" && read?.kind === "install_read");
  const peer = server.protectors();
  const ctx = { type: 23, version: 0x0303, sequence: 0n };
  const msg = new TextEncoder().encode("ping");
  assert.deepEqual(await peer.client.open(ctx, await write.protector.seal(ctx, msg)), msg);
  assert.deepEqual(await read.protector.open(ctx, await peer.server.seal(ctx, msg)), msg);
}
