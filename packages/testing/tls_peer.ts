/**
 * A scripted TLS 1.2 server for hostile-peer tests: one loopback connection, written with the
 * project's own record codec and handshake message encoders, where each test script decides
 * exactly which bytes go out and when. Everything the client sends is captured from the first
 * byte on by a background reader (so an alert is caught even while the script is still
 * writing), and is decoded afterwards, decrypting with the client's keys once the client
 * changed cipher spec, so a test can name the alert the client sent.
 *
 * {@linkcode PeerHandshake} runs the shared {@linkcode ServerHandshake} over it: an honest RSA
 * key exchange with the fixed test PKI's leaf, so a script can bend any step after the
 * certificate check.
 *
 * @module
 */

import {
  type ClientHello,
  type HandshakeMessage,
  HandshakeType,
  TlsHandshakeDeframer,
} from "@anchortls/handshake";
import type { ByteTransport } from "@anchortls/client/advanced";
import {
  CipherSuites,
  concatBytes,
  ContentType,
  type RecordProtector,
  TlsDeframer,
} from "@anchortls/record";
import { memoryConnection, type PeerConnection } from "./memory_connection.ts";
import { ServerHandshake, type ServerHandshakeOptions } from "./server_handshake.ts";
import { TlsServerRecords } from "./tls_records.ts";

/** An alert as the client sent it. */
export interface ReceivedAlert {
  /** 1 warning, 2 fatal (or whatever the client put there). */
  readonly level: number;
  /** The AlertDescription code. */
  readonly description: number;
}

/** A record from the client, unprotected. */
export interface ClientRecord {
  /** The ContentType. */
  readonly type: number;
  /** The plaintext. */
  readonly content: Uint8Array;
}

/** The largest plaintext fragment a record may carry. */
const MAX_FRAGMENT = 16_384;

/**
 * One accepted connection: raw writes, record writes under the current server keys, and
 * reads of the client's records under the client's keys.
 */
export class ScriptedPeer {
  readonly #conn: PeerConnection;
  readonly #received: Uint8Array[] = [];
  #receivedWake = Promise.withResolvers<void>();
  #ended = false;
  readonly #pump: Promise<void>;
  readonly #deframer = new TlsDeframer({ versions: [0x0301, 0x0302, 0x0303] });
  readonly #records = new TlsServerRecords();
  /** Alerts read from the client so far. */
  readonly alerts: ReceivedAlert[] = [];

  /** The client's keys, installed when the client's ChangeCipherSpec is read. */
  get pendingClientProtector(): RecordProtector | undefined {
    return this.#records.pendingClientProtector;
  }

  set pendingClientProtector(protector: RecordProtector | undefined) {
    this.#records.pendingClientProtector = protector;
  }
  /** Bytes the socket accepted from the script. */
  bytesWritten = 0;
  /** Set when a write failed (the client closed). */
  writeFailed = false;

  /**
   * Takes over an accepted connection and starts capturing what the client sends.
   *
   * @param conn The accepted connection: a TCP socket, or the server end of a
   *   {@linkcode memoryConnection}.
   */
  constructor(conn: PeerConnection) {
    this.#conn = conn;
    this.#pump = this.#readAll();
  }

