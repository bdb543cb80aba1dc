/**
 * The DTLS Connection ID (RFC 9146) with every record key in the chip (`full`): the chip's GCM
 * and AES-CBC-HMAC engines take the CID form of the AEAD and MAC input as the host builds it.
 * Against mbedTLS's `ssl_server2 cid=1` (built by `tools/build_mbedtls_server.sh`; skipped
 * where it has not been built): the server answers our request only when every CID record of
 * ours verified, and we read its CID records.
 */

import assert from "node:assert/strict";
import { connectDtls } from "@anchortls/client";
import { fixedPki, mbedtlsServerPath, startMbedtlsServer } from "@anchortls/testing";
import { CipherSuites } from "@anchortls/record";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import { PIN, provisionedChip } from "../_test_support.ts";

const built = await mbedtlsServerPath() !== undefined;

for (
  const suite of [
    CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
  ]
) {
  Deno.test({
    name: `DTLS CID in full: ${suite.name} with the record keys in the chip, against ssl_server2`,
    ignore: !built,
    async fn() {
      await using server = await startMbedtlsServer({
        pki: fixedPki,
        dtls: true,
        extraArgs: ["cid=1", "cid_val=c0ffee"],
      });
      const chip = await provisionedChip();
      const provider = await MultosCryptoProvider.open(
        { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
        { policy: "full", pin: PIN },
      );
      try {
        const dtls = await connectDtls({
          hostname: "127.0.0.1",
          port: server.port,
          serverName: "localhost",
          caCerts: [await Deno.readTextFile(fixedPki.root)],
          provider,
          suites: [suite],
          connectionId: Uint8Array.of(7, 7),
          retransmit: { initialTimeoutMs: 300, handshakeTimeoutMs: 15_000 },
        });
        const info = await dtls.handshake;
        assert.equal(info.suite, suite);
        assert.equal(info.connectionId?.peer.toHex(), "c0ffee");
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
        assert.match(page, /Successful connection using: TLS-/);
        await dtls.close();
        await server.waitFor(/Peer CID \(length 2 Bytes\): 07 07/);
      } finally {
        await provider.close();
      }
    },
  });
}
