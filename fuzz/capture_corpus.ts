/**
 * Writes the seed corpus from real traffic: a `MultosCryptoProvider` runs TLS key schedules
 * (policy `full` and `hybrid`) against the Trust Core emulator behind `CommandModeDevice`,
 * over an in-memory link whose taps record every byte in both directions; `connectTls` and
 * `connectDtls` talk to `openssl s_server` through tapping proxies (`capture_network.ts`);
 * certificates come from the x509 test PKI and the captured Certificate messages. Each
 * corpus folder written is emptied and refilled; the chip's random source is seeded, so the
 * MULTOS output only changes when the code does (TLS traffic carries fresh randoms).
 *
 * Run: `deno run -A fuzz/capture_corpus.ts [corpus folder...]` (default: all of them)
 *
 * @module
 */

import {
  CipherSuites,
  ContentType,
  type DtlsRecord,
  splitDatagram,
  TlsDeframer,
  type TlsRecord,
} from "@anchortls/record";
import {
  decodeCertificate,
  decodeServerHello,
  encodeTlsHandshake,
  ExtensionType,
  HandshakeType,
  TlsHandshakeDeframer,
} from "@anchortls/handshake";
import {
  decodeDtlsHandshakeRecord,
  DtlsReassembler,
  encodeDtlsHandshakeFragment,
} from "@anchortls/handshake/dtls";
import {
  ApduChannel,
  type ApduForm,
  decodeCommand,
  encodeCommand,
  MultosCryptoProvider,
  TrustCore,
  TrustCoreEmulator,
} from "@anchortls/multos-apdu";
import {
  CommandModeDevice,
  CommandModeTransport,
  createMemoryLinkPair,
  encodeTlv,
} from "@anchortls/transport-serial";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { SeededRandom } from "./random.ts";
import { exchangeOptionsByte } from "./targets/apdu_exchange.ts";
import { protectorOptionsByte, sealedInput } from "./targets/protector_open.ts";
import { captureDtls, captureTls, type Conversation } from "./capture_network.ts";

const testdata = new URL("../packages/x509/testdata/", import.meta.url);
const corpusRoot = new URL("corpus/", import.meta.url);
const PIN = "4711";

/** Everything that crossed the link, in order. */
interface Capture {
  /** Chunks the host wrote (one message each). */
  readonly toChip: Uint8Array[];
  /** What the chip sent back after each host message, joined. */
  readonly toHost: Uint8Array[];
  /** Every APDU the transport carried, with its response. */
  readonly apdus: { apdu: Uint8Array; response: Uint8Array }[];
  /** Host-to-chip bytes of each session, from SELECT on. */
  readonly sessions: Uint8Array[];
}

