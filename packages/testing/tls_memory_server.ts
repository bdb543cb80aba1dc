/**
 * An in-memory TLS 1.2 server for the sans-IO TLS client tests: the shared
 * {@linkcode ServerHandshake} under {@linkcode TlsServerRecords}, fed the bytes the client
 * core transmitted and answering with the bytes to hand back, so the core's rules run against
 * honest records without a socket.
 *
 * @module
 */

import { concatBytes, ContentType, TlsDeframer, type TlsRecord } from "@anchortls/record";
import { ServerHandshake, type ServerHandshakeOptions, splitMessages } from "./server_handshake.ts";
import { TlsServerRecords } from "./tls_records.ts";

/**
 * Cuts the records out of what a client transmitted.
 *
 * @param bytes The chunks, in order.
 * @returns The records.
 */
export function tlsRecords(bytes: readonly Uint8Array[]): TlsRecord[] {
  const deframer = new TlsDeframer();
  for (const b of bytes) deframer.push(b);
  const out: TlsRecord[] = [];
  for (let r = deframer.next(); r; r = deframer.next()) out.push(r);
  return out;
}

/** The server; hand it what the client sent, give the client what it returns. */
export class TlsTestServer {
  /** The handshake it runs. */
  readonly handshake: ServerHandshake;
  /** Its record layer. */
  readonly records: TlsServerRecords = new TlsServerRecords();

  /**
   * Makes the server.
   *
   * @param options Its handshake's options.
   */
  constructor(options: Omit<ServerHandshakeOptions, "dtls"> = {}) {
    this.handshake = new ServerHandshake(options);
  }

  /**
   * Answers the client's ClientHello record with the first flight in one record.
   *
   * @param clientBytes What the client transmitted.
   * @returns The record.
   */
  async hello(clientBytes: readonly Uint8Array[]): Promise<Uint8Array> {
    const [hello] = tlsRecords(clientBytes);
    if (hello?.type !== ContentType.handshake) throw new Error("expected a handshake record");
    const { messages } = await this.handshake.hello(splitMessages(hello.fragment)[0]!);
    return await this.records.seal(ContentType.handshake, concatBytes(messages));
  }

  /**
   * Takes the client's second flight (its messages, ChangeCipherSpec and Finished); answers
   * with ChangeCipherSpec and Finished, `afterFinished` following the Finished message in its
   * record.
   *
   * @param clientBytes What the client transmitted.
   * @param afterFinished Bytes to put after the Finished message.
   * @returns The records.
   */
  async finish(
    clientBytes: readonly Uint8Array[],
    afterFinished: Uint8Array = new Uint8Array(0),
  ): Promise<Uint8Array> {
    const [flight, ccs, finished, ...rest] = tlsRecords(clientBytes);
    if (
      flight?.type !== ContentType.handshake || ccs?.type !== ContentType.change_cipher_spec ||
      finished === undefined || rest.length > 0
    ) {
      throw new Error("expected the client's flight, ChangeCipherSpec and Finished");
    }
    for (const m of splitMessages(await this.records.open(flight))) {
      await this.handshake.clientMessage(m);
    }
    const keys = this.handshake.protectors();
    this.records.pendingClientProtector = keys.client;
    await this.records.open(ccs);
    await this.handshake.clientMessage(splitMessages(await this.records.open(finished))[0]!);
    const changeCipherSpec = await this.records.seal(
      ContentType.change_cipher_spec,
      Uint8Array.of(1),
    );
    this.records.changeWriteKeys(keys.server);
    return concatBytes([
      changeCipherSpec,
      await this.records.seal(
        ContentType.handshake,
        concatBytes([this.handshake.serverFinished(), afterFinished]),
      ),
    ]);
  }

  /**
   * Seals a record under the current server keys.
   *
   * @param type The ContentType.
   * @param data The plaintext.
   * @param version The header's version. @default {0x0303}
   * @returns The record.
   */
  seal(type: number, data: Uint8Array, version = 0x0303): Promise<Uint8Array> {
    return this.records.seal(type, data, version);
  }

  /**
   * Opens one of the client's records.
   *
   * @param record The record.
   * @returns Its plaintext.
   */
  open(record: TlsRecord): Promise<Uint8Array> {
    return this.records.open(record);
  }
}
