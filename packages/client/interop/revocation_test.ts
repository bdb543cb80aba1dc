/**
 * `crls` through `connectTls` and `connectDtls` against `openssl s_server` (issue 18): a CRL of
 * the server's issuer listing its certificate ends the handshake with certificate_revoked,
 * which the server logs; an empty one lets it through; and a session made before the CRL is
 * not resumed under it.
 */

import assert from "node:assert/strict";
import { fixedPki, fixedPkiFile, startOpenSslServer } from "@anchortls/testing";
import { alertForError } from "@anchortls/handshake";
import { CertificateError, connectTls, type ConnectTlsOptions, SessionCache } from "../mod.ts";
import { intermediateCrl } from "./_faults.ts";
import { connectToPeer } from "./_dtls_connect.ts";

const intermediate = { cert: fixedPki.intermediate, key: fixedPkiFile("intermediate.key") };

async function crls(): Promise<{ revoking: string; empty: string }> {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-crl-" });
  try {
    return {
      revoking: await intermediateCrl(dir, intermediate, [fixedPki.leaf]),
      empty: await intermediateCrl(dir, intermediate, []),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const isRevoked = (e: unknown) =>
  e instanceof CertificateError && e.reason === "revoked" && e.index === 0 &&
  alertForError(e) === 44;

Deno.test("revocation: connectTls with a CRL listing the server's certificate fails with certificate_revoked; a session made before is not resumed", async () => {
  const { revoking, empty } = await crls();
  await using server = await startOpenSslServer({ pki: fixedPki });
  const root = await Deno.readTextFile(fixedPki.root);
  const sessions = new SessionCache();
  const options = (crl: string): ConnectTlsOptions => ({
    hostname: "127.0.0.1",
    port: server.port,
    serverName: "localhost",
    caCerts: [root],
    crls: [crl],
    session: sessions,
  });
  const ok = await connectTls(options(empty));
  const info = await ok.handshake;
  assert.equal(info.resumed, false);
  await ok.close();
  const again = await connectTls(options(empty));
  assert.equal((await again.handshake).resumed, true, "control: the same CRL resumes");
  await again.close();

  const tls = await connectTls(options(revoking));
  await assert.rejects(tls.handshake, isRevoked);
  await tls.close();
  await server.waitFor(/certificate revoked/);
});

Deno.test("revocation: connectDtls with a CRL listing the server's certificate fails with certificate_revoked", async () => {
  const { revoking, empty } = await crls();
  await using server = await startOpenSslServer({ pki: fixedPki, dtls: true, mtu: 1400 });
  const ok = await connectToPeer(server, { crls: [empty] });
  await ok.handshake;
  await ok.close();
  const dtls = await connectToPeer(server, { crls: [revoking] });
  await assert.rejects(dtls.handshake, isRevoked);
  await dtls.close();
  await server.waitFor(/certificate revoked/);
});
