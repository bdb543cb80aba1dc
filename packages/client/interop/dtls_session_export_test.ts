/**
 * A DTLS session exported and imported into a new provider (a restart) resumes against
 * `openssl s_server -dtls1_2 -no_cache` by its ticket (issue 19), as a TLS one does.
 */

import assert from "node:assert/strict";
import { fixedPki, startOpenSslServer } from "@anchortls/testing";
import { exportSession, importSession, SoftwareCryptoProvider } from "@anchortls/handshake";
import { connectToPeer } from "./_dtls_connect.ts";

Deno.test("DTLS: an exported session resumes after a restart with a new provider", async () => {
  await using peer = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    mtu: 1400,
    extraArgs: ["-no_cache"],
  });
  const first = await connectToPeer(peer, { provider: new SoftwareCryptoProvider() });
  const info = await first.handshake;
  await first.close();
  assert.ok(info.session?.ticket);
  const saved = await exportSession(info.session);
  const provider = new SoftwareCryptoProvider();
  const session = await importSession(saved, { provider });
  const again = await connectToPeer(peer, { provider, session });
  assert.equal((await again.handshake).resumed, true);
  await again.close();
});
