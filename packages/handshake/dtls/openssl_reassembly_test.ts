/**
 * Interop: the reassembler against a real DTLS 1.2 server. Starts `openssl s_server -dtls1_2`
 * on 127.0.0.1, sends it a hand-built ClientHello, answers its HelloVerifyRequest with the
 * cookie, and reassembles the server's flight (ServerHello, Certificate cut into ~100-byte
 * fragments by OpenSSL's default, ServerHelloDone).
 *
 * Needs: `openssl` on PATH, --allow-run, --allow-net (loopback), --allow-read (test PKI).
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  ContentType,
  encodeDtlsRecord,
  ProtocolVersion,
  Reader,
  splitDatagram,
  Writer,
} from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import {
  decodeDtlsHandshakeRecord,
  type DtlsHandshakeFragment,
  type DtlsHandshakeMessage,
  encodeDtlsHandshakeMessage,
} from "./handshake_header.ts";
import { DtlsReassembler } from "./reassembler.ts";

const pki = new URL("../../x509/testdata/", import.meta.url);
const HandshakeType = {
  client_hello: 1,
  server_hello: 2,
  hello_verify_request: 3,
  certificate: 11,
  server_hello_done: 14,
} as const;
const offeredSuites = [0x002f, 0x0035, 0x003c, 0x003d];

function clientHelloBody(random: Uint8Array, cookie: Uint8Array): Uint8Array {
  const w = new Writer();
  w.u16(ProtocolVersion.dtls12).bytes(random);
  w.vector8(() => {});
  w.vector8((w) => w.bytes(cookie));
  w.vector16((w) => {
    for (const suite of [...offeredSuites, 0x00ff]) w.u16(suite);
  });
  w.vector8((w) => w.u8(0));
  w.vector16((w) => {
    // signature_algorithms: rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha512.
    w.u16(13).vector16((w) => w.vector16((w) => w.u16(0x0401).u16(0x0501).u16(0x0601)));
  });
  return w.finish();
}

function clientHelloDatagram(
  random: Uint8Array,
  cookie: Uint8Array,
  messageSeq: number,
  recordSeq: number,
): Uint8Array {
  return encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber: recordSeq,
    fragment: encodeDtlsHandshakeMessage({
      msgType: HandshakeType.client_hello,
      messageSeq,
      body: clientHelloBody(random, cookie),
    }),
  });
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

interface Server {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts s_server and waits until it prints ACCEPT (it is listening). */
async function startOpenSsl(): Promise<Server> {
  const port = await freeUdpPort();
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-dtls1_2",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      new URL("leaf.pem", pki).pathname,
      "-key",
      new URL("leaf.key", pki).pathname,
      "-cert_chain",
      new URL("intermediate.pem", pki).pathname,
    ],
    // s_server closes its connections at end of stdin, so stdin stays open until we kill it.
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  let ready!: () => void;
  const accepted = new Promise<void>((resolve) => (ready = resolve));
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (output.includes("ACCEPT")) ready();
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited: nothing to kill.
    }
    await child.stdin.abort().catch(() => {});
    await child.status;
    await drained;
  };
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    const started = await Promise.race([
      accepted.then(() => true),
      child.status.then(() => false),
      new Promise<boolean>((resolve) => (guard = setTimeout(() => resolve(false), 10_000))),
    ]);
    if (!started) throw new Error(`openssl s_server did not start:\n${output}`);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(guard);
  }
  return { port, output: () => output, stop };
}

