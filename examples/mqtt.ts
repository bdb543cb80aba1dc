/**
 * The MQTT 3.1.1 packets `mqtt_publish.ts` speaks (OASIS MQTT Version 3.1.1, §2–§3): CONNECT,
 * CONNACK, SUBSCRIBE, SUBACK, PUBLISH, PUBACK and DISCONNECT, and a reader that cuts a byte
 * stream into packets. Small on purpose: an example of running a real protocol over the TLS
 * connection's streams, not an MQTT library.
 *
 * @module
 */

/** MQTT control packet types (§2.2.1). */
export const MqttType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  subscribe: 8,
  suback: 9,
  disconnect: 14,
} as const;

/** One packet: its type, the fixed header's flags and the rest. */
export interface MqttPacket {
  /** The control packet type. */
  readonly type: number;
  /** The low four bits of the fixed header. */
  readonly flags: number;
  /** Variable header and payload. */
  readonly body: Uint8Array;
}

const encoder = new TextEncoder();

function utf8(text: string): number[] {
  const bytes = encoder.encode(text);
  if (bytes.length > 0xffff) throw new RangeError("MQTT strings are at most 65535 bytes");
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** A packet with its fixed header and remaining length (§2.2.3). */
function packet(type: number, flags: number, body: readonly number[]): Uint8Array {
  const length: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Uint8Array.from([(type << 4) | flags, ...length, ...body]);
}

/**
 * CONNECT (§3.1) with a clean session and a keep-alive.
 *
 * @param clientId The client identifier.
 * @param keepAliveSeconds The keep-alive.
 * @returns The packet.
 */
export function mqttConnect(clientId: string, keepAliveSeconds = 60): Uint8Array {
  return packet(MqttType.connect, 0, [
    ...utf8("MQTT"),
    4, // protocol level 3.1.1
    0x02, // clean session
    keepAliveSeconds >> 8,
    keepAliveSeconds & 0xff,
    ...utf8(clientId),
  ]);
}

/**
 * SUBSCRIBE (§3.8) to one topic filter.
 *
 * @param packetId The packet identifier.
 * @param topic The topic filter.
 * @param qos The maximum QoS.
 * @returns The packet.
 */
export function mqttSubscribe(packetId: number, topic: string, qos: 0 | 1): Uint8Array {
  return packet(MqttType.subscribe, 0x2, [packetId >> 8, packetId & 0xff, ...utf8(topic), qos]);
}

/**
 * PUBLISH (§3.3).
 *
 * @param topic The topic.
 * @param payload The application message.
 * @param options QoS, retain, and the packet identifier a QoS 1 message needs.
 * @returns The packet.
 */
export function mqttPublish(
  topic: string,
  payload: Uint8Array,
  options: { qos: 0 | 1; retain: boolean; packetId?: number },
): Uint8Array {
  const id = options.qos > 0 ? [options.packetId! >> 8, options.packetId! & 0xff] : [];
  return packet(MqttType.publish, (options.qos << 1) | (options.retain ? 1 : 0), [
    ...utf8(topic),
    ...id,
    ...payload,
  ]);
}

/**
 * PUBACK (§3.4).
 *
 * @param packetId The acknowledged packet identifier.
 * @returns The packet.
 */
export function mqttPuback(packetId: number): Uint8Array {
  return packet(MqttType.puback, 0, [packetId >> 8, packetId & 0xff]);
}

/** DISCONNECT (§3.14). */
export const MQTT_DISCONNECT: Uint8Array = packet(MqttType.disconnect, 0, []);

/** A received PUBLISH, decoded. */
export interface MqttMessage {
  /** The topic. */
  readonly topic: string;
  /** The QoS. */
  readonly qos: number;
  /** Whether it is a retained message. */
  readonly retain: boolean;
  /** The packet identifier (QoS 1 and 2). */
  readonly packetId: number | undefined;
  /** The application message. */
  readonly payload: Uint8Array;
}

/**
 * Decodes a PUBLISH packet's body.
 *
 * @param p The packet.
 * @returns The message.
 * @throws {Error} For a truncated packet.
 */
export function decodeMqttPublish(p: MqttPacket): MqttMessage {
  const qos = (p.flags >> 1) & 3;
  const topicLength = (p.body[0]! << 8) | p.body[1]!;
  let at = 2 + topicLength;
  const packetId = qos > 0 ? (p.body[at]! << 8) | p.body[at + 1]! : undefined;
  if (qos > 0) at += 2;
  if (at > p.body.length) throw new Error("truncated PUBLISH");
  return {
    topic: new TextDecoder().decode(p.body.subarray(2, 2 + topicLength)),
    qos,
    retain: (p.flags & 1) === 1,
    packetId,
    payload: p.body.slice(at),
  };
}

/**
 * Reads whole packets from a byte stream.
 *
 * @param readable The connection's readable side.
 * @returns A function giving the next packet, or `undefined` at the end of the stream.
 */
export function mqttPacketReader(
  readable: ReadableStream<Uint8Array>,
): () => Promise<MqttPacket | undefined> {
  const reader = readable.getReader();
  let buffered = new Uint8Array(0);
  const fill = async (): Promise<boolean> => {
    const { value, done } = await reader.read();
    if (done) return false;
    const next = new Uint8Array(buffered.length + value.length);
    next.set(buffered);
    next.set(value, buffered.length);
    buffered = next;
    return true;
  };
  return async () => {
    for (;;) {
      // Fixed header: type and flags, then up to four bytes of remaining length.
      let length = 0;
      let multiplier = 1;
      let at = 1;
      let complete = false;
      while (at < buffered.length && at <= 4) {
        const byte = buffered[at++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete && at > 4) throw new Error("malformed MQTT remaining length");
      if (complete && buffered.length >= at + length) {
        const first = buffered[0]!;
        const body = buffered.slice(at, at + length);
        buffered = buffered.slice(at + length);
        return { type: first >> 4, flags: first & 0xf, body };
      }
      if (!(await fill())) {
        if (buffered.length > 0) throw new Error("the connection ended inside an MQTT packet");
        return undefined;
      }
    }
  };
}

/**
 * A device's round trip with its broker over an open connection: CONNECT, SUBSCRIBE to `topic`
 * (QoS 1), PUBLISH `message` retained with QoS 1 until its PUBACK, the message back through
 * the subscription, DISCONNECT.
 *
 * @param connection The connection's streams (a TLS connection).
 * @param topic The topic.
 * @param message The application message.
 * @param say Receives one line per step.
 * @throws {Error} When the broker refuses a step or closes the connection.
 */
export async function mqttRoundTrip(
  connection: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  topic: string,
  message: Uint8Array,
  say: (line: string) => void,
): Promise<void> {
  const writer = connection.writable.getWriter();
  const next = mqttPacketReader(connection.readable);
  const expect = async (type: number, what: string) => {
    const packet = await next();
    if (!packet) throw new Error(`the broker closed the connection instead of sending ${what}`);
    if (packet.type !== type) {
      throw new Error(`expected ${what}, the broker sent packet type ${packet.type}`);
    }
    return packet;
  };
  try {
    const clientId = `anchortls-${crypto.randomUUID().slice(0, 8)}`;
    await writer.write(mqttConnect(clientId));
    const connack = await expect(MqttType.connack, "CONNACK");
    if (connack.body[1] !== 0) throw new Error(`CONNACK refused: return code ${connack.body[1]}`);
    say(`connected as ${clientId}`);

    await writer.write(mqttSubscribe(1, topic, 1));
    const suback = await expect(MqttType.suback, "SUBACK");
    if (suback.body[2] === 0x80) throw new Error(`SUBSCRIBE to "${topic}" refused`);
    say(`subscribed to ${topic} (QoS ${suback.body[2]})`);

    await writer.write(mqttPublish(topic, message, { qos: 1, retain: true, packetId: 2 }));
    // The PUBACK and our own message (from the subscription) may come in either order, and a
    // retained message from an earlier run may come first.
    let acknowledged = false;
    let echoed = false;
    while (!acknowledged || !echoed) {
      const packet = await next();
      if (!packet) throw new Error("the broker closed the connection");
      if (packet.type === MqttType.puback && ((packet.body[0]! << 8) | packet.body[1]!) === 2) {
        acknowledged = true;
        say("published (retained, QoS 1): PUBACK received");
      } else if (packet.type === MqttType.publish) {
        const received = decodeMqttPublish(packet);
        if (received.packetId !== undefined) await writer.write(mqttPuback(received.packetId));
        const same = received.payload.length === message.length &&
          received.payload.every((b, i) => b === message[i]);
        if (received.topic === topic && same && !received.retain) {
          echoed = true;
          say(`received on ${received.topic}: ${new TextDecoder().decode(received.payload)}`);
        }
      }
    }
    await writer.write(MQTT_DISCONNECT);
  } finally {
    writer.releaseLock();
  }
}
