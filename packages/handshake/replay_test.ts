import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { driveClient, seededRandom } from "./_record_driver.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { TruncationError } from "./truncation_error.ts";

// A real session with `openssl s_server`, recorded by testdata/record_openssl_session.ts. The
// client's bytes depend on how the seeded random source is consumed (hello random, premaster,
// RSA padding, record IVs); re-record when that changes on purpose.
const recording = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/openssl_session.json", import.meta.url)),
);
const serverBytes = Uint8Array.fromHex(recording.server);
const clientBytes = Uint8Array.fromHex(recording.client);
const request = new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n");

/** Where the server's first application data record starts: its answer to our request. */
function answerStart(server: Uint8Array): number {
  let at = 0;
  while (at + 5 <= server.length && server[at] !== 23) {
    at += 5 + (server[at + 3]! << 8 | server[at + 4]!);
  }
  return at;
}

/**
 * Replays the server's bytes in pieces of `chunk`, as they came: the answer to our request is
 * not delivered in the same piece as the handshake, since the server sent it only after the
 * request arrived (had it come first, with its close_notify, the request would rightly be
 * discarded, RFC 5246 §7.2.1).
 */
function replay(server: Uint8Array, chunk: number) {
  const sent: number[] = [];
  const answer = answerStart(server);
  let at = 0;
  const run = driveClient(
    {
      provider: new SoftwareCryptoProvider({ random: seededRandom(recording.seed) }),
      trustAnchors: parsePem(recording.rootPem).map((der) => parseCertificate(der)),
      serverName: "localhost",
    },
    recording.now,
    {
      write(bytes) {
        sent.push(...bytes);
        return Promise.resolve();
      },
      read() {
        if (at >= server.length) return Promise.resolve(null);
        const end = Math.min(at + chunk, at < answer ? answer : server.length);
        const piece = server.slice(at, end);
        at = end;
        return Promise.resolve(piece);
      },
    },
    request,
  );
  return { run, sent };
}

for (const chunk of [1, 7, 1000, 1 << 20]) {
  Deno.test(`replay: a recorded OpenSSL session, server bytes in ${chunk}-byte pieces`, async () => {
    const { run, sent } = replay(serverBytes, chunk);
    const { info, response } = await run;
    assert.equal(info.suite.id, recording.suite);
    assert.equal(info.encryptThenMac, recording.encryptThenMac);
    assert.equal(info.extendedMasterSecret, recording.extendedMasterSecret);
    assert.equal(new TextDecoder().decode(response), recording.response);
    assert.match(recording.response, /Cipher is AES128-SHA256/);
    // Same seed, same bytes: ClientHello, ClientKeyExchange, Finished, request, close_notify.
    assert.equal(new Uint8Array(sent).toHex(), clientBytes.toHex());
  });
}

Deno.test("replay: a flipped bit in the server's encrypted Finished is bad_record_mac", async () => {
  // The server's ChangeCipherSpec record (14 03 03 00 01 01) is followed by its Finished.
  const ccs = serverBytes.toHex().indexOf("140303000101") / 2;
  assert.ok(ccs > 0);
  const bent = serverBytes.slice();
  bent[ccs + 6 + 5 + 20]! ^= 0x80;
  await assert.rejects(
    replay(bent, 1000).run,
    (e) => e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac,
  );
});

Deno.test("replay: the recording cut short ends in an error, not a hang", async () => {
  await assert.rejects(replay(serverBytes.subarray(0, 2000), 1000).run, TruncationError);
});