/** A UDP client socket with a queue of received datagrams and a bounded wait. */
async function openClient(port: number) {
  const socket = dgram.createSocket("udp4");
  const inbox: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  socket.on("message", (m: Uint8Array) => {
    inbox.push(new Uint8Array(m));
    wake?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => socket.connect(port, "127.0.0.1", resolve));
  return {
    send: (d: Uint8Array) => new Promise<void>((resolve) => socket.send(d, () => resolve())),
    /** Next datagram, or undefined after `ms` without one. */
    receive: async (ms: number): Promise<Uint8Array | undefined> => {
      if (inbox.length === 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, ms);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      return inbox.shift();
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function handshakeFragments(datagram: Uint8Array): DtlsHandshakeFragment[] {
  const out: DtlsHandshakeFragment[] = [];
  for (const record of splitDatagram(datagram)) {
    assert.equal(record.epoch, 0);
    if (record.type === ContentType.handshake) {
      out.push(...decodeDtlsHandshakeRecord(record.fragment));
    }
  }
  return out;
}

function parseHelloVerifyRequest(body: Uint8Array): { version: number; cookie: Uint8Array } {
  const r = new Reader(body);
  const version = r.u16();
  const cookie = r.vector8(0, 255);
  r.expectEnd("HelloVerifyRequest");
  return { version, cookie };
}

function parseServerHello(body: Uint8Array): { version: number; suite: number } {
  const r = new Reader(body);
  const version = r.u16();
  r.bytes(32);
  r.vector8(0, 32);
  const suite = r.u16();
  assert.equal(r.u8(), 0, "null compression");
  if (r.remaining > 0) r.vector16();
  r.expectEnd("ServerHello");
  return { version, suite };
}

function parseCertificateList(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body);
  const list = r.sub(r.u24());
  r.expectEnd("Certificate");
  const ders: Uint8Array[] = [];
  while (list.remaining > 0) ders.push(list.vector24(1));
  return ders;
}

Deno.test({
  name: "reassembles openssl s_server's fragmented DTLS flight after a cookie exchange",
  sanitizeResources: true,
  sanitizeOps: true,
  async fn() {
    const server = await startOpenSsl();
    const client = await openClient(server.port);
    try {
      const random = crypto.getRandomValues(new Uint8Array(32));
      const reassembler = new DtlsReassembler();

      // Flight 1: ClientHello without a cookie; flight 2: HelloVerifyRequest.
      const firstHello = clientHelloDatagram(random, new Uint8Array(0), 0, 0);
      let hvr: DtlsHandshakeMessage | undefined;
      for (let attempt = 0; attempt < 5 && hvr === undefined; attempt++) {
        await client.send(firstHello);
        for (let d = await client.receive(1_000); d; d = await client.receive(200)) {
          for (const f of handshakeFragments(d)) reassembler.push(f);
          hvr = reassembler.next();
          if (hvr) break;
        }
      }
      assert.ok(hvr, `no HelloVerifyRequest; server said:\n${server.output()}`);
      assert.equal(hvr.msgType, HandshakeType.hello_verify_request);
      assert.equal(hvr.messageSeq, 0);
      const { version, cookie } = parseHelloVerifyRequest(hvr.body);
      assert.ok(version === ProtocolVersion.dtls10 || version === ProtocolVersion.dtls12);
      assert.equal(cookie.length, 20);

      // Flight 3: ClientHello with the cookie; flight 4: ServerHello, Certificate, ServerHelloDone.
      const secondHello = clientHelloDatagram(random, cookie, 1, 1);
      const fragments: DtlsHandshakeFragment[] = [];
      const messages: DtlsHandshakeMessage[] = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        await client.send(secondHello);
        for (let d = await client.receive(1_000); d; d = await client.receive(500)) {
          for (const f of handshakeFragments(d)) {
            fragments.push({ ...f, body: f.body.slice() });
            reassembler.push(f);
          }
          for (let m = reassembler.next(); m; m = reassembler.next()) messages.push(m);
          if (messages.at(-1)?.msgType === HandshakeType.server_hello_done) break;
        }
        if (messages.at(-1)?.msgType === HandshakeType.server_hello_done) break;
      }
      assert.deepEqual(
        messages.map((m) => [m.msgType, m.messageSeq]),
        [[2, 1], [11, 2], [14, 3]],
        `server said:\n${server.output()}`,
      );
      const [serverHello, certificate, serverHelloDone] = messages as [
        DtlsHandshakeMessage,
        DtlsHandshakeMessage,
        DtlsHandshakeMessage,
      ];

      const hello = parseServerHello(serverHello.body);
      assert.equal(hello.version, ProtocolVersion.dtls12);
      assert.ok(offeredSuites.includes(hello.suite));
      assert.equal(serverHelloDone.body.length, 0);

      // The Certificate really came in pieces, and they cover it exactly.
      const certFragments = fragments.filter((f) => f.messageSeq === 2);
      assert.ok(certFragments.length > 5, `only ${certFragments.length} fragments`);
      assert.ok(certFragments.every((f) => f.length === certificate.body.length));

      // The chain is the leaf and intermediate s_server was given, byte for byte.
      const ders = parseCertificateList(certificate.body);
      const expected = [
        ...parsePem(await Deno.readTextFile(new URL("leaf.pem", pki))),
        ...parsePem(await Deno.readTextFile(new URL("intermediate.pem", pki))),
      ];
      assert.deepEqual(ders, expected);
      assert.equal(parseCertificate(ders[0]!).subject.toString(), "CN=localhost,O=anchortls test");

      // The same real fragments, fed in reverse and twice, give the same messages.
      const again = new DtlsReassembler({ nextMessageSeq: 1 });
      const flight4 = fragments.filter((f) => f.messageSeq >= 1);
      for (const f of [...flight4].reverse().concat(flight4)) {
        assert.notEqual(again.push(f).kind, "dropped");
      }
      const replayed = [again.next(), again.next(), again.next()];
      assert.deepEqual(replayed, messages);
    } finally {
      await client.close();
      await server.stop();
    }
  },
});
