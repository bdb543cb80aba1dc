/**
 * An in-memory DTLS 1.2 server for the sans-IO client tests: the shared
 * {@linkcode ServerHandshake} (DTLS framing) under a DTLS record layer of its own, with an optional stateless
 * cookie exchange, flights fragmented to an MTU, reassembly, a replay window, resending its
 * last flight when the client retransmits, and an echo of application data. It has no timer:
 * every loss is recovered by the client's.
 *
 * @module
 */

import {
  type AlertDescription,
  ContentType,
  decodeInnerPlaintext,
  DTLS_SEQUENCE_LIMIT,
  encodeDtlsRecord,
  encodeInnerPlaintext,
  NullProtector,
  ProtocolVersion,
  type RecordProtector,
  ReplayWindow,
  SequenceCounter,
  splitDatagram,
  TLS12_CID,
} from "@anchortls/record";
import { decodeClientHello, encodeHelloVerifyRequest, HandshakeType } from "@anchortls/handshake";
import {
  decodeDtlsHandshakeRecord,
  type DtlsHandshakeMessage,
  DtlsReassembler,
  encodeDtlsHandshakeMessage,
  type FlightEntry,
  packDatagrams,
  planFlightRecords,
} from "@anchortls/handshake/dtls";
import { ServerHandshake, type ServerHandshakeOptions } from "./server_handshake.ts";

/** Options of the in-memory DTLS server. */
export interface DtlsTestServerOptions extends Omit<ServerHandshakeOptions, "dtls"> {
  /** Answer the first ClientHello with a HelloVerifyRequest. @default {true} */
  cookie?: boolean;
  /** Datagram size its flights are cut to. @default {1200} */
  mtu?: number;
  /** Send application data back. @default {true} */
  echo?: boolean;
  /** A server whose sessions this one resumes, as one server process across connections. */
  resumeFrom?: DtlsTestServer;
}

/** Where a datagram came from, for {@linkcode DtlsTestServer.handleFrom}: any label. */
export type TestAddress = string;

const COOKIE = new Uint8Array(20).fill(0xc0);

/** The server; feed it datagrams, send on what it returns. */
export class DtlsTestServer {
  /** The handshake it runs. */
  readonly server: ServerHandshake;
  /** The options it was made with. */
  readonly options: DtlsTestServerOptions;
  /** Application messages received, in arrival order. */
  readonly received: Uint8Array[] = [];
  /** Alerts received (level, description). */
  readonly alerts: [number, number][] = [];
  /** Flights resent because the client retransmitted. */
  resends = 0;
  /**
   * The address the association answers (the first ClientHello's): as a real server's
   * 5-tuple, datagrams from elsewhere are not its own — unless a record with its CID
   * authenticates, which moves the association there (RFC 9146 §6).
   */
  peerAddress: TestAddress | undefined;
  /** Datagrams from another address that no CID tied to this association. */
  strangers = 0;
  readonly #reassembler = new DtlsReassembler();
  readonly #write = new Map<
    number,
    { protector: RecordProtector; sequence: SequenceCounter; cid?: Uint8Array }
  >();
  readonly #read = new Map<number, { protector: RecordProtector; window: ReplayWindow }>();
  #writeEpoch = 0;
  #lastFlight: FlightEntry[] = [];
  #cookieSent = false;
  #keysReady = false;
  #complete = false;

