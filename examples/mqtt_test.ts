/**
 * `mqtt_publish.ts` against mosquitto (issue 19): a broker that requires client certificates,
 * started on a free port with a generated PKI; the example connects, subscribes, publishes a
 * retained QoS 1 message and sees its PUBACK and the message back, in each policy — software,
 * hybrid and full with the device key in the emulated chip — and `mosquitto_sub`, a client the
 * broker's users run, then reads the retained message.
 */

import assert from "node:assert/strict";
import { commandAvailable, createTestPki, startMosquitto, type TestPki } from "@anchortls/testing";
import { runExample } from "./_run_example.ts";

const haveMosquitto = await commandAvailable("mosquitto", ["-h"]) &&
  await commandAvailable("mosquitto_sub", ["--help"]);

async function withBroker(pki: TestPki, use: (port: number) => Promise<void>): Promise<void> {
  await using broker = await startMosquitto({ pki, requireCertificate: true });
  await use(broker.port);
}

/** What mosquitto_sub, with the client certificate, reads as the topic's retained message. */
async function retained(pki: TestPki, port: number, topic: string): Promise<string> {
  const out = await new Deno.Command("mosquitto_sub", {
    args: [
      ...["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-C", "1", "-W", "5"],
      ...["--cafile", pki.root, "--cert", pki.client, "--key", pki.clientKey],
      // The broker's certificate names localhost; mosquitto_sub connects by address.
      "--insecure",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "mqtt_publish: mosquitto with client certificates, in software, hybrid and full",
  ignore: !haveMosquitto,
  async fn(t) {
    await using pki = await createTestPki();
    await withBroker(pki, async (port) => {
      const identity = ["--ca", pki.root, "--cert", pki.clientChain, "--key", pki.clientKey];
      for (
        const [policy, extra] of [
          ["software", []],
          ["hybrid", ["--trust-anchor", "emulator", "--policy", "hybrid"]],
          ["full", ["--trust-anchor", "emulator", "--policy", "full"]],
        ] as const
      ) {
        await t.step(policy, async () => {
          const topic = `anchortls/test/${policy}`;
          const message = `state from the ${policy} policy`;
          const outcome = await runExample("mqtt_publish", [
            ...identity,
            ...extra,
            `mqtts://localhost:${port}/${topic}`,
            message,
          ]);
          assert.equal(outcome.code, 0, outcome.stderr);
          assert.match(outcome.stdout, /client cert yes/);
          assert.match(outcome.stdout, /mqtt {6}subscribed to .* \(QoS 1\)/);
          assert.match(outcome.stdout, /published \(retained, QoS 1\): PUBACK received/);
          assert.match(outcome.stdout, new RegExp(`received on ${topic}: ${message}`));
          if (policy === "full") assert.match(outcome.stdout, /on chip .*CertificateVerify/);
          assert.equal(await retained(pki, port, topic), message);
        });
      }
      await t.step("without a client certificate the broker refuses", async () => {
        const outcome = await runExample("mqtt_publish", [
          "--ca",
          pki.root,
          `mqtts://localhost:${port}/anchortls/test/anonymous`,
        ]);
        assert.equal(outcome.code, 1);
        assert.match(outcome.stderr, /^mqtt_publish: /);
      });
    });
  },
});