  async #readAll(): Promise<void> {
    try {
      for (;;) {
        const buffer = new Uint8Array(65_536);
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        this.#received.push(buffer.subarray(0, n));
        this.#receivedWake.resolve();
      }
    } catch {
      // A reset ends the capture like an orderly close.
    } finally {
      this.#ended = true;
      this.#receivedWake.resolve();
    }
  }

  /**
   * Writes raw bytes.
   *
   * @returns False when the client has gone (the write failed).
   */
  async writeRaw(bytes: Uint8Array): Promise<boolean> {
    if (this.writeFailed) return false;
    try {
      for (let at = 0; at < bytes.length;) {
        const n = await this.#conn.write(bytes.subarray(at));
        at += n;
        this.bytesWritten += n;
      }
      return true;
    } catch {
      this.writeFailed = true;
      return false;
    }
  }

  /**
   * Seals `content` as one record under the current server keys and writes it.
   *
   * @returns False when the client has gone.
   */
  async send(type: number, content: Uint8Array): Promise<boolean> {
    return await this.writeRaw(await this.#records.seal(type, content));
  }

  /** Sends handshake messages, packed into as few records as the fragment limit allows. */
  async sendHandshake(messages: readonly Uint8Array[]): Promise<boolean> {
    const all = concatBytes(messages);
    for (let at = 0; at < all.length; at += MAX_FRAGMENT) {
      if (!await this.send(ContentType.handshake, all.subarray(at, at + MAX_FRAGMENT))) {
        return false;
      }
    }
    return true;
  }

  /** Sends ChangeCipherSpec and protects every later record with `protector`. */
  async changeCipherSpec(protector: RecordProtector): Promise<boolean> {
    const ok = await this.send(ContentType.change_cipher_spec, Uint8Array.of(1));
    this.#records.changeWriteKeys(protector);
    return ok;
  }

  /**
   * Reads the client's next record, unprotected. Alerts are recorded in {@linkcode alerts}
   * and returned too; the client's ChangeCipherSpec installs {@linkcode pendingClientProtector}.
   *
   * @returns The record, or `undefined` once the client closed.
   */
  async readRecord(): Promise<ClientRecord | undefined> {
    for (;;) {
      const record = this.#deframer.next();
      if (record) {
        const content = await this.#records.open(record);
        if (record.type === ContentType.alert && content.length === 2) {
          this.alerts.push({ level: content[0]!, description: content[1]! });
        }
        return { type: record.type, content };
      }
      const chunk = this.#received.shift();
      if (chunk) {
        this.#deframer.push(chunk);
        continue;
      }
      if (this.#ended) return undefined;
      await this.#receivedWake.promise;
      this.#receivedWake = Promise.withResolvers<void>();
    }
  }

  /**
   * Reads the client's handshake messages until `count` of them are in (ChangeCipherSpec
   * records pass through; the client's keys take over after it).
   */
  async readHandshake(count: number): Promise<HandshakeMessage[]> {
    const deframer = new TlsHandshakeDeframer();
    const out: HandshakeMessage[] = [];
    while (out.length < count) {
      const record = await this.readRecord();
      if (!record) throw new Error(`client closed after ${out.length} of ${count} messages`);
      if (record.type !== ContentType.handshake) continue;
      deframer.push(record.content);
      for (let m = deframer.next(); m; m = deframer.next()) out.push(m);
    }
    return out;
  }

  /**
   * Reads everything the client still sends until it closes, and returns every alert it
   * sent over the whole connection.
   */
  async drain(): Promise<ReceivedAlert[]> {
    try {
      while (await this.readRecord());
    } catch {
      // Garbage after the alert cannot hide the alert, which is already recorded.
    }
    return this.alerts;
  }

  /** Closes the socket and waits for the capture to end. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.#pump;
  }

  /** Half-closes: the client sees the end of the stream, the capture goes on. */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite().catch(() => {});
  }
}

/**
 * The {@linkcode ServerHandshake} on a {@linkcode ScriptedPeer}: each step reads or writes the
 * connection, so a script can stop or bend any of them. No session ID unless given.
 */
export class PeerHandshake extends ServerHandshake {
  /** The connection the handshake runs on. */
  readonly peer: ScriptedPeer;

  /**
   * Prepares the server side of one handshake.
   *
   * @param peer The connection.
   * @param options What to send and how to bend it.
   */
  constructor(peer: ScriptedPeer, options: Omit<ServerHandshakeOptions, "dtls"> = {}) {
    // The scripts send RSA key exchange's flights (no ServerKeyExchange) unless told otherwise.
    super({
      sessionId: new Uint8Array(0),
      suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256.id,
      ...options,
    });
    this.peer = peer;
  }

  /** Reads the ClientHello and settles suite, EtM and EMS. */
  async readClientHello(): Promise<ClientHello> {
    const [message] = await this.peer.readHandshake(1);
    return this.takeClientHello(message!);
  }