  /**
   * Makes the server.
   *
   * @param options Its handshake and record-layer options.
   */
  constructor(options: DtlsTestServerOptions = {}) {
    this.options = options;
    const cookie = options.cookie ?? true;
    this.server = new ServerHandshake({ ...options, dtls: { messageSeq: cookie ? 1 : 0 } });
    for (const [id, session] of options.resumeFrom?.server.sessions ?? []) {
      this.server.sessions.set(id, session);
    }
    this.#write.set(0, {
      protector: new NullProtector(),
      sequence: new SequenceCounter(DTLS_SEQUENCE_LIMIT),
    });
    this.#read.set(0, { protector: new NullProtector(), window: new ReplayWindow() });
  }

  /** True once the client's Finished verified. */
  get complete(): boolean {
    return this.#complete;
  }

  /**
   * Takes one datagram from the client.
   *
   * @returns The datagrams to send back.
   */
  async handle(datagram: Uint8Array): Promise<Uint8Array[]> {
    return await this.handleFrom(this.peerAddress ?? "client", datagram);
  }

  /**
   * Takes one datagram from `from`. Before the handshake the first address is the
   * association's; later ones are dropped, except for an authenticated record carrying this
   * server's CID, after which the association answers the new address.
   *
   * @returns The datagrams to send back (to {@linkcode DtlsTestServer.peerAddress}).
   */
  async handleFrom(from: TestAddress, datagram: Uint8Array): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    this.peerAddress ??= from;
    const cid = this.options.connectionId;
    let records;
    try {
      records = splitDatagram(datagram, cid && cid.length > 0 ? { cidLength: cid.length } : {});
    } catch {
      return out;
    }
    for (const record of records) {
      const stranger = from !== this.peerAddress;
      const withCid = record.type === TLS12_CID;
      // Only a CID says which association a datagram from elsewhere belongs to.
      if (stranger && !withCid) {
        this.strangers++;
        continue;
      }
      if (withCid && (!cid || record.cid!.toHex() !== cid.toHex() || record.epoch === 0)) continue;
      const epoch = this.#read.get(record.epoch);
      if (!epoch || !epoch.window.check(record.sequenceNumber)) continue;
      let plaintext: Uint8Array;
      let type = record.type;
      try {
        plaintext = await epoch.protector.open({
          type: record.type,
          version: record.version,
          sequence: (BigInt(record.epoch) << 48n) | BigInt(record.sequenceNumber),
          ...(withCid ? { cid: record.cid! } : {}),
        }, record.fragment);
        if (withCid) ({ type, content: plaintext } = decodeInnerPlaintext(plaintext));
      } catch {
        continue;
      }
      epoch.window.mark(record.sequenceNumber);
      // RFC 9146 §6: the peer's address moves only on a record that authenticated.
      if (stranger) this.peerAddress = from;
      await this.#record(type, plaintext, out);
    }
    return out;
  }

  async #record(type: number, plaintext: Uint8Array, out: Uint8Array[]): Promise<void> {
    if (type === ContentType.alert) {
      this.alerts.push([plaintext[0]!, plaintext[1]!]);
      return;
    }
    if (type === ContentType.change_cipher_spec) {
      if (this.#keysReady && !this.#read.has(1)) {
        this.#read.set(1, {
          protector: this.server.protectors().client,
          window: new ReplayWindow(),
        });
      }
      return;
    }
    if (type === ContentType.application_data) {
      this.received.push(plaintext.slice());
      if (this.options.echo ?? true) out.push(await this.#seal(type, 1, plaintext));
      return;
    }
    if (type !== ContentType.handshake) return;
    for (const fragment of decodeDtlsHandshakeRecord(plaintext)) {
      const outcome = this.#reassembler.push(fragment);
      if (outcome.kind === "retransmission") {
        // After an abbreviated handshake the client's flight was the last: nothing to resend.
        if (this.#complete && this.server.resumed) continue;
        this.resends++;
        out.push(...await this.#send(this.#lastFlight));
        continue;
      }
      for (let m = this.#reassembler.next(); m; m = this.#reassembler.next()) {
        await this.#message(m, out);
      }
    }
  }

  async #message(m: DtlsHandshakeMessage, out: Uint8Array[]): Promise<void> {
    const message = {
      type: m.msgType,
      body: m.body,
      transcriptBytes: encodeDtlsHandshakeMessage(m),
    };
    if (m.msgType === HandshakeType.client_hello) {
      const hello = decodeClientHello(m.body, { dtls: true });
      if ((this.options.cookie ?? true) && !this.#cookieSent) {
        if (hello.cookie?.length !== 0) throw new Error("first ClientHello carries a cookie");
        this.#cookieSent = true;
        // RFC 6347 §4.2.2: the HelloVerifyRequest takes the ClientHello's message_seq.
        this.#lastFlight = [{
          kind: "handshake",
          epoch: 0,
          message: {
            msgType: HandshakeType.hello_verify_request,
            messageSeq: m.messageSeq,
            body: encodeHelloVerifyRequest({ version: ProtocolVersion.dtls12, cookie: COOKIE }),
          },
        }];
        out.push(...await this.#send(this.#lastFlight));
        return;
      }
      if ((this.options.cookie ?? true) && hello.cookie?.toHex() !== COOKIE.toHex()) {
        throw new Error("second ClientHello without the cookie");
      }
      const { messages, resumed } = await this.server.hello(message);
      if (resumed) {
        // Abbreviated: ServerHello, then ChangeCipherSpec and Finished under the new keys.
        const [serverHello, finished] = messages as [Uint8Array, Uint8Array];
        this.#installWrite();
        this.#keysReady = true;
        this.#lastFlight = [
          whole(serverHello, 0),
          { kind: "change_cipher_spec", epoch: 0 },
          whole(finished, 1),
        ];
      } else {
        this.#lastFlight = messages.map((bytes) => whole(bytes, 0));
      }
      out.push(...await this.#send(this.#lastFlight));
      return;
    }
    if (m.msgType === HandshakeType.finished && this.server.resumed) {
      // The client's flight ends an abbreviated handshake: nothing to answer.
      await this.server.clientMessage(message);
      this.#complete = true;
      return;
    }
    if (m.msgType === HandshakeType.finished) {
      await this.server.clientMessage(message);
      this.#complete = true;
      const finished = this.server.serverFinished();
      this.#installWrite();
      this.#lastFlight = [{ kind: "change_cipher_spec", epoch: 0 }, whole(finished, 1)];
      out.push(...await this.#send(this.#lastFlight));
      return;
    }
    await this.server.clientMessage(message);
    if (m.msgType === HandshakeType.client_key_exchange) this.#keysReady = true;
  }

  #installWrite(): void {
    const clientCid = this.options.connectionId ? this.server.clientConnectionId : undefined;
    this.#write.set(1, {
      protector: this.server.protectors().server,
      sequence: new SequenceCounter(DTLS_SEQUENCE_LIMIT),
      ...(clientCid && clientCid.length > 0 ? { cid: clientCid } : {}),
    });
    this.#writeEpoch = 1;
  }

  /** Sends the last flight again, as a server's own retransmission timer would. */
  async resendLastFlight(): Promise<Uint8Array[]> {
    return await this.#send(this.#lastFlight);
  }

  /** Seals an alert in the current epoch, for tests that make the server complain. */
  async alert(level: number, description: AlertDescription): Promise<Uint8Array> {
    return await this.#seal(ContentType.alert, this.#writeEpoch, Uint8Array.of(level, description));
  }

  /** Seals application data in epoch 1, for tests that push unsolicited messages. */
  async applicationData(data: Uint8Array): Promise<Uint8Array> {
    return await this.#seal(ContentType.application_data, 1, data);
  }

  /**
   * Seals application data in epoch 1 as a misbehaving peer would, under the real keys: as a
   * plain record though CIDs were negotiated (`null`), or with another CID.
   */
  async applicationDataWithCid(data: Uint8Array, cid: Uint8Array | null): Promise<Uint8Array> {
    return await this.#seal(ContentType.application_data, 1, data, cid);
  }

  async #send(entries: readonly FlightEntry[]): Promise<Uint8Array[]> {
    const mtu = this.options.mtu ?? 1200;
    const planned = planFlightRecords(entries, {
      mtu,
      expansion: (epoch) => {
        const state = this.#write.get(epoch)!;
        return state.protector.maxExpansion + (state.cid ? state.cid.length + 1 : 0);
      },
    });
    const records: Uint8Array[] = [];
    for (const r of planned) records.push(await this.#seal(r.contentType, r.epoch, r.plaintext));
    return packDatagrams(records, mtu);
  }

  async #seal(
    type: number,
    epoch: number,
    plaintext: Uint8Array,
    cidOverride?: Uint8Array | null,
  ): Promise<Uint8Array> {
    const state = this.#write.get(epoch)!;
    const sequence = state.sequence.next();
    const cid = cidOverride === null ? undefined : cidOverride ?? state.cid;
    const outerType = cid ? TLS12_CID : type;
    const fragment = await state.protector.seal({
      type: outerType,
      version: ProtocolVersion.dtls12,
      sequence: (BigInt(epoch) << 48n) | sequence,
      ...(cid ? { cid } : {}),
    }, cid ? encodeInnerPlaintext(plaintext, type) : plaintext);
    return encodeDtlsRecord({
      type: outerType,
      version: ProtocolVersion.dtls12,
      epoch,
      sequenceNumber: Number(sequence),
      ...(cid ? { cid } : {}),
      fragment,
    });
  }
}

function whole(bytes: Uint8Array, epoch: number): FlightEntry {
  const [fragment] = decodeDtlsHandshakeRecord(bytes);
  return {
    kind: "handshake",
    epoch,
    message: { msgType: fragment!.msgType, messageSeq: fragment!.messageSeq, body: fragment!.body },
  };
}
