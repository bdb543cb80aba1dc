/**
 * Interop: the reassembler against real DTLS 1.2 servers. Starts `openssl s_server -dtls1_2`
 * (127.0.0.1) or `gnutls-serv -u` (all addresses; we talk to 127.0.0.1 only), sends a
 * hand-built ClientHello, answers a HelloVerifyRequest with its cookie, and reassembles the
 * server's flight: ServerHello, Certificate (OpenSSL cuts it into small fragments by default),
 * ServerHelloDone.
 *
 * The servers come from `@anchortls/testing` with the fixed test PKI. Needs `openssl` and
 * `gnutls-serv` on PATH.
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
import {
  fixedPki,
  type PeerProcess,
  readFixedPki,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";

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

function startOpenSsl(): Promise<PeerProcess> {
  return startOpenSslServer({ pki: fixedPki, dtls: true });
}

function startGnutls(cookies: boolean): Promise<PeerProcess> {
  // "request": its flight carries a CertificateRequest, one more message to reassemble.
  return startGnutlsServer({
    pki: fixedPki,
    dtls: true,
    clientCertificate: "request",
    extraArgs: cookies ? [] : ["--nocookie"],
  });
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

interface Expectation {
  /** Cookie length of the HelloVerifyRequest, or undefined when the server sends none. */
  cookieLength: number | undefined;
  /** Message types of the server's flight after the hello exchange, in order. */
  flight: number[];
  /** Fewest fragments the Certificate must have come in. */
  minCertificateFragments: number;
  /** PEM files whose certificates the Certificate message must carry, in order. */
  chain: string[];
}

/**
 * Sends the hand-built ClientHello (again with the cookie if asked for one), then reassembles
 * the server's flight up to ServerHelloDone and checks every message in it.
 */
async function helloExchange(server: PeerProcess, expect: Expectation): Promise<void> {
  const client = await openClient(server.port);
  try {
    const random = crypto.getRandomValues(new Uint8Array(32));
    const reassembler = new DtlsReassembler();
    const fragments: DtlsHandshakeFragment[] = [];
    const messages: DtlsHandshakeMessage[] = [];
    const flightDone = () =>
      messages.some((m) =>
        m.msgType === HandshakeType.hello_verify_request ||
        m.msgType === HandshakeType.server_hello_done
      );

    /** Sends a flight until the peer's answer is complete (the loopback may still drop). */
    const exchange = async (datagram: Uint8Array) => {
      for (let attempt = 0; attempt < 5 && !flightDone(); attempt++) {
        await client.send(datagram);
        for (let d = await client.receive(1_000); d; d = await client.receive(500)) {
          for (const f of handshakeFragments(d)) {
            fragments.push({ ...f, body: f.body.slice() });
            reassembler.push(f);
          }
          for (let m = reassembler.next(); m; m = reassembler.next()) messages.push(m);
          if (flightDone()) break;
        }
      }
      assert.ok(flightDone(), `no answer to our flight; server said:\n${server.output()}`);
    };

    // Flight 1: ClientHello without a cookie.
    await exchange(clientHelloDatagram(random, new Uint8Array(0), 0, 0));
    let firstServerSeq = 0;
    if (expect.cookieLength !== undefined) {
      // Flight 2 was a HelloVerifyRequest; flight 3 is the ClientHello with its cookie.
      const hvr = messages.shift();
      assert.ok(hvr);
      assert.deepEqual([hvr.msgType, hvr.messageSeq], [HandshakeType.hello_verify_request, 0]);
      const { version, cookie } = parseHelloVerifyRequest(hvr.body);
      assert.ok(version === ProtocolVersion.dtls10 || version === ProtocolVersion.dtls12);
      assert.equal(cookie.length, expect.cookieLength);
      await exchange(clientHelloDatagram(random, cookie, 1, 1));
      firstServerSeq = 1;
    }

    // Flight 4: ServerHello, Certificate, [CertificateRequest,] ServerHelloDone, numbered on
    // from the HelloVerifyRequest.
    const s = firstServerSeq;
    assert.deepEqual(
      messages.map((m) => [m.msgType, m.messageSeq]),
      expect.flight.map((type, i) => [type, s + i]),
      `server said:\n${server.output()}`,
    );
    const serverHello = messages[0]!;
    const certificate = messages[1]!;
    const serverHelloDone = messages.at(-1)!;
    const hello = parseServerHello(serverHello.body);
    assert.equal(hello.version, ProtocolVersion.dtls12);
    assert.ok(offeredSuites.includes(hello.suite));
    assert.equal(serverHelloDone.body.length, 0);

    // The Certificate came in pieces that all agree on its length.
    const certFragments = fragments.filter((f) => f.messageSeq === s + 1);
    assert.ok(
      certFragments.length >= expect.minCertificateFragments,
      `only ${certFragments.length} fragments`,
    );
    assert.ok(certFragments.every((f) => f.length === certificate.body.length));

    // The chain is the one the server was given, byte for byte, and it parses.
    const ders = parseCertificateList(certificate.body);
    const expected: Uint8Array[] = [];
    for (const file of expect.chain) {
      expected.push(...parsePem(await readFixedPki(file)));
    }
    assert.deepEqual(ders, expected);
    assert.equal(parseCertificate(ders[0]!).subject.toString(), "CN=localhost,O=anchortls test");

    // The same real fragments, fed in reverse and then again, give the same messages.
    const again = new DtlsReassembler({ nextMessageSeq: s });
    const flight4 = fragments.filter((f) => f.messageSeq >= s);
    for (const f of [...flight4].reverse().concat(flight4)) {
      assert.notEqual(again.push(f).kind, "dropped");
    }
    assert.deepEqual(messages.map(() => again.next()), messages);
    assert.equal(again.next(), undefined);
  } finally {
    await client.close();
  }
}

Deno.test("openssl s_server: cookie exchange, then its Certificate reassembled from ~10 fragments", async () => {
  const server = await startOpenSsl();
  try {
    await helloExchange(server, {
      cookieLength: 20,
      flight: [2, 11, 14],
      minCertificateFragments: 5,
      chain: ["leaf.pem", "intermediate.pem"],
    });
  } finally {
    await server.stop();
  }
});

Deno.test("gnutls-serv -u: 16-byte cookie exchange, then its flight with CertificateRequest", async () => {
  const server = await startGnutls(true);
  try {
    await helloExchange(server, {
      cookieLength: 16,
      flight: [2, 11, 13, 14],
      minCertificateFragments: 1,
      chain: ["chain.pem"],
    });
  } finally {
    await server.stop();
  }
});

Deno.test("gnutls-serv -u --nocookie: the flight answers the first ClientHello, from message_seq 0", async () => {
  const server = await startGnutls(false);
  try {
    await helloExchange(server, {
      cookieLength: undefined,
      flight: [2, 11, 13, 14],
      minCertificateFragments: 1,
      chain: ["chain.pem"],
    });
  } finally {
    await server.stop();
  }
});
