// deno-lint-ignore-file no-console
/**
 * `mqtt_publish.ts mqtts://HOST[:PORT]/TOPIC [MESSAGE]`: MQTT 3.1.1 over anchortls TLS 1.2, as
 * a device talks to its broker: CONNECT, SUBSCRIBE to the topic (QoS 1), PUBLISH the message
 * retained with QoS 1 and wait for its PUBACK, then see it come back through the
 * subscription, and DISCONNECT. With `--cert/--key` (or a chip that holds them) the broker
 * authenticates the device by its certificate.
 *
 * ```sh
 * deno run -A examples/mqtt_publish.ts --ca root.pem --cert device.pem --key device.key \
 *   mqtts://localhost:8883/devices/17/state "online"
 * ```
 *
 * @module
 */

import {
  CLIENT_FLAGS_USAGE,
  negotiationOptions,
  parseClientArgs,
  readClientFiles,
  runMain,
  UsageError,
} from "./_args.ts";
import { withMeteredProvider } from "./_provider.ts";
import { reportHandshake } from "./_report.ts";
import { loadSession, saveSession } from "./_session.ts";
import { openTls } from "./_tls.ts";
import { mqttRoundTrip } from "./mqtt.ts";

const USAGE =
  `usage: deno run -A examples/mqtt_publish.ts [flags] mqtts://HOST[:PORT]/TOPIC [MESSAGE]

MQTT 3.1.1 over anchortls TLS 1.2 (default port 8883, ALPN "mqtt"): CONNECT, SUBSCRIBE to TOPIC
(QoS 1), PUBLISH MESSAGE (default "hello from anchortls") retained with QoS 1 and wait for its
PUBACK, receive it back through the subscription, DISCONNECT.

flags:
${CLIENT_FLAGS_USAGE}`;

async function main(args: string[]): Promise<void> {
  const { flags, positionals } = parseClientArgs(args);
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError("expected mqtts://HOST[:PORT]/TOPIC and an optional MESSAGE (see --help)");
  }
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    throw new UsageError(`not a URL: ${positionals[0]}`);
  }
  if (url.protocol !== "mqtts:") throw new UsageError(`not an mqtts:// URL: ${url.href}`);
  const topic = decodeURIComponent(url.pathname.slice(1));
  if (topic === "" || /[#+]/.test(topic)) {
    throw new UsageError("the URL's path is the topic to publish to, without wildcards");
  }
  const message = new TextEncoder().encode(positionals[1] ?? "hello from anchortls");
  const { caPem, provider } = await readClientFiles(flags);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : 8883;
  const serverName = flags.serverName ?? hostname;

  await withMeteredProvider(provider, async (meter) => {
    if (flags.verbose) console.log(`handshake with ${hostname}:${port} (${serverName}):`);
    const { connection, wire } = await openTls({
      hostname,
      port,
      serverName,
      caPem,
      provider: meter.provider,
      alpnProtocols: ["mqtt"],
      ...negotiationOptions(flags),
      session: await loadSession(flags.sessionFile, meter.provider, console.log),
      signal: AbortSignal.timeout(flags.timeoutMs),
    });
    try {
      const info = await reportHandshake(connection.handshake, meter, {
        what: `TLS handshake with ${hostname}:${port}`,
        title: `MQTT over TLS 1.2 with ${hostname}:${port}`,
        serverName,
        wire,
        linkBytes: true,
      });
      await saveSession(flags.sessionFile, info, console.log);
      console.log("");
      await mqttRoundTrip(connection, topic, message, (line) => console.log(`mqtt      ${line}`));
    } finally {
      await connection.close();
    }
  });
}

if (import.meta.main) await runMain("mqtt_publish", () => main(Deno.args));
