/**
 * A scripted DTLS 1.2 server for hostile-peer tests of `connectDtls`: one UDP socket on a free
 * loopback port, the project's own DTLS record codec and handshake fragment encoders, and an
 * honest RSA key exchange (no cookie exchange) that a script can stop or bend at any step.
 * Everything the client sends is captured and decoded (epoch 1 with the client's keys), so a
 * test can name the alert the client sent.
 *
 * @module
 */

import dgram from "node:dgram";
import {
  type ClientHello,
  decodeClientHello,
  decodeClientKeyExchange,
  deriveKeyBlock,
  encodeCertificate,
  encodeServerHello,
  ExtensionType,
  finishedVerifyData,
  HandshakeType,
  type ServerHello,
} from "@anchortls/handshake";
import {
  decodeDtlsHandshakeRecord,
  encodeDtlsHandshakeMessage,
  fragmentHandshakeMessage,
} from "@anchortls/handshake/dtls";
import {
  type CipherSuite,
  cipherSuiteById,
  concatBytes,
  ContentType,
  type DtlsRecord,
  encodeDtlsRecord,
  NullProtector,
  type RecordProtector,
  splitDatagram,
} from "@anchortls/record";
import { sha256 } from "@noble/hashes/sha2.js";
import { rsaDecrypt } from "@anchortls/handshake/testing";
import type { ReceivedAlert } from "./scripted_server.ts";
import { fixedPkiFile } from "../testing.ts";
import {
  masterSecretFor,
  protectorPair,
  serverChain,
  serverHelloFor,
} from "./scripted_handshake.ts";

const DTLS12 = 0xfefd;

/** A record from the client, unprotected. */
export interface ClientDtlsRecord {
  readonly type: number;
  readonly epoch: number;
  readonly content: Uint8Array;
}