  /** Reads ClientHello and sends ServerHello, Certificate, ServerHelloDone. */
  async firstFlight(): Promise<boolean> {
    await this.readClientHello();
    return await this.peer.sendHandshake([
      this.serverHello(),
      await this.certificate(),
      this.serverHelloDone(),
    ]);
  }

  /**
   * Reads ClientKeyExchange, ChangeCipherSpec and Finished: decrypts the premaster, derives
   * the keys, and checks the client's Finished.
   */
  async readClientFlight(): Promise<void> {
    const [cke] = await this.peer.readHandshake(1);
    if (cke!.type !== HandshakeType.client_key_exchange) throw new Error("expected CKE");
    await this.clientMessage(cke!);
    const protectors = this.protectors();
    this.peer.pendingClientProtector = protectors.client;
    this.#server = protectors.server;
    const [finished] = await this.peer.readHandshake(1);
    if (finished!.type !== HandshakeType.finished) throw new Error("expected Finished");
    await this.clientMessage(finished!);
  }

  #server: RecordProtector | undefined;

  /** Sends ChangeCipherSpec (switching to the server keys). */
  async changeCipherSpec(): Promise<boolean> {
    return await this.peer.changeCipherSpec(this.#server!);
  }

  /** A whole honest handshake. */
  async complete(): Promise<void> {
    await this.firstFlight();
    await this.readClientFlight();
    await this.changeCipherSpec();
    await this.peer.sendHandshake([this.finished()]);
  }
}

/** A listener on a free loopback port that plays `script` against the first connection. */
export interface ScriptedServer {
  /** The loopback port it listens on. */
  readonly port: number;
  /**
   * Settles when the script finished and the client's remaining records were drained; holds
   * the alerts the client sent and the peer for byte counts.
   */
  readonly done: Promise<{ alerts: ReceivedAlert[]; peer: ScriptedPeer }>;
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

/** Runs the script, then drains what the client still sends and closes the peer. */
async function runScript(
  peer: ScriptedPeer,
  script: (peer: ScriptedPeer) => Promise<void>,
): Promise<{ alerts: ReceivedAlert[]; peer: ScriptedPeer }> {
  try {
    await script(peer);
    const alerts = await peer.drain();
    return { alerts, peer };
  } finally {
    await peer.close();
  }
}

/**
 * Starts a scripted server.
 *
 * @param script What the server does with the connection; the peer is drained and closed
 *   after it returns (or throws: the error rejects `done`).
 */
export function scriptedServer(script: (peer: ScriptedPeer) => Promise<void>): ScriptedServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let peer: ScriptedPeer | undefined;
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    peer = new ScriptedPeer(conn);
    return await runScript(peer, script);
  })();
  done.catch(() => {});
  return {
    port,
    done,
    close: async () => {
      try {
        listener.close();
      } catch {
        // Closed after the accept.
      }
      await peer?.close();
      await done.catch(() => {});
    },
  };
}

/** A scripted server on an in-memory connection. */
export interface MemoryScriptedServer {
  /** The client's end, for `startTls`. */
  readonly transport: ByteTransport;
  /** As {@linkcode ScriptedServer.done}. */
  readonly done: Promise<{ alerts: ReceivedAlert[]; peer: ScriptedPeer }>;
  /** Closes the server's end. */
  close(): Promise<void>;
}

/**
 * Runs a script on an in-memory connection: the same peer as {@linkcode scriptedServer}, no
 * socket.
 *
 * @param script What the server does; the peer is drained and closed after it returns.
 */
export function memoryScriptedServer(
  script: (peer: ScriptedPeer) => Promise<void>,
): MemoryScriptedServer {
  const { client, server } = memoryConnection();
  const peer = new ScriptedPeer(server);
  const done = runScript(peer, script);
  done.catch(() => {});
  return {
    transport: client,
    done,
    close: async () => {
      await peer.close();
      await done.catch(() => {});
    },
  };
}
