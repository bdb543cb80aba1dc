/**
 * DTLS 1.2 Connection ID (RFC 9146, issue 19) against mbedTLS's `ssl_server2 cid=1`, built from
 * Debian's mbedTLS 3.6.6 source by `tools/build_mbedtls_server.sh` (`.ci/run` builds it; the
 * test says so and is skipped where it has not been built). Each suite family binds the CID
 * into its AEAD additional data or MAC its own way (§5): AEAD, CBC with Encrypt-then-MAC and
 * CBC with MAC-then-encrypt; the server answers our request only when every record of ours
 * with a CID verified, and logs the CID it was given.
 */

import assert from "node:assert/strict";
import {
  fixedPki,
  mbedtlsServerPath,
  type PeerProcess,
  startMbedtlsServer,
} from "@anchortls/testing";
import {
  type CipherSuite,
  CipherSuites,
  type ConnectDtlsOptions,
  type HandshakeInfo,
} from "../mod.ts";
import { connectToPeer } from "./_dtls_connect.ts";

const built = await mbedtlsServerPath() !== undefined;
const SERVER_CID = "beefcafe";

async function exchange(
  peer: PeerProcess,
  options: Partial<ConnectDtlsOptions>,
): Promise<{ info: HandshakeInfo; page: string }> {
  const dtls = await connectToPeer(peer, options);
  try {
    const info = await dtls.handshake;
    const writer = dtls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    const reader = dtls.readable.getReader();
    let page = "";
    while (!page.includes("</p>")) {
      const { value, done } = await reader.read();
      if (done) break;
      page += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    return { info, page };
  } finally {
    await dtls.close();
  }
}

const suites: [string, CipherSuite, string[]][] = [
  ["AEAD (GCM)", CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, []],
  ["AEAD (ChaCha20-Poly1305)", CipherSuites.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, []],
  ["CBC, Encrypt-then-MAC", CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, []],
  ["CBC, MAC-then-encrypt", CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, ["etm=0"]],
];

for (const [name, suite, extra] of suites) {
  Deno.test({
    name: `DTLS CID: ssl_server2 cid=1, ${name}: CIDs both ways, the request answered`,
    ignore: !built,
    async fn() {
      await using peer = await startMbedtlsServer({
        pki: fixedPki,
        dtls: true,
        extraArgs: ["cid=1", `cid_val=${SERVER_CID}`, ...extra],
      });
      const ours = Uint8Array.fromHex("0102030405");
      const { info, page } = await exchange(peer, { connectionId: ours, suites: [suite] });
      assert.equal(info.suite, suite);
      assert.deepEqual(info.connectionId, { ours, peer: Uint8Array.fromHex(SERVER_CID) });
      assert.match(page, /Successful connection using: TLS-/);
      await peer.waitFor(/Peer CID \(length 5 Bytes\): 01 02 03 04 05/);
    },
  });
}

Deno.test({
  name: "DTLS CID: an empty CID of ours (the server's used one way only), and none without asking",
  ignore: !built,
  async fn() {
    await using peer = await startMbedtlsServer({
      pki: fixedPki,
      dtls: true,
      extraArgs: ["cid=1", `cid_val=${SERVER_CID}`],
    });
    const oneWay = await exchange(peer, { connectionId: new Uint8Array(0) });
    assert.deepEqual(oneWay.info.connectionId?.ours, new Uint8Array(0));
    assert.deepEqual(oneWay.info.connectionId?.peer, Uint8Array.fromHex(SERVER_CID));
    assert.match(oneWay.page, /Successful connection/);
    const none = await exchange(peer, {});
    assert.equal(none.info.connectionId, undefined, "not asked for: not negotiated");
    assert.match(none.page, /Successful connection/);
  },
});

if (!built) {
  Deno.test("DTLS CID: ssl_server2 is not built here (tools/build_mbedtls_server.sh)", () => {});
}
