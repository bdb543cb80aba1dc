/**
 * A minimal in-memory TLS 1.2 RSA server for the handshake's sans-IO tests: it answers the
 * client's plaintext handshake messages with its own, computing keys with the same key
 * schedule functions (themselves checked against NIST vectors) and decrypting the premaster
 * with the test PKI's leaf key. Hooks let a test bend any message to exercise a refusal.
 *
 * @module
 */

import { CbcHmacProtector, type CipherSuite, cipherSuiteById, Writer } from "@anchortls/record";
import { parsePem } from "@anchortls/x509";
import { sha256 } from "@noble/hashes/sha2.js";
import { deriveKeyBlock, deriveMasterSecret, finishedVerifyData } from "./key_schedule.ts";
import { encodeCertificate } from "./messages/certificate.ts";
import { encodeCertificateRequest } from "./messages/certificate_request.ts";
import { type ClientHello, decodeClientHello } from "./messages/client_hello.ts";
import { type Extension, ExtensionType } from "./messages/extensions.ts";
import {
  encodeTlsHandshake,
  type HandshakeMessage,
  TlsHandshakeDeframer,
} from "./messages/framing.ts";
import { HandshakeType } from "./messages/handshake_type.ts";
import { encodeServerHello, type ServerHello } from "./messages/server_hello.ts";
import { decodeCertificateVerify, decodeClientKeyExchange } from "./messages/simple_messages.ts";
import { decodeCertificate } from "./messages/certificate.ts";
import { rsaDecrypt } from "./_test_rsa.ts";

const testdata = (name: string) => new URL(`../x509/testdata/${name}`, import.meta.url);

/** Reads a test PKI file. */
export function readTestdata(name: string): Promise<string> {
  return Deno.readTextFile(testdata(name));
}

/** Server behaviour knobs. */
export interface TestServerOptions {
  chainPem?: string;
  keyPem?: string;
  suite?: number;
  encryptThenMac?: boolean;
  extendedMasterSecret?: boolean;
  sessionId?: Uint8Array;
  certificateRequest?: { schemes: number[] };
  /** Bends the ServerHello before it is sent. */
  serverHello?: (hello: ServerHello) => ServerHello;
  /** Replaces the first flight's messages (framed) before they are sent. */
  firstFlight?: (messages: Uint8Array[]) => Uint8Array[];
  /** Corrupts the server Finished. */
  badFinished?: boolean;
  /**
   * Speak DTLS 1.2: 12-byte handshake headers numbered from `dtls.messageSeq`, version 0xfefd,
   * and the ClientHello's cookie field.
   */
  dtls?: { messageSeq: number };
}

interface Session {
  master: Uint8Array;
  suite: CipherSuite;
}

/** A sans-IO server of one handshake at a time; sessions persist across handshakes. */
export class TestServer {
  readonly sessions = new Map<string, Session>();
  options: TestServerOptions;
  #transcript: Uint8Array[] = [];
  #clientHello!: ClientHello;
  #serverRandom = new Uint8Array(32).fill(0x5e);
  #suite!: CipherSuite;
  #etm = false;
  #ems = false;
  #master: Uint8Array | undefined;
  #sessionId: Uint8Array = new Uint8Array(0);
  #resumed = false;
  clientCertificate: Uint8Array[] | undefined;
  clientSignatureScheme: number | undefined;

  constructor(options: TestServerOptions = {}) {
    this.options = options;
  }

  #hash(): Uint8Array {
    return sha256(new Uint8Array(this.#transcript.flatMap((m) => [...m])));
  }

  #frame(type: number, body: Uint8Array): Uint8Array {
    const dtls = this.options.dtls;
    if (!dtls) return encodeTlsHandshake(type, body);
    return new Writer(12 + body.length).u8(type).u24(body.length).u16(dtls.messageSeq++).u24(0)
      .u24(body.length).bytes(body).finish();
  }