function join(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function capture(): Promise<Capture> {
  const random = new SeededRandom(0xc0ffee);
  const chip = await TrustCoreEmulator.fromPem({
    keyPem: await Deno.readTextFile(new URL("client.key", testdata)),
    certificatePem: await Deno.readTextFile(new URL("client.pem", testdata)),
    pin: PIN,
    random: (n) => random.bytes(n),
  });
  const result: Capture = { toChip: [], toHost: [], apdus: [], sessions: [] };
  let session: Uint8Array[] = [];
  let answer: Uint8Array[] = [];
  const [hostEnd, chipEnd] = createMemoryLinkPair({
    aToB: (chunk) => {
      if (answer.length) result.toHost.push(join(answer));
      answer = [];
      result.toChip.push(chunk.slice());
      session.push(chunk.slice());
      return chunk;
    },
    bToA: (chunk) => {
      answer.push(chunk.slice());
      return chunk;
    },
  });
  const device = new CommandModeDevice(chipEnd, chip.handle);
  const transport = await CommandModeTransport.open(hostEnd);
  const recording = {
    transmit: async (apdu: Uint8Array): Promise<Uint8Array> => {
      const response = await transport.transmit(apdu);
      result.apdus.push({ apdu: apdu.slice(), response: response.slice() });
      return response;
    },
  };
  const endSession = (): void => {
    result.sessions.push(join(session));
    session = [];
  };
  try {
    const leaf = parsePem(await Deno.readTextFile(new URL("leaf.pem", testdata)))[0]!;
    const serverKey = parseCertificate(leaf).publicKey;
    for (const policy of ["full", "hybrid"] as const) {
      const provider = await MultosCryptoProvider.open(recording, {
        policy,
        pin: PIN,
      });
      const clientRandom = await provider.random(32);
      const serverRandom = random.bytes(32);
      const { premaster } = await provider.encryptPremaster(serverKey);
      const master = await provider.masterSecret(premaster, {
        extendedMasterSecret: true,
        sessionHash: random.bytes(32),
      });
      const keys = await provider.recordKeys(
        master,
        CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
        { clientRandom, serverRandom },
        { encryptThenMac: true },
      );
      await provider.finished(master, "client finished", random.bytes(32));
      await provider.sign(0x0804, random.bytes(300));
      for (const size of [5, 300, 16384]) {
        await keys.client.seal(
          { type: 23, version: 0x0303, sequence: BigInt(size) },
          random.bytes(size),
        );
      }
      // A forged record: the chip checks its MAC and refuses it.
      await Promise.resolve()
        .then(() => keys.server.open({ type: 23, version: 0x0303, sequence: 0n }, random.bytes(80)))
        .catch(() => undefined);
      await provider.close();
      endSession();
    }
    // Answers a real host stack rarely sees: a wrong Le (6CXX), refusals, files.
    const trustCore = new TrustCore(recording);
    await trustCore.select();
    await new ApduChannel(recording).transmit({ cla: 0x80, ins: 0x88, p1: 0, p2: 0, le: 1 });
    await trustCore.verifyPin("0000").catch(() => undefined);
    await trustCore.verifyPin(PIN);
    await trustCore.createFile(0x5310, 600);
    await trustCore.writeFile(0x5310, random.bytes(600));
    await trustCore.readFile(0x5310);
    await trustCore.deleteFile(0x5310);
    await trustCore.readKeyAttributes(0x6100).catch(() => undefined);
    await trustCore.readModulus(0x6100);
    await trustCore.sha(random.bytes(5000));
    await trustCore.getRandom(16);
    endSession();
    await transport.setCommsParameters({ ackMode: true, baudRate: 115200 });
    await transport.reset();
    await transport.setCommsParameters({ ackMode: false, baudRate: 9600 });
    await transport.transmit(Uint8Array.fromHex("808800000002"));
  } finally {
    await transport.close();
    await device.close();
  }
  if (answer.length) result.toHost.push(join(answer));
  return result;
}

/** Groups APDUs into logical exchanges: chain parts, a 6CXX resend and GET RESPONSE rounds. */
function exchanges(apdus: Capture["apdus"]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < apdus.length;) {
    const first = apdus[i]!;
    const group = [first];
    while (i + group.length < apdus.length) {
      const last = group[group.length - 1]!;
      const sw1 = last.response[last.response.length - 2]!;
      const chained = (last.apdu[0]! & 0x10) !== 0 && sw1 === 0x90;
      if (!chained && sw1 !== 0x61 && sw1 !== 0x6c) break;
      group.push(apdus[i + group.length]!);
    }
    i += group.length;
    const parts = group.filter((g) => g.apdu[0]! & 0x10);
    const lastPart = group[parts.length]!;
    const finalCommand = decodeCommand(lastPart.apdu, "multos");
    const data = join(
      [...parts, lastPart].map((g) => decodeCommand(g.apdu, "multos").data ?? new Uint8Array(0)),
    );
    const command = encodeCommand({ ...finalCommand, ...(data.length ? { data } : {}) }, "multos");
    const chunk = parts.length ? decodeCommand(parts[0]!.apdu, "multos").data!.length : undefined;
    let options: number;
    try {
      options = exchangeOptionsByte("multos", chunk);
    } catch {
      continue;
    }
    if (options < 0) continue;
    out.push(
      Uint8Array.of(
        options,
        ...encodeTlv(0x80, command),
        ...group.flatMap((g) => [...encodeTlv(0x80, g.response)]),
      ),
    );
  }
  return out;
}

/** Other ISO encodings of the same real commands, where they fit. */
function reencoded(apdu: Uint8Array): Uint8Array[] {
  const command = decodeCommand(apdu, "multos");
  const out = [apdu];
  for (const form of ["short", "extended"] as ApduForm[]) {
    try {
      out.push(encodeCommand(command, form));
    } catch {
      // Does not fit the form: the real command has no such encoding.
    }
  }
  return out;
}

/** Each Command APDU message alone after the session opening (SELECT, VERIFY PIN). */
function singleCommands(traffic: Capture): Uint8Array[] {
  const commands = traffic.toChip.filter((m) => m[0] === 0x80);
  const opening = join(commands.slice(0, 2));
  return commands.slice(2).map((m) => join([opening, m]));
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))
    .toHex();
}