/** The server's UDP socket and record layer. */
export class ScriptedDtlsPeer {
  readonly #socket: dgram.Socket;
  #client: { address: string; port: number } | undefined;
  readonly #inbox: Uint8Array[] = [];
  #wake = Promise.withResolvers<void>();
  readonly #pending: DtlsRecord[] = [];
  /** The client's epoch-1 keys, once the key exchange was read. */
  clientProtector: RecordProtector | undefined;
  #writeEpoch = 0;
  #writeProtector: RecordProtector = new NullProtector();
  #writeSequence = 0;
  /** Alerts read from the client so far. */
  readonly alerts: ReceivedAlert[] = [];
  /** Datagrams sent to the client. */
  datagramsSent = 0;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on("message", (message, from) => {
      this.#client = { address: from.address, port: from.port };
      this.#inbox.push(new Uint8Array(message));
      this.#wake.resolve();
    });
  }

  /**
   * Binds a socket on a free loopback port.
   *
   * @returns The peer; its `port` is where the client should go.
   */
  static async open(): Promise<ScriptedDtlsPeer> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new ScriptedDtlsPeer(socket);
  }

  /** The UDP port. */
  get port(): number {
    return this.#socket.address().port;
  }

  /** Sends one datagram to the client. */
  async sendDatagram(datagram: Uint8Array): Promise<void> {
    const to = this.#client!;
    await new Promise<void>((resolve, reject) =>
      this.#socket.send(datagram, to.port, to.address, (e) => e ? reject(e) : resolve())
    );
    this.datagramsSent++;
  }

  /** Seals `content` as the next record of the current epoch, in a datagram of its own. */
  async send(type: number, content: Uint8Array): Promise<void> {
    const sequenceNumber = this.#writeSequence++;
    const fragment = await this.#writeProtector.seal({
      type,
      version: DTLS12,
      sequence: (BigInt(this.#writeEpoch) << 48n) | BigInt(sequenceNumber),
    }, content);
    await this.sendDatagram(
      encodeDtlsRecord({
        type,
        version: DTLS12,
        epoch: this.#writeEpoch,
        sequenceNumber,
        fragment,
      }),
    );
  }

  /** Sends ChangeCipherSpec and moves to epoch 1 under `protector`. */
  async changeCipherSpec(protector: RecordProtector): Promise<void> {
    await this.send(ContentType.change_cipher_spec, Uint8Array.of(1));
    this.#writeEpoch = 1;
    this.#writeSequence = 0;
    this.#writeProtector = protector;
  }

  /**
   * Reads the client's next record, unprotected; alerts are also kept in `alerts`.
   *
   * @param timeoutMs How long to wait for one.
   * @returns The record, or `undefined` when none came in time.
   */
  async readRecord(timeoutMs = 5000): Promise<ClientDtlsRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.#pending.shift();
      if (r) {
        // Opened only now: a datagram can carry ClientKeyExchange and the epoch-1 Finished,
        // whose keys exist only once the script read the key exchange.
        const protector = r.epoch === 0 ? new NullProtector() : this.clientProtector;
        if (!protector) throw new Error(`epoch ${r.epoch} before the keys`);
        const content = await protector.open({
          type: r.type,
          version: r.version,
          sequence: (BigInt(r.epoch) << 48n) | BigInt(r.sequenceNumber),
        }, r.fragment);
        if (r.type === ContentType.alert && content.length === 2) {
          this.alerts.push({ level: content[0]!, description: content[1]! });
        }
        return { type: r.type, epoch: r.epoch, content };
      }
      const datagram = this.#inbox.shift();
      if (datagram) {
        this.#pending.push(...splitDatagram(datagram));
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#wake.promise,
        new Promise((resolve) => timer = setTimeout(resolve, left)),
      ]);
      clearTimeout(timer);
      this.#wake = Promise.withResolvers<void>();
    }
  }

  /**
   * Reads until the client sent an alert (or `timeoutMs` of silence).
   *
   * @returns Every alert the client sent so far.
   */
  async waitForAlert(timeoutMs = 5000): Promise<ReceivedAlert[]> {
    while (this.alerts.length === 0 && await this.readRecord(timeoutMs));
    return this.alerts;
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** How the honest part of a DTLS handshake should go. */
export interface DtlsServerHandshakeOptions {
  /** The certificate chain to send, DER, leaf first. @default {chain.pem of the test PKI} */
  readonly chain?: readonly Uint8Array[];
  /** Bends the ServerHello before it is encoded. */
  readonly serverHello?: (hello: ServerHello) => ServerHello;
}

/** The server side of a DTLS RSA key exchange, one step per method. */
export class DtlsServerHandshake {
  /** The socket the handshake runs on. */
  readonly peer: ScriptedDtlsPeer;
  readonly #options: DtlsServerHandshakeOptions;
  readonly #transcript: Uint8Array[] = [];
  #messageSeq = 0;
  #clientSeq = 0;
  /** This handshake's server random. */
  readonly serverRandom: Uint8Array = crypto.getRandomValues(new Uint8Array(32));
  /** The client's hello, once read. */
  clientHello!: ClientHello;
  /** The client's first suite. */
  suite!: CipherSuite;
  #etm = false;
  #ems = false;
  #master: Uint8Array | undefined;
  #server: RecordProtector | undefined;

  /**
   * Prepares the server side of one DTLS handshake.
   *
   * @param peer The socket.
   * @param options How to bend the ServerHello.
   */
  constructor(peer: ScriptedDtlsPeer, options: DtlsServerHandshakeOptions = {}) {
    this.peer = peer;
    this.#options = options;
  }

  /**
   * A whole message with its 12-byte header (as DTLS hashes it), added to the transcript;
   * the next message_seq is taken unless `messageSeq` is given.
   */
  message(type: number, body: Uint8Array, messageSeq = this.#messageSeq++): Uint8Array {
    const bytes = encodeDtlsHandshakeMessage({ msgType: type, messageSeq, body });
    this.#transcript.push(bytes);
    return bytes;
  }

  async #readMessage(): Promise<{ type: number; bytes: Uint8Array; body: Uint8Array }> {
    for (;;) {
      const record = await this.peer.readRecord();
      if (!record) throw new Error("the client went quiet");
      if (record.type !== ContentType.handshake) continue;
      const [fragment] = decodeDtlsHandshakeRecord(record.content);
      // A retransmission of a message already read (the client's timer fired): skip it.
      if (fragment!.messageSeq < this.#clientSeq) continue;
      this.#clientSeq = fragment!.messageSeq + 1;
      const message = {
        msgType: fragment!.msgType,
        messageSeq: fragment!.messageSeq,
        body: fragment!.body,
      };
      return {
        type: message.msgType,
        bytes: encodeDtlsHandshakeMessage(message),
        body: message.body,
      };
    }
  }

  /** Reads the ClientHello (sent whole) and settles suite, EtM and EMS. */
  async readClientHello(): Promise<void> {
    const m = await this.#readMessage();
    if (m.type !== HandshakeType.client_hello) throw new Error("expected ClientHello");
    this.#transcript.push(m.bytes);
    this.clientHello = decodeClientHello(m.body, { dtls: true });
    this.suite = cipherSuiteById(this.clientHello.cipherSuites[0]!)!;
    const offered = new Set(this.clientHello.extensions.map((e) => e.type));
    this.#etm = offered.has(ExtensionType.encrypt_then_mac);
    this.#ems = offered.has(ExtensionType.extended_master_secret);
  }

  /** The ServerHello, as a whole-message fragment. */
  serverHello(): Uint8Array {
    const hello = serverHelloFor({
      version: DTLS12,
      random: this.serverRandom,
      suite: this.suite,
      encryptThenMac: this.#etm,
      extendedMasterSecret: this.#ems,
    }, this.#options.serverHello);
    return this.message(HandshakeType.server_hello, encodeServerHello(hello));
  }

  /** Sends the chain as a Certificate cut into fragments of at most 1000 bytes. */
  async sendCertificate(pace: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    const chain = await serverChain(this.#options.chain);
    const messageSeq = this.#messageSeq++;
    const body = encodeCertificate(chain);
    this.message(HandshakeType.certificate, body, messageSeq);
    const fragments = fragmentHandshakeMessage(
      { msgType: HandshakeType.certificate, messageSeq, body },
      1000,
    );
    for (const f of fragments) {
      await pace();
      await this.peer.send(ContentType.handshake, f);
    }
  }

  /** ServerHelloDone, as a whole-message fragment. */
  serverHelloDone(): Uint8Array {
    return this.message(HandshakeType.server_hello_done, new Uint8Array(0));
  }

  /**
   * Reads ClientHello and sends ServerHello, Certificate, ServerHelloDone, pacing datagrams by
   * `pace` (so a long Certificate does not overrun the client's socket buffer).
   */
  async firstFlight(pace: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    await this.readClientHello();
    await this.peer.send(ContentType.handshake, this.serverHello());
    await this.sendCertificate(pace);
    await this.peer.send(ContentType.handshake, this.serverHelloDone());
  }

  /** Reads ClientKeyExchange, ChangeCipherSpec and Finished; derives the keys. */
  async readClientFlight(): Promise<void> {
    const cke = await this.#readMessage();
    if (cke.type !== HandshakeType.client_key_exchange) throw new Error("expected CKE");
    this.#transcript.push(cke.bytes);
    const premaster = await rsaDecrypt(
      await Deno.readTextFile(fixedPkiFile("leaf.key")),
      decodeClientKeyExchange(cke.body),
    );
    this.#master = masterSecretFor(
      premaster,
      this.clientHello,
      this.serverRandom,
      this.#ems ? sha256(concatBytes(this.#transcript)) : undefined,
    );
    const keys = deriveKeyBlock(
      this.#master,
      this.clientHello.random,
      this.serverRandom,
      this.suite,
    );
    const protectors = protectorPair(keys, this.suite, this.#etm);
    this.peer.clientProtector = protectors.client;
    this.#server = protectors.server;
    const finished = await this.#readMessage();
    if (finished.type !== HandshakeType.finished) throw new Error("expected Finished");
    this.#transcript.push(finished.bytes);
  }

  /** Sends ChangeCipherSpec (switching to epoch 1). */
  async changeCipherSpec(): Promise<void> {
    await this.peer.changeCipherSpec(this.#server!);
  }

  /** The server Finished; `corrupt` flips a bit of its verify_data. */
  finished(corrupt = false): Uint8Array {
    const verifyData = finishedVerifyData(
      this.#master!,
      "server finished",
      sha256(concatBytes(this.#transcript)),
    );
    if (corrupt) verifyData[0]! ^= 1;
    return this.message(HandshakeType.finished, verifyData);
  }

  /** A whole honest handshake. */
  async complete(): Promise<void> {
    await this.firstFlight();
    await this.#secondFlight();
  }

  /**
   * The rest of an honest handshake once the script read the ClientHello itself (and sent
   * whatever it wanted first): ServerHello, Certificate, ServerHelloDone, the client's
   * flight, ChangeCipherSpec and Finished.
   */
  async completeAfterClientHello(): Promise<void> {
    await this.peer.send(ContentType.handshake, this.serverHello());
    await this.sendCertificate();
    await this.peer.send(ContentType.handshake, this.serverHelloDone());
    await this.#secondFlight();
  }

  async #secondFlight(): Promise<void> {
    await this.readClientFlight();
    await this.changeCipherSpec();
    await this.peer.send(ContentType.handshake, this.finished());
  }
}
