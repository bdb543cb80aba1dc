/**
 * Session tickets (RFC 5077, issue 19) against servers that keep no session cache, so a
 * ticket is the only way to resume: `openssl s_server -no_cache` and `gnutls-serv --nodb`,
 * over TLS and DTLS. Each resumes by its ticket, and with `sessionTickets: false` it does not.
 */

import assert from "node:assert/strict";
import {
  fixedPki,
  type PeerProcess,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import { connectTls, type HandshakeInfo, SessionCache } from "../mod.ts";
import { connectToPeer } from "./_dtls_connect.ts";

const root = await Deno.readTextFile(fixedPki.root);

type Connect = (
  peer: PeerProcess,
  o: { session: SessionCache; sessionTickets?: boolean },
) => Promise<HandshakeInfo>;

const overTls: Connect = async (peer, o) => {
  const tls = await connectTls({
    hostname: "127.0.0.1",
    port: peer.port,
    serverName: "localhost",
    caCerts: [root],
    ...o,
  });
  try {
    return await tls.handshake;
  } finally {
    await tls.close();
  }
};

const overDtls: Connect = async (peer, o) => {
  const dtls = await connectToPeer(peer, o);
  try {
    return await dtls.handshake;
  } finally {
    await dtls.close();
  }
};

async function resumesOnlyByTicket(peer: PeerProcess, connect: Connect): Promise<void> {
  const session = new SessionCache();
  const first = await connect(peer, { session });
  assert.equal(first.resumed, false);
  assert.ok(first.session?.ticket && first.session.ticket.length > 0, "a ticket was issued");
  const second = await connect(peer, { session });
  assert.equal(second.resumed, true, "resumed by the ticket");
  assert.equal(second.suite, first.suite);
  const noTickets = await connect(peer, { session, sessionTickets: false });
  assert.equal(noTickets.resumed, false, "without tickets the server cannot resume");
  session.clear();
}

Deno.test("session tickets: openssl s_server -no_cache resumes by ticket over TLS", async () => {
  await using peer = await startOpenSslServer({ pki: fixedPki, extraArgs: ["-no_cache"] });
  await resumesOnlyByTicket(peer, overTls);
});

Deno.test("session tickets: openssl s_server -no_cache resumes by ticket over DTLS", async () => {
  await using peer = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    mtu: 1400,
    extraArgs: ["-no_cache"],
  });
  await resumesOnlyByTicket(peer, overDtls);
});

Deno.test("session tickets: gnutls-serv --nodb resumes by ticket over TLS", async () => {
  await using peer = await startGnutlsServer({ pki: fixedPki, extraArgs: ["--nodb"] });
  await resumesOnlyByTicket(peer, overTls);
});

Deno.test("session tickets: gnutls-serv --nodb resumes by ticket over DTLS", async () => {
  await using peer = await startGnutlsServer({ pki: fixedPki, dtls: true, extraArgs: ["--nodb"] });
  await resumesOnlyByTicket(peer, overDtls);
});