/** Replaces a corpus folder with up to `limit` distinct inputs, spread over their sizes. */
async function write(name: string, inputs: Uint8Array[], limit = 48): Promise<number> {
  const dir = new URL(`${name}/`, corpusRoot);
  await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  await Deno.mkdir(dir, { recursive: true });
  const distinct = new Map<string, Uint8Array>();
  for (const input of inputs) distinct.set(await sha256Hex(input), input);
  const sorted = [...distinct.values()].sort((a, b) => a.length - b.length);
  const step = Math.max(1, sorted.length / limit);
  const kept = new Set<Uint8Array>();
  for (let i = 0; i < sorted.length && kept.size < limit; i += step) {
    kept.add(sorted[Math.floor(i)]!);
  }
  for (const input of kept) {
    await Deno.writeFile(new URL(`${(await sha256Hex(input)).slice(0, 16)}.bin`, dir), input);
  }
  return kept.size;
}

/** A record with the direction's protection state: plaintext until its ChangeCipherSpec. */
interface SeenRecord {
  readonly record: TlsRecord;
  readonly bytes: Uint8Array;
  readonly encrypted: boolean;
}

/** The records of one direction's TCP stream, each with its exact bytes. */
function tlsRecords(chunks: readonly Uint8Array[]): SeenRecord[] {
  const stream = join(chunks);
  const deframer = new TlsDeframer();
  deframer.push(stream);
  const out: SeenRecord[] = [];
  let encrypted = false;
  let at = 0;
  for (let record = deframer.next(); record; record = deframer.next()) {
    const length = 5 + record.fragment.length;
    out.push({ record, bytes: stream.slice(at, at + length), encrypted });
    at += length;
    if (record.type === ContentType.change_cipher_spec) encrypted = true;
  }
  return out;
}

/** Plaintext handshake messages (TLS framing) of one direction. */
function handshakeMessages(records: readonly SeenRecord[]): Uint8Array[] {
  const deframer = new TlsHandshakeDeframer();
  const out: Uint8Array[] = [];
  for (const { record, encrypted } of records) {
    if (encrypted || record.type !== ContentType.handshake) continue;
    deframer.push(record.fragment);
    for (let m = deframer.next(); m; m = deframer.next()) out.push(m.transcriptBytes);
  }
  return out;
}

/** What the ServerHello chose, for the protector options byte. */
function negotiated(messages: readonly Uint8Array[]): { suite: number; etm: boolean } | undefined {
  const hello = messages.find((m) => m[0] === HandshakeType.server_hello);
  if (!hello) return undefined;
  const decoded = decodeServerHello(hello.subarray(4));
  return {
    suite: decoded.cipherSuite,
    etm: decoded.extensions.some((e) => e.type === ExtensionType.encrypt_then_mac),
  };
}

/** Runs of `n` consecutive items joined, for inputs that hold several records or messages. */
function runsOf(items: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + n <= items.length; i++) out.push(join(items.slice(i, i + n)));
  return out;
}

interface NetworkCorpus {
  readonly recordTls: Uint8Array[];
  readonly recordDtls: Uint8Array[];
  readonly protectorOpen: Uint8Array[];
  readonly handshakeMessage: Uint8Array[];
  readonly dtlsFragment: Uint8Array[];
  readonly certificates: Uint8Array[];
}

function fromTls(conversations: readonly Conversation[], into: NetworkCorpus): void {
  const random = new SeededRandom(0x71);
  for (const conversation of conversations) {
    const toClient = tlsRecords(conversation.toClient);
    const toServer = tlsRecords(conversation.toServer);
    const serverMessages = handshakeMessages(toClient);
    const clientMessages = handshakeMessages(toServer);
    const choice = negotiated(serverMessages);
    for (const records of [toClient, toServer]) {
      const bytes = records.map((r) => r.bytes);
      into.recordTls.push(...bytes, ...runsOf(bytes, 2), ...runsOf(bytes, 4));
      if (!choice) continue;
      for (const { record, encrypted } of records) {
        const options = protectorOptionsByte(choice.suite, choice.etm, record.type);
        if (!encrypted || options < 0) continue;
        // Keys unknown to the target: these exercise the refusal paths on real layouts.
        into.protectorOpen.push(Uint8Array.of(options, ...record.fragment));
      }
    }
    const messages = [...serverMessages, ...clientMessages];
    into.handshakeMessage.push(...messages, join(serverMessages), join(clientMessages));
    for (const m of messages) {
      if (m[0] === HandshakeType.certificate) {
        into.certificates.push(...decodeCertificate(m.subarray(4)));
      }
    }
    if (choice) {
      // The same suite and mode sealed with the target's keys, so mutations reach the MAC and
      // padding checks past a valid record: real handshake messages and request bytes.
      for (
        const plaintext of [
          ...messages.slice(0, 3),
          new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"),
        ]
      ) {
        for (const type of [ContentType.handshake, ContentType.application_data]) {
          const options = protectorOptionsByte(choice.suite, choice.etm, type);
          if (options >= 0) {
            into.protectorOpen.push(sealedInput(options, plaintext, random.bytes(16)));
          }
        }
      }
    }
  }
}

