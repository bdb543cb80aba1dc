import assert from "node:assert/strict";
import {
  AlertDescription,
  type CipherSuiteName,
  CipherSuites,
  TlsAlertError,
} from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { driveClient, seededRandom } from "./_record_driver.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { TruncationError } from "./truncation_error.ts";

// Real sessions with `openssl s_server`, one per suite, recorded by
// testdata/record_openssl_session.ts. The client's bytes depend on how the seeded random source
// is consumed (hello random, premaster or ECDHE key, RSA padding, record IVs); re-record when
// that changes on purpose.
interface Recording {
  readonly suite: string;
  readonly seed: number;
  readonly now: number;
  readonly encryptThenMac: boolean;
  readonly extendedMasterSecret: boolean;
  readonly client: string;
  readonly server: string;
  readonly response: string;
  readonly description: string;
}
const recorded: { rootPem: string; sessions: Recording[] } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/openssl_sessions.json", import.meta.url)),
);
const trustAnchors = parsePem(recorded.rootPem).map((der) => parseCertificate(der));
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
function replay(recording: Recording, server: Uint8Array, chunk: number) {
  const sent: number[] = [];
  const answer = answerStart(server);
  let at = 0;
  const run = driveClient(
    {
      provider: new SoftwareCryptoProvider({ random: seededRandom(recording.seed) }),
      trustAnchors,
      serverName: "localhost",
      suites: [CipherSuites[recording.suite as CipherSuiteName]],
      // The recordings were made with an offer without session tickets.
      sessionTickets: false,
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

for (const recording of recorded.sessions) {
  for (const chunk of [1, 7, 1000, 1 << 20]) {
    Deno.test(`replay: ${recording.suite} with OpenSSL, server bytes in ${chunk}-byte pieces`, async () => {
      const { run, sent } = replay(recording, Uint8Array.fromHex(recording.server), chunk);
      const { info, response } = await run;
      assert.equal(info.suite.name, recording.suite);
      assert.equal(info.encryptThenMac, recording.encryptThenMac);
      assert.equal(info.extendedMasterSecret, recording.extendedMasterSecret);
      assert.equal(new TextDecoder().decode(response), recording.response);
      assert.match(
        recording.response,
        new RegExp(`Cipher is ${recording.description.split(" ").at(-1)}\\b`),
      );
      // Same seed, same bytes: ClientHello, ClientKeyExchange, Finished, request, close_notify.
      assert.equal(new Uint8Array(sent).toHex(), recording.client);
    });
  }
}

for (const recording of recorded.sessions) {
  Deno.test(`replay: ${recording.suite}, a flipped bit in the server's encrypted Finished is bad_record_mac`, async () => {
    const serverBytes = Uint8Array.fromHex(recording.server);
    // The server's ChangeCipherSpec record (14 03 03 00 01 01) is followed by its Finished.
    const ccs = serverBytes.toHex().indexOf("140303000101") / 2;
    assert.ok(ccs > 0);
    const bent = serverBytes.slice();
    bent[ccs + 6 + 5 + 20]! ^= 0x80;
    await assert.rejects(
      replay(recording, bent, 1000).run,
      (e) => e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac,
    );
  });
}

Deno.test("replay: the recording cut short ends in an error, not a hang", async () => {
  for (const recording of recorded.sessions) {
    const serverBytes = Uint8Array.fromHex(recording.server);
    await assert.rejects(
      replay(recording, serverBytes.subarray(0, serverBytes.length >> 1), 1000).run,
      TruncationError,
      recording.suite,
    );
  }
});
