// deno-lint-ignore-file no-console
/**
 * `https_get.ts URL`: an HTTP GET over anchortls TLS 1.2. Prints the handshake summary (suite,
 * EtM, EMS, the verified chain, where each operation ran), the status line, the headers and
 * the body. The secrets can live in a MULTOS Trust Anchor: `--trust-anchor emulator` (in
 * process), a serial device path, or `tcp:HOST:PORT`.
 *
 * ```sh
 * deno run -A examples/https_get.ts --ca root.pem https://localhost:4433/
 * deno run -A examples/https_get.ts --ca root.pem --trust-anchor emulator --policy full \
 *   --cert client.pem --key client.key --verbose https://localhost:4433/
 * ```
 *
 * @module
 */

import { TruncationError } from "@anchortls/client";
import {
  CLIENT_FLAGS_USAGE,
  negotiationOptions,
  parseCommandLine,
  readClientFiles,
  runMain,
  UsageError,
} from "./_args.ts";
import { withMeteredProvider } from "./_provider.ts";
import { reportHandshake } from "./_report.ts";
import { loadSession, saveSession } from "./_session.ts";
import { openTls } from "./_tls.ts";

const USAGE = `usage: deno run -A examples/https_get.ts [flags] https://HOST[:PORT]/PATH

GET over anchortls TLS 1.2 (RSA key exchange, AES-CBC); prints the handshake summary, the
status line, the headers and the body.

flags:
${CLIENT_FLAGS_USAGE}`;

/**
 * Reads an HTTP response until the server closes. A close without close_notify after some
 * data is taken as the end (many servers do that after `Connection: close`).
 */
async function readAll(readable: ReadableStream<Uint8Array>): Promise<{
  bytes: Uint8Array;
  truncated: boolean;
}> {
  const parts: Uint8Array[] = [];
  let truncated = false;
  try {
    for await (const chunk of readable) parts.push(chunk);
  } catch (error) {
    if (!(error instanceof TruncationError) || parts.length === 0) throw error;
    truncated = true;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  return { bytes, truncated };
}

async function main(args: string[]): Promise<void> {
  const commandLine = parseCommandLine(args, USAGE, "https:// URL");
  if (!commandLine) return;
  const { flags, argument } = commandLine;
  let url: URL;
  try {
    url = new URL(argument);
  } catch {
    throw new UsageError(`not a URL: ${argument}`);
  }
  if (url.protocol !== "https:") throw new UsageError(`not an https:// URL: ${url.href}`);
  const { caPem, provider } = await readClientFiles(flags);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : 443;
  const serverName = flags.serverName ?? hostname;

  await withMeteredProvider(provider, async (meter) => {
    if (flags.verbose) console.log(`handshake with ${hostname}:${port} (${serverName}):`);
    const { connection, wire } = await openTls({
      hostname,
      port,
      serverName,
      caPem,
      provider: meter.provider,
      ...negotiationOptions(flags),
      session: await loadSession(flags.sessionFile, meter.provider, console.log),
      signal: AbortSignal.timeout(flags.timeoutMs),
    });
    try {
      const info = await reportHandshake(connection.handshake, meter, {
        what: `TLS handshake with ${hostname}:${port}`,
        title: `TLS 1.2 with ${hostname}:${port}`,
        serverName,
        wire,
        linkBytes: true,
      });
      await saveSession(flags.sessionFile, info, console.log);

      const writer = connection.writable.getWriter();
      const target = url.pathname + url.search;
      await writer.write(
        new TextEncoder().encode(
          `GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: anchortls-example\r\n` +
            "Accept: */*\r\nConnection: close\r\n\r\n",
        ),
      );
      writer.releaseLock();
      const { bytes, truncated } = await readAll(connection.readable);
      const text = new TextDecoder().decode(bytes);
      const headerEnd = text.indexOf("\r\n\r\n");
      const head = headerEnd < 0 ? text : text.slice(0, headerEnd);
      const [statusLine = "", ...headers] = head.split("\r\n");
      if (!/^HTTP\/\d(\.\d)? \d{3}/.test(statusLine)) {
        throw new Error(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 60))}`);
      }
      console.log(`\nstatus    ${statusLine}`);
      for (const header of headers) console.log(`header    ${header}`);
      console.log("");
      if (headerEnd >= 0) console.log(text.slice(headerEnd + 4));
      if (truncated) console.log("(the server closed without close_notify)");
    } finally {
      await connection.close();
    }
  });
}

if (import.meta.main) await runMain("https_get", () => main(Deno.args));