function fromDtls(conversations: readonly Conversation[], into: NetworkCorpus): void {
  for (const conversation of conversations) {
    for (const datagrams of [conversation.toClient, conversation.toServer]) {
      into.recordDtls.push(...datagrams);
      const records: DtlsRecord[] = datagrams.flatMap((d) => splitDatagram(d));
      const plaintext = records.filter((r) => r.epoch === 0 && r.type === ContentType.handshake);
      const fragments = plaintext.flatMap((r) => decodeDtlsHandshakeRecord(r.fragment));
      into.dtlsFragment.push(...plaintext.map((r) => r.fragment.slice()));
      // A whole direction's fragments in one input: the reassembler puts its flights together.
      const distinct = new Map(fragments.map((f) => {
        const bytes = encodeDtlsHandshakeFragment(f);
        return [bytes.toHex(), bytes];
      }));
      into.dtlsFragment.push(join([...distinct.values()]));
      const reassembler = new DtlsReassembler();
      for (const fragment of fragments) {
        reassembler.push(fragment);
        for (let m = reassembler.next(); m; m = reassembler.next()) {
          into.handshakeMessage.push(encodeTlsHandshake(m.msgType, m.body));
        }
      }
    }
  }
}

/** The test PKI's private keys (PKCS#8 and EC DER): more real DER shapes for the reader. */
async function testdataKeys(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const entry of Deno.readDir(testdata)) {
    if (!entry.name.endsWith(".key")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, testdata));
    for (const m of text.matchAll(/-----BEGIN [A-Z ]+-----([^-]+)-----END/g)) {
      out.push(Uint8Array.fromBase64(m[1]!.replace(/\s+/g, "")));
    }
  }
  return out;
}

async function testdataCertificates(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const entry of Deno.readDir(testdata)) {
    if (!entry.name.endsWith(".pem")) continue;
    out.push(...parsePem(await Deno.readTextFile(new URL(entry.name, testdata))));
  }
  return out;
}

const only = new Set(Deno.args);
const wanted = (name: string): boolean => only.size === 0 || only.has(name);
const counts: Record<string, number> = {};
const traffic = await capture();
const commandExchangeOptions = 0b0010; // expect a response, ACK mode on, cap 3072
const multos: Record<string, () => Uint8Array[]> = {
  tlv: () => [...traffic.toChip, ...traffic.toHost],
  command_exchange: () =>
    traffic.toHost.map((bytes) => Uint8Array.of(commandExchangeOptions, ...bytes)),
  command_apdu: () => traffic.apdus.flatMap((a) => reencoded(a.apdu)),
  response_apdu: () => traffic.apdus.map((a) => a.response),
  apdu_exchange: () => exchanges(traffic.apdus),
  emulator: () => [...traffic.sessions, ...singleCommands(traffic)],
};
for (const [name, inputs] of Object.entries(multos)) {
  if (wanted(name)) counts[name] = await write(name, inputs(), name === "command_apdu" ? 64 : 48);
}
const networkFolders = [
  "record_tls",
  "record_dtls",
  "protector_open",
  "handshake_message",
  "dtls_fragment",
  "certificate",
  "der",
];
if (networkFolders.some(wanted)) {
  const network: NetworkCorpus = {
    recordTls: [],
    recordDtls: [],
    protectorOpen: [],
    handshakeMessage: [],
    dtlsFragment: [],
    certificates: await testdataCertificates(),
  };
  fromTls(await captureTls(), network);
  fromDtls(await captureDtls(), network);
  const fits = (limit: number) => (input: Uint8Array): boolean => input.length <= limit;
  const folders: Record<string, Uint8Array[]> = {
    record_tls: network.recordTls.filter(fits(8192)),
    record_dtls: network.recordDtls,
    protector_open: network.protectorOpen,
    handshake_message: network.handshakeMessage.filter(fits(8192)),
    dtls_fragment: network.dtlsFragment.filter(fits(8192)),
    certificate: network.certificates,
    der: [...network.certificates, ...await testdataKeys()],
  };
  for (const [name, inputs] of Object.entries(folders)) {
    if (wanted(name)) counts[name] = await write(name, inputs, 64);
  }
}
Deno.stdout.writeSync(
  new TextEncoder().encode(
    `${traffic.apdus.length} APDUs captured; corpus files: ${JSON.stringify(counts)}\n`,
  ),
);