  #add(message: Uint8Array): Uint8Array {
    this.#transcript.push(message);
    return message;
  }

  /** Answers a ClientHello: the first flight (or the resumption flight) as framed messages. */
  async hello(message: HandshakeMessage): Promise<{ messages: Uint8Array[]; resumed: boolean }> {
    this.#transcript = [message.transcriptBytes];
    this.#clientHello = decodeClientHello(message.body, { dtls: this.options.dtls !== undefined });
    const offered = new Set(this.#clientHello.extensions.map((e) => e.type));
    const o = this.options;
    const suiteId = o.suite ?? this.#clientHello.cipherSuites[0]!;
    this.#suite = cipherSuiteById(suiteId) ?? cipherSuiteById(0x002f)!;
    this.#etm = (o.encryptThenMac ?? true) && offered.has(ExtensionType.encrypt_then_mac);
    this.#ems = (o.extendedMasterSecret ?? true) &&
      offered.has(ExtensionType.extended_master_secret);
    const extensions: Extension[] = [{
      type: ExtensionType.renegotiation_info,
      data: Uint8Array.of(0),
    }];
    if (this.#etm) {
      extensions.push({ type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) });
    }
    if (this.#ems) {
      extensions.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
    }

    const cached = this.sessions.get(this.#clientHello.sessionId.toHex());
    this.#resumed = this.#clientHello.sessionId.length > 0 && cached !== undefined;
    this.#sessionId = this.#resumed
      ? this.#clientHello.sessionId
      : (o.sessionId ?? new Uint8Array(32).fill(0x51));
    if (this.#resumed) {
      this.#suite = cached!.suite;
      this.#master = cached!.master;
    }
    let hello: ServerHello = {
      version: o.dtls ? 0xfefd : 0x0303,
      random: this.#serverRandom,
      sessionId: this.#sessionId,
      cipherSuite: o.suite ?? this.#suite.id,
      compressionMethod: 0,
      extensions,
    };
    if (o.serverHello) hello = o.serverHello(hello);
    const messages = [
      this.#add(this.#frame(HandshakeType.server_hello, encodeServerHello(hello))),
    ];
    if (this.#resumed) {
      messages.push(this.#add(this.#finished("server finished")));
      return { messages, resumed: true };
    }
    const chain = parsePem(o.chainPem ?? (await readTestdata("chain.pem")));
    messages.push(this.#frame(HandshakeType.certificate, encodeCertificate(chain)));
    if (o.certificateRequest) {
      messages.push(this.#frame(
        HandshakeType.certificate_request,
        encodeCertificateRequest({
          certificateTypes: [1, 64],
          signatureSchemes: o.certificateRequest.schemes,
          certificateAuthorities: [],
        }),
      ));
    }
    messages.push(this.#frame(HandshakeType.server_hello_done, new Uint8Array(0)));
    const sent = o.firstFlight ? o.firstFlight(messages) : messages;
    for (const m of sent.slice(1)) this.#add(m);
    return { messages: sent, resumed: false };
  }

  /** Takes the client's second flight (handshake messages); returns the server Finished. */
  async clientFlight(messages: HandshakeMessage[]): Promise<Uint8Array> {
    for (const m of messages) {
      if (m.type === HandshakeType.finished) this.clientFinished(m);
      else await this.clientMessage(m);
    }
    return this.#resumed ? new Uint8Array(0) : this.serverFinished();
  }

  /** Takes one message of the client's second flight other than Finished. */
  async clientMessage(m: HandshakeMessage): Promise<void> {
    if (m.type === HandshakeType.certificate) this.clientCertificate = decodeCertificate(m.body);
    if (m.type === HandshakeType.certificate_verify) {
      this.clientSignatureScheme = decodeCertificateVerify(m.body).scheme;
    }
    this.#add(m.transcriptBytes);
    if (m.type === HandshakeType.client_key_exchange) {
      const premaster = await rsaDecrypt(
        this.options.keyPem ?? (await readTestdata("leaf.key")),
        decodeClientKeyExchange(m.body),
      );
      this.#master = deriveMasterSecret(
        premaster,
        this.#ems ? { extendedMasterSecret: true, sessionHash: this.#hash() } : {
          extendedMasterSecret: false,
          clientRandom: this.#clientHello.random,
          serverRandom: this.#serverRandom,
        },
      );
    }
  }

  /** Checks the client's Finished and adds it to the transcript. */
  clientFinished(m: HandshakeMessage): void {
    const expected = this.#finishedBody("client finished");
    if (expected.toHex() !== m.body.toHex()) throw new Error("client Finished does not verify");
    this.#add(m.transcriptBytes);
  }

  /** The server Finished of a full handshake; the session is kept for resumption. */
  serverFinished(): Uint8Array {
    const finished = this.#finished("server finished");
    this.#add(finished);
    this.sessions.set(this.#sessionId.toHex(), { master: this.#master!, suite: this.#suite });
    return finished;
  }

  #finishedBody(label: "client finished" | "server finished"): Uint8Array {
    return finishedVerifyData(this.#master!, label, this.#hash());
  }

  #finished(label: "client finished" | "server finished"): Uint8Array {
    const body = this.#finishedBody(label);
    if (this.options.badFinished) body[0]! ^= 1;
    return this.#frame(HandshakeType.finished, body);
  }

  /** The server's protectors for this handshake: `server` seals, `client` opens. */
  protectors(): { server: CbcHmacProtector; client: CbcHmacProtector } {
    const keys = deriveKeyBlock(
      this.#master!,
      this.#clientHello.random,
      this.#serverRandom,
      this.#suite,
    );
    const common = { suite: this.#suite, encryptThenMac: this.#etm };
    return {
      server: new CbcHmacProtector({
        ...common,
        encKey: keys.serverEncKey,
        macKey: keys.serverMacKey,
      }),
      client: new CbcHmacProtector({
        ...common,
        encKey: keys.clientEncKey,
        macKey: keys.clientMacKey,
      }),
    };
  }
}

/** Cuts framed messages out of a byte string. */
export function splitMessages(bytes: Uint8Array): HandshakeMessage[] {
  const d = new TlsHandshakeDeframer();
  d.push(bytes);
  const out: HandshakeMessage[] = [];
  for (let m = d.next(); m; m = d.next()) out.push(m);
  return out;
}
