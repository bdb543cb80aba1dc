/**
 * Session tickets (RFC 5077) against the in-memory server: issued in a full handshake,
 * resumed by (with a fresh session ID), renewed, withdrawn, expired, and the server's
 * misbehaviour each with its alert.
 */

import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { ServerHandshake, type ServerHandshakeOptions } from "@anchortls/testing";
import { ClientHandshake } from "./client_handshake.ts";
import { ExtensionType } from "./messages/extensions.ts";
import { HandshakeType } from "./messages/handshake_type.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { run, trustAnchors } from "./_test_run.ts";

const isAlert = (code: number) => (e: unknown) =>
  e instanceof TlsAlertError && e.description === code && !e.fromPeer;

const tickets: ServerHandshakeOptions = { sessionTickets: { lifetimeHint: 600 } };

function offeredTicket(server: ServerHandshake): Uint8Array | undefined {
  return server.clientHello.extensions.find((e) => e.type === ExtensionType.session_ticket)
    ?.data;
}

Deno.test("session tickets: a full handshake keeps the ticket, and the ticket resumes with a fresh session ID", async () => {
  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake(tickets);
  const before = Date.now();
  const first = await run(server, { provider });
  assert.deepEqual(offeredTicket(server), new Uint8Array(0), "offered, empty");
  const session = first.info.session!;
  assert.ok(session.ticket && session.ticket.length === 48);
  assert.equal(session.id.length, 0, "OpenSSL-style: no session ID beside the ticket");
  assert.ok(session.ticketExpiresAt! >= before + 600_000);

  const second = await run(server, { provider, session });
  assert.equal(second.info.resumed, true);
  assert.deepEqual(offeredTicket(server), session.ticket);
  assert.equal(server.clientHello.sessionId.length, 32, "RFC 5077 §3.4 session ID");
  assert.equal(second.info.session, session, "not renewed: the same session");
});

Deno.test("session tickets: a renewed ticket replaces the old one over the same master secret", async () => {
  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake({ sessionTickets: { renew: true } });
  const session = (await run(server, { provider })).info.session!;
  const resumed = await run(server, { provider, session });
  assert.equal(resumed.info.resumed, true);
  const renewed = resumed.info.session!;
  assert.notDeepEqual(renewed.ticket, session.ticket);
  assert.equal(renewed.master, session.master);
  assert.equal(resumed.handshake.activeSession, renewed);
  const again = await run(server, { provider, session: renewed });
  assert.equal(again.info.resumed, true, "the renewed ticket resumes");
});

Deno.test("session tickets: an empty ticket leaves no session; sessionTickets: false offers none", async () => {
  const empty = await run(new ServerHandshake({ sessionTickets: { empty: true } }));
  assert.equal(empty.info.session, undefined);

  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake(tickets);
  const session = (await run(server, { provider })).info.session!;
  const off = await run(server, { provider, session, sessionTickets: false });
  assert.equal(offeredTicket(server), undefined, "no extension");
  assert.equal(off.info.resumed, false, "a ticket-only session is not offered by ID");
});

Deno.test("session tickets: a ticket past its lifetime hint is not offered", async () => {
  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake({ sessionTickets: { lifetimeHint: 1 } });
  const session = (await run(server, { provider })).info.session!;
  const handshake = new ClientHandshake({
    provider,
    trustAnchors,
    serverName: "localhost",
    session,
  });
  const [hello] = await handshake.start(session.ticketExpiresAt! + 1);
  assert.ok(hello?.kind === "send");
  // The session ticket extension (35) is there, empty: the stale ticket stays home.
  assert.ok(hello.data.toHex().includes("00230000"), "session_ticket offered empty");
});

Deno.test("session tickets: the server's misbehaviour ends with the right alert", async () => {
  const echo = (data: Uint8Array): ServerHandshakeOptions => ({
    serverHello: (h) => ({
      ...h,
      extensions: [...h.extensions, { type: ExtensionType.session_ticket, data }],
    }),
  });
  // session_ticket echoed though not offered.
  await assert.rejects(
    () => run(new ServerHandshake(echo(new Uint8Array(0))), { sessionTickets: false }),
    isAlert(AlertDescription.unsupported_extension),
  );
  // A non-empty session_ticket in the ServerHello.
  await assert.rejects(
    () => run(new ServerHandshake(echo(Uint8Array.of(1)))),
    isAlert(AlertDescription.decode_error),
  );
  // Promised by the ServerHello, but ChangeCipherSpec comes instead of NewSessionTicket.
  await assert.rejects(
    () => run(new ServerHandshake(echo(new Uint8Array(0)))),
    isAlert(AlertDescription.unexpected_message),
  );

  // A malformed NewSessionTicket.
  class BadTicketServer extends ServerHandshake {
    override newSessionTicket(): Uint8Array | undefined {
      this.ticketMessage = this.message(
        HandshakeType.new_session_ticket,
        Uint8Array.of(0, 0, 0, 1, 0, 5, 1),
      );
      return this.ticketMessage;
    }
  }
  await assert.rejects(
    () => run(new BadTicketServer(tickets)),
    isAlert(AlertDescription.decode_error),
  );
  // A NewSessionTicket without the ServerHello's promise is out of place.
  class UnpromisedTicketServer extends ServerHandshake {
    override newSessionTicket(): Uint8Array | undefined {
      this.issueTicket = true;
      return super.newSessionTicket();
    }
  }
  await assert.rejects(
    () => run(new UnpromisedTicketServer({}), { sessionTickets: false }),
    isAlert(AlertDescription.unexpected_message),
  );
});
