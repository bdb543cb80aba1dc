/**
 * The Node.js glue the client README documents: a TLS connection as a Node `Duplex`
 * (`Duplex.fromWeb`) for `node:http`'s `createConnection` against openssl s_server, and for
 * mqtt.js against mosquitto (CONNECT, SUBSCRIBE, PUBLISH QoS 1 and its PUBACK, the message
 * coming back).
 */

import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import http from "node:http";
import mqtt from "mqtt";
import { fixedPki, fixedPkiTarget, startMosquitto, startOpenSslServer } from "@anchortls/testing";
import type { ReadableWritablePair } from "node:stream/web";
import { connectTls, type TlsConnection } from "../mod.ts";

/**
 * The connection as a Node stream, as the README shows. The cast only bridges the DOM and
 * `node:stream/web` typings of the same Web Streams.
 */
function nodeStream(tls: TlsConnection): Duplex {
  return Duplex.fromWeb(tls as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
}

Deno.test("Node glue: node:http over Duplex.fromWeb(tls) with createConnection", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki, mode: "www" });
  const tls = await connectTls(await fixedPkiTarget(server.port));
  await tls.handshake;
  const socket = nodeStream(tls);
  const { status, body } = await new Promise<{ status: number; body: string }>(
    (resolve, reject) => {
      const request = http.request({
        host: "localhost",
        path: "/",
        createConnection: () => socket,
      }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => body += chunk);
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        response.on("error", reject);
      });
      request.on("error", reject);
      request.end();
    },
  );
  assert.equal(status, 200);
  assert.match(body, /Cipher is AES128-SHA256/);
  socket.destroy();
  await tls.close();
});

Deno.test("Node glue: mqtt.js over Duplex.fromWeb(tls) to mosquitto, QoS 1 publish acknowledged", async () => {
  await using broker = await startMosquitto({ pki: fixedPki });
  const tls = await connectTls({ ...await fixedPkiTarget(broker.port), alpnProtocols: ["mqtt"] });
  await tls.handshake;
  const client = new mqtt.MqttClient(() => nodeStream(tls), {
    protocolVersion: 4,
    clientId: "anchortls-node-glue",
    reconnectPeriod: 0,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    await client.subscribeAsync("anchortls/glue", { qos: 1 });
    const received = new Promise<string>((resolve) =>
      client.once("message", (_topic, payload) => resolve(new TextDecoder().decode(payload)))
    );
    const acks: number[] = [];
    client.on("packetreceive", (packet) => {
      if (packet.cmd === "puback") acks.push(packet.messageId!);
    });
    // mqtt.js settles a QoS 1 publish with the packet it sent, once its PUBACK came.
    const sent = await client.publishAsync("anchortls/glue", "hello over TLS", { qos: 1 });
    assert.ok(sent?.cmd === "publish" && sent.messageId !== undefined);
    assert.deepEqual(acks, [sent.messageId]);
    assert.equal(await received, "hello over TLS");
  } finally {
    await client.endAsync();
    await tls.close();
  }
});
