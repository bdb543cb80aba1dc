/**
 * A scripted DTLS 1.2 server for hostile-peer tests of `connectDtls`: one UDP socket on a free
 * loopback port, the project's own DTLS record codec and handshake fragment encoders, and the
 * shared {@linkcode ServerHandshake} in DTLS framing (no cookie exchange), which a script can
 * stop or bend at any step.
 * Everything the client sends is captured and decoded (epoch 1 with the client's keys), so a
 * test can name the alert the client sent.
 *
 * @module
 */

import dgram from "node:dgram";
import { type ClientHello, type HandshakeMessage, HandshakeType } from "@anchortls/handshake";
import {
  decodeDtlsHandshakeRecord,
  encodeDtlsHandshakeMessage,
  fragmentHandshakeMessage,
} from "@anchortls/handshake/dtls";
import {
  CipherSuites,
  ContentType,
  type DtlsRecord,
  encodeDtlsRecord,
  NullProtector,
  type RecordProtector,
  splitDatagram,
} from "@anchortls/record";
import { ServerHandshake, type ServerHandshakeOptions } from "./server_handshake.ts";
import type { ReceivedAlert } from "./tls_peer.ts";

const DTLS12 = 0xfefd;

/** A record from the client, unprotected. */
export interface ClientDtlsRecord {
  /** The ContentType. */
  readonly type: number;
  /** The record's epoch. */
  readonly epoch: number;
  /** The plaintext. */
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

/**
 * The {@linkcode ServerHandshake} in DTLS framing on a {@linkcode ScriptedDtlsPeer}, one step
 * per method. No session ID, no cookie exchange.
 */
export class DtlsPeerHandshake extends ServerHandshake {
  /** The socket the handshake runs on. */
  readonly peer: ScriptedDtlsPeer;
  #clientSeq = 0;
  #server: RecordProtector | undefined;

  /**
   * Prepares the server side of one DTLS handshake.
   *
   * @param peer The socket.
   * @param options How to bend it.
   */
  constructor(peer: ScriptedDtlsPeer, options: Omit<ServerHandshakeOptions, "dtls"> = {}) {
    // The scripts send RSA key exchange's flights (no ServerKeyExchange) unless told otherwise.
    super({
      sessionId: new Uint8Array(0),
      suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256.id,
      ...options,
      dtls: { messageSeq: 0 },
    });
    this.peer = peer;
  }

  async #readMessage(): Promise<HandshakeMessage> {
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
        body: message.body,
        transcriptBytes: encodeDtlsHandshakeMessage(message),
      };
    }
  }

  /** Reads the ClientHello (sent whole) and settles suite, EtM and EMS. */
  async readClientHello(): Promise<ClientHello> {
    return this.takeClientHello(await this.#readMessage());
  }

  /** Sends the chain as a Certificate cut into fragments of at most 1000 bytes. */
  async sendCertificate(pace: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    const [header] = decodeDtlsHandshakeRecord(await this.certificate());
    for (const f of fragmentHandshakeMessage(header!, 1000)) {
      await pace();
      await this.peer.send(ContentType.handshake, f);
    }
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

  /** Reads ClientKeyExchange, ChangeCipherSpec and Finished; derives and checks the keys. */
  async readClientFlight(): Promise<void> {
    const cke = await this.#readMessage();
    if (cke.type !== HandshakeType.client_key_exchange) throw new Error("expected CKE");
    await this.clientMessage(cke);
    const protectors = this.protectors();
    this.peer.clientProtector = protectors.client;
    this.#server = protectors.server;
    const finished = await this.#readMessage();
    if (finished.type !== HandshakeType.finished) throw new Error("expected Finished");
    await this.clientMessage(finished);
  }

  /** Sends ChangeCipherSpec (switching to epoch 1). */
  async changeCipherSpec(): Promise<void> {
    await this.peer.changeCipherSpec(this.#server!);
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
