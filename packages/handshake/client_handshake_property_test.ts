/**
 * Property test of the client handshake against a bent server: a real OpenSSL session
 * (testdata/openssl_sessions.json: RSA key transport, ECDHE_ECDSA and ECDHE_RSA) is replayed
 * with one edit in the server's plaintext handshake stream (a byte set, inserted or removed, the stream cut, or two messages swapped) and the
 * records rebuilt around it. The handshake must end in a `TlsAlertError` or `CertificateError`,
 * or, when the edit left a message waiting for bytes that never come, in the replay driver's
 * end-of-stream error; never in any other exception, and never hang.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CipherSuiteName,
  CipherSuites,
  ContentType,
  encodeTlsRecord,
  TlsAlertError,
  TlsDeframer,
  type TlsRecord,
} from "@anchortls/record";
import { CertificateError, parseCertificate, parsePem } from "@anchortls/x509";
import { driveClient, seededRandom } from "./_record_driver.ts";
import { TruncationError } from "./truncation_error.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";

const recorded = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/openssl_sessions.json", import.meta.url)),
);
const trustAnchors = parsePem(recorded.rootPem).map((der) => parseCertificate(der));

/** The server's records: the plaintext handshake ones, then everything from its CCS on. */
function split(server: Uint8Array): { handshake: Uint8Array; rest: TlsRecord[] } {
  const deframer = new TlsDeframer({ versions: [0x0301, 0x0303] });
  deframer.push(server);
  const handshake: number[] = [];
  const rest: TlsRecord[] = [];
  for (let r = deframer.next(); r; r = deframer.next()) {
    if (rest.length === 0 && r.type === ContentType.handshake) handshake.push(...r.fragment);
    else rest.push(r);
  }
  return { handshake: Uint8Array.from(handshake), rest };
}

interface Session {
  readonly suite: string;
  readonly seed: number;
  readonly now: number;
  readonly serverHandshake: Uint8Array;
  readonly rest: TlsRecord[];
  /** Offsets of the handshake messages in the server's handshake stream. */
  readonly messageStarts: number[];
}

function session(name: string): Session {
  const recording = recorded.sessions.find((r: { suite: string }) => r.suite === name);
  const { handshake: serverHandshake, rest } = split(Uint8Array.fromHex(recording.server));
  const messageStarts: number[] = [];
  for (let at = 0; at + 4 <= serverHandshake.length;) {
    messageStarts.push(at);
    at += 4 + ((serverHandshake[at + 1]! << 16) | (serverHandshake[at + 2]! << 8) |
      serverHandshake[at + 3]!);
  }
  return { ...recording, serverHandshake, rest, messageStarts };
}

function frame({ rest }: Session, handshake: Uint8Array): Uint8Array {
  const records: TlsRecord[] = [];
  for (let at = 0; at < handshake.length; at += 16_384) {
    records.push({
      type: ContentType.handshake,
      version: 0x0303,
      fragment: handshake.subarray(at, at + 16_384),
    });
  }
  const all = [...records, ...rest].map(encodeTlsRecord);
  return Uint8Array.from(all.flatMap((r) => [...r]));
}

const edit = fc.oneof(
  fc.tuple(fc.constant("set" as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant("insert" as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant("delete" as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant("cut" as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant("swap" as const), fc.nat(), fc.nat()),
);

function bend(
  { serverHandshake, messageStarts }: Session,
  [kind, where, value]: [string, number, number],
): Uint8Array {
  const bytes = [...serverHandshake];
  // Most edits land in the first messages' headers and fields, where the parsing is.
  const at = where % (where % 2 ? 200 : bytes.length);
  if (kind === "set") bytes[at] = bytes[at] === value ? value ^ 1 : value;
  if (kind === "insert") bytes.splice(at, 0, value);
  if (kind === "delete") bytes.splice(at, 1);
  if (kind === "cut") bytes.length = at;
  if (kind === "swap") {
    const messages = messageStarts.map((start, i) =>
      bytes.slice(start, messageStarts[i + 1] ?? bytes.length)
    );
    const i = where % messages.length;
    const j = value % messages.length;
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
    if (i === j) messages.splice(i, 1);
    return Uint8Array.from(messages.flat());
  }
  return Uint8Array.from(bytes);
}

for (
  const name of [
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  ]
) {
  Deno.test(`client handshake property: a bent server flight ends in a typed error (${name})`, async () => {
    const recording = session(name);
    assert.ok(
      recording.messageStarts.length >= 3,
      "the recording has ServerHello, Certificate, [ServerKeyExchange,] ServerHelloDone",
    );
    await fc.assert(
      fc.asyncProperty(edit, async (change) => {
        const server = frame(recording, bend(recording, change));
        let at = 0;
        const run = driveClient(
          {
            provider: new SoftwareCryptoProvider({ random: seededRandom(recording.seed) }),
            trustAnchors,
            serverName: "localhost",
            suites: [CipherSuites[name as CipherSuiteName]],
          },
          recording.now,
          {
            write: () => Promise.resolve(),
            read: () => {
              if (at >= server.length) return Promise.resolve(null);
              at += 1000;
              return Promise.resolve(server.slice(at - 1000, at));
            },
          },
          new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"),
        );
        try {
          await run;
          assert.fail(`the handshake succeeded after ${change}`);
        } catch (error) {
          const typed = error instanceof TlsAlertError || error instanceof CertificateError ||
            error instanceof TruncationError;
          assert.ok(typed, `${change}: ${error instanceof Error ? error.stack : error}`);
        }
      }),
      { seed: 0x5e1, numRuns: 300 },
    );
  });
}
