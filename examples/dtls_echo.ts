// deno-lint-ignore-file no-console
/**
 * `dtls_echo.ts HOST:PORT`: sends each line of stdin as one DTLS 1.2 message and prints what
 * comes back, e.g. from `gnutls-serv -u --echo`. The handshake summary comes first; the same
 * flags as `https_get.ts` choose trust, provider, suite and EtM.
 *
 * ```sh
 * printf 'hello\nworld\n' | deno run -A examples/dtls_echo.ts --ca root.pem localhost:5684
 * ```
 *
 * @module
 */

import {
  CLIENT_FLAGS_USAGE,
  negotiationOptions,
  parseCommandLine,
  readClientFiles,
  runMain,
  UsageError,
} from "./_args.ts";
import { openDtls } from "./_dtls.ts";
import { loadSession, saveSession } from "./_session.ts";
import { withMeteredProvider } from "./_provider.ts";
import { reportHandshake } from "./_report.ts";

const USAGE = `usage: deno run -A examples/dtls_echo.ts [flags] HOST:PORT

Sends each line of stdin as one DTLS 1.2 message and prints each answer (an echo server such
as gnutls-serv -u --echo sends the line back). One datagram each way per line.

flags:
${CLIENT_FLAGS_USAGE}`;

/**
 * Splits `HOST:PORT` (IPv6 in brackets: `[::1]:5684`).
 *
 * @param text The argument.
 * @returns Host and port.
 * @throws {UsageError} When it is not HOST:PORT.
 */
export function parseHostPort(text: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const hostname = match?.[1] ?? match?.[2];
  if (!hostname || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`expected HOST:PORT, not "${text}"`);
  }
  return { hostname, port };
}

async function* stdinLines(): AsyncGenerator<string> {
  let pending = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    yield* lines;
  }
  if (pending) yield pending;
}

async function main(args: string[]): Promise<void> {
  const commandLine = parseCommandLine(args, USAGE, "HOST:PORT");
  if (!commandLine) return;
  const { flags, argument } = commandLine;
  const { hostname, port } = parseHostPort(argument);
  const { caPem, provider } = await readClientFiles(flags);
  const serverName = flags.serverName ?? hostname;

  await withMeteredProvider(provider, async (meter) => {
    if (flags.verbose) console.log(`DTLS handshake with ${hostname}:${port} (${serverName}):`);
    const { connection, wire } = await openDtls({
      hostname,
      port,
      serverName,
      caPem,
      provider: meter.provider,
      ...negotiationOptions(flags),
      session: await loadSession(flags.sessionFile, meter.provider, console.log),
      handshakeTimeoutMs: flags.timeoutMs,
      connectionId: flags.connectionId,
    });
    try {
      const info = await reportHandshake(connection.handshake, meter, {
        what: `DTLS handshake with ${hostname}:${port}`,
        title: `DTLS 1.2 with ${hostname}:${port}`,
        serverName,
        wire,
        linkBytes: false,
      });
      await saveSession(flags.sessionFile, info, console.log);
      console.log("");

      const writer = connection.writable.getWriter();
      const reader = connection.readable.getReader();
      const encoder = new TextEncoder();
      const decoder = new TextDecoder();
      let echoed = 0;
      for await (const line of stdinLines()) {
        await writer.write(encoder.encode(line));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const answer = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) =>
            timer = setTimeout(
              () =>
                reject(
                  new Error(`no answer to line ${echoed + 1} within ${flags.timeoutMs / 1000} s`),
                ),
              flags.timeoutMs,
            )
          ),
        ]).finally(() => clearTimeout(timer));
        if (answer.done) throw new Error("the server closed the connection");
        console.log(decoder.decode(answer.value).replace(/\n$/, ""));
        echoed++;
      }
      writer.releaseLock();
      reader.releaseLock();
      const stats = connection.stats;
      console.log(
        `\n${echoed} line${echoed === 1 ? "" : "s"} echoed; ${stats.datagramsSent} datagrams ` +
          `sent, ${stats.datagramsReceived} received, ${stats.retransmissions} retransmissions`,
      );
    } finally {
      await connection.close();
    }
  });
}

if (import.meta.main) await runMain("dtls_echo", () => main(Deno.args));
