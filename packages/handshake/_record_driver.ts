/**
 * A minimal record-level driver of {@linkcode ClientHandshake} for tests: it frames, protects
 * and sequences records itself over any byte source, so a handshake can be recorded against a
 * real server and replayed from the recording without sockets.
 *
 * @module
 */

import {
  ContentType,
  encodeTlsRecord,
  NullProtector,
  type RecordProtector,
  TlsDeframer,
} from "@anchortls/record";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  type HandshakeInfo,
} from "./client_handshake.ts";

/** Where the driver's bytes go and come from. */
export interface BytePeer {
  write(bytes: Uint8Array): Promise<void>;
  /** The next bytes from the server, or `null` at its end. */
  read(): Promise<Uint8Array | null>;
}

/** Seeded xorshift32 bytes: the same seed gives the same ClientHello, premaster and IVs. */
export function seededRandom(seed: number): (length: number) => Uint8Array {
  let x = seed || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/**
 * Runs a handshake, sends `request` as application data, and reads application data until the
 * server's close_notify.
 *
 * @returns What the handshake negotiated and the application data received.
 */
export async function driveClient(
  config: ClientHandshakeConfig,
  now: number,
  peer: BytePeer,
  request: Uint8Array,
): Promise<{ info: HandshakeInfo; response: Uint8Array }> {
  const handshake = new ClientHandshake(config);
  let writer: RecordProtector = new NullProtector();
  let writeSequence = 0n;
  let reader: RecordProtector = new NullProtector();
  let readSequence = 0n;
  const deframer = new TlsDeframer({ versions: [0x0301, 0x0303] });
  let info: HandshakeInfo | undefined;

  const send = async (type: number, data: Uint8Array) => {
    const context = { type, version: 0x0303, sequence: writeSequence++ };
    const fragment = await writer.seal(context, data);
    await peer.write(encodeTlsRecord({ type, version: 0x0303, fragment }));
  };
  const apply = async (actions: Awaited<ReturnType<ClientHandshake["start"]>>) => {
    for (const action of actions) {
      if (action.kind === "send") await send(action.contentType, action.data);
      if (action.kind === "install_write") [writer, writeSequence] = [action.protector, 0n];
      if (action.kind === "install_read") [reader, readSequence] = [action.protector, 0n];
      if (action.kind === "complete") info = action.info;
    }
  };

  await apply(await handshake.start(now));
  const response: number[] = [];
  for (;;) {
    let record = deframer.next();
    while (!record) {
      const bytes = await peer.read();
      if (!bytes) throw new Error("server ended without close_notify");
      deframer.push(bytes);
      record = deframer.next();
    }
    const context = { type: record.type, version: record.version, sequence: readSequence++ };
    const content = await reader.open(context, record.fragment);
    if (record.type === ContentType.application_data) {
      response.push(...content);
    } else if (record.type === ContentType.alert) {
      if (content[1] === 0) break;
      throw new Error(`server sent alert ${content[0]}/${content[1]}`);
    } else {
      await apply(
        await handshake.handle({ type: record.type as 20 | 22, data: content, now }),
      );
      if (info && request.length > 0) {
        await send(ContentType.application_data, request);
        request = new Uint8Array(0);
      }
    }
  }
  await send(ContentType.alert, Uint8Array.of(1, 0));
  if (!info) throw new Error("no handshake");
  return { info, response: new Uint8Array(response) };
}
