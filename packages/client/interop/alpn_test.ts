/**
 * ALPN (RFC 7301) against real servers: openssl s_server and gnutls-serv pick from our list
 * over TLS and DTLS, and a server that speaks none of our protocols says so with the
 * no_application_protocol alert, which reaches the caller as the peer's alert.
 */

import assert from "node:assert/strict";
import {
  fixedPki,
  fixedPkiTarget,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import { AlertDescription, connectDtls, connectTls, TlsAlertError } from "../mod.ts";

Deno.test("ALPN: openssl s_server picks http/1.1 from our list; without an offer there is none", async () => {
  await using server = await startOpenSslServer({
    pki: fixedPki,
    extraArgs: ["-alpn", "h2,http/1.1"],
  });
  const tls = await connectTls({
    ...await fixedPkiTarget(server.port),
    alpnProtocols: ["mqtt", "http/1.1"],
  });
  assert.equal((await tls.handshake).alpnProtocol, "http/1.1");
  await tls.close();
  const plain = await connectTls(await fixedPkiTarget(server.port));
  assert.equal((await plain.handshake).alpnProtocol, undefined);
  await plain.close();
});

Deno.test("ALPN: gnutls-serv with --alpn-fatal refuses a list it does not share with no_application_protocol", async () => {
  await using server = await startGnutlsServer({
    pki: fixedPki,
    extraArgs: ["--alpn=mqtt", "--alpn-fatal"],
  });
  const ok = await connectTls({
    ...await fixedPkiTarget(server.port),
    alpnProtocols: ["h2", "mqtt"],
  });
  assert.equal((await ok.handshake).alpnProtocol, "mqtt");
  await ok.close();
  const refused = await connectTls({ ...await fixedPkiTarget(server.port), alpnProtocols: ["h2"] });
  await assert.rejects(
    refused.handshake,
    (e) =>
      e instanceof TlsAlertError && e.fromPeer &&
      e.description === AlertDescription.no_application_protocol,
  );
  await refused.close();
});

Deno.test("ALPN over DTLS: openssl s_server -dtls1_2 picks coap", async () => {
  await using server = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    extraArgs: ["-alpn", "coap"],
  });
  const dtls = await connectDtls({ ...await fixedPkiTarget(server.port), alpnProtocols: ["coap"] });
  assert.equal((await dtls.handshake).alpnProtocol, "coap");
  await dtls.close();
});
