// deno-lint-ignore-file no-console
/**
 * `coap_get.ts coaps://HOST[:PORT]/PATH`: a CoAP GET (RFC 7252) over DTLS 1.2, the way IoT
 * devices use DTLS: a confirmable request with Uri-Path and Uri-Query options, retransmitted
 * until acknowledged, a piggybacked or separate response, and Block2 transfers followed to the
 * end. Prints the handshake summary, the response code, and the payload. `coap://` does the
 * same over plain UDP (no security), for comparing.
 *
 * ```sh
 * deno run -A examples/coap_get.ts --ca root.pem coaps://localhost:5684/
 * ```
 *
 * @module
 */

import { isIpLiteral } from "@anchortls/handshake";
import dgram from "node:dgram";
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
import {
  block2Of,
  coapCodeString,
  coapGetRequest,
  type CoapMessage,
  CoapOption,
  type CoapOptionValue,
  CoapType,
  coapUint,
  coapUintBytes,
  decodeCoapMessage,
  encodeCoapMessage,
} from "./coap.ts";

const USAGE = `usage: deno run -A examples/coap_get.ts [flags] coaps://HOST[:PORT]/PATH[?QUERY]

A confirmable CoAP GET over DTLS 1.2 (default port 5684); prints the handshake summary, the
response code and the payload. coap://HOST[:PORT]/PATH (port 5683) sends it over plain UDP.

flags:
${CLIENT_FLAGS_USAGE}`;

/** RFC 7252 §4.8: ACK_TIMEOUT 2 s, MAX_RETRANSMIT 4. */
const ACK_TIMEOUT_MS = 2000;
const MAX_RETRANSMIT = 4;
/** Stop following Block2 after this many bytes. */
const MAX_BODY = 1 << 20;

/** Datagrams to and from the server, over DTLS or plain UDP. */
interface MessageChannel {
  send(message: Uint8Array): Promise<void>;
  /** The next message, or undefined when `timeoutMs` passed first. */
  receive(timeoutMs: number): Promise<Uint8Array | undefined>;
}

/** What the URL names. */
interface CoapTarget {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly path: string[];
  readonly query: string[];
}

/**
 * Parses a `coap://` or `coaps://` URL into the host, port, Uri-Path and Uri-Query values
 * (percent-decoded, RFC 7252 §6.4).
 *
 * @param text The URL.
 * @returns The target.
 * @throws {UsageError} For anything else.
 */
export function parseCoapUrl(text: string): CoapTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: ${text}`);
  }
  if (url.protocol !== "coaps:" && url.protocol !== "coap:") {
    throw new UsageError(`not a coaps:// or coap:// URL: ${text}`);
  }
  if (!url.hostname) throw new UsageError(`no host in ${text}`);
  const secure = url.protocol === "coaps:";
  const decode = (part: string) => decodeURIComponent(part);
  return {
    secure,
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : secure ? 5684 : 5683,
    path: url.pathname.split("/").slice(1).filter((segment, i, all) =>
      segment !== "" || i < all.length - 1
    ).map(decode),
    query: url.search ? url.search.slice(1).split("&").map(decode) : [],
  };
}

/**
 * Sends a confirmable request and waits for its response: piggybacked on the ACK, or separate
 * after an empty ACK (then acknowledged in turn). Retransmits with a doubling timeout.
 */
async function exchange(
  channel: MessageChannel,
  request: CoapMessage,
  deadline: number,
): Promise<CoapMessage> {
  const bytes = encodeCoapMessage(request);
  const sameToken = (m: CoapMessage) =>
    m.token.length === request.token.length && m.token.every((b, i) => b === request.token[i]);
  let acknowledged = false;
  let retransmits = 0;
  let timeout = ACK_TIMEOUT_MS;
  await channel.send(bytes);
  let resendAt = Date.now() + timeout;
  for (;;) {
    const now = Date.now();
    if (now >= deadline) throw new Error("no CoAP response in time");
    const wait = acknowledged ? deadline - now : Math.min(resendAt, deadline) - now;
    const datagram = await channel.receive(wait);
    if (!datagram) {
      if (acknowledged || Date.now() >= deadline) continue;
      if (retransmits === MAX_RETRANSMIT) throw new Error("the server never acknowledged the GET");
      retransmits++;
      timeout *= 2;
      await channel.send(bytes);
      resendAt = Date.now() + timeout;
      continue;
    }
    const message = decodeCoapMessage(datagram);
    if (message.type === CoapType.reset && message.messageId === request.messageId) {
      throw new Error("the server reset the request (RST)");
    }
    if (message.type === CoapType.acknowledgement && message.messageId === request.messageId) {
      if (message.code === 0) {
        acknowledged = true;
        continue;
      }
      if (sameToken(message)) return message;
    }
    if (
      (message.type === CoapType.confirmable || message.type === CoapType.nonConfirmable) &&
      sameToken(message) && message.code !== 0
    ) {
      if (message.type === CoapType.confirmable) {
        await channel.send(encodeCoapMessage({
          type: CoapType.acknowledgement,
          code: 0,
          messageId: message.messageId,
          token: new Uint8Array(0),
          options: [],
          payload: new Uint8Array(0),
        }));
      }
      return message;
    }
  }
}

/** GETs the target, following Block2 to the end; returns the last response and the body. */
async function get(
  channel: MessageChannel,
  target: CoapTarget,
  deadline: number,
): Promise<{ response: CoapMessage; body: Uint8Array; blocks: number }> {
  const encoder = new TextEncoder();
  const base: CoapOptionValue[] = [
    ...(isIpLiteral(target.hostname)
      ? []
      : [{ number: CoapOption.uriHost, value: encoder.encode(target.hostname) }]),
    ...target.query.map((q) => ({ number: CoapOption.uriQuery, value: encoder.encode(q) })),
  ];
  let messageId = crypto.getRandomValues(new Uint16Array(1))[0]!;
  const parts: Uint8Array[] = [];
  let size = 0;
  let extra: readonly CoapOptionValue[] = base;
  for (let blocks = 1;; blocks++) {
    const token = crypto.getRandomValues(new Uint8Array(4));
    const response = await exchange(
      channel,
      coapGetRequest(target.path, messageId, token, extra),
      deadline,
    );
    messageId = (messageId + 1) & 0xffff;
    parts.push(response.payload);
    size += response.payload.length;
    const block = block2Of(response);
    if (!block?.more || response.code >> 5 !== 2) {
      const body = new Uint8Array(size);
      parts.reduce((at, p) => (body.set(p, at), at + p.length), 0);
      return { response, body, blocks };
    }
    if (size > MAX_BODY) throw new Error(`the body is over ${MAX_BODY} bytes`);
    extra = [
      ...base,
      { number: CoapOption.block2, value: coapUintBytes(((block.num + 1) << 4) | block.szx) },
    ];
  }
}

/** A DTLS connection as a message channel. */
function dtlsChannel(
  writable: WritableStream<Uint8Array>,
  readable: ReadableStream<Uint8Array>,
): MessageChannel & { release(): void } {
  const writer = writable.getWriter();
  const reader = readable.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  return {
    send: (message) => writer.write(message),
    async receive(timeoutMs) {
      pending ??= reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        pending,
        new Promise<undefined>((resolve) =>
          timer = setTimeout(() => resolve(undefined), timeoutMs)
        ),
      ]).finally(() => clearTimeout(timer));
      if (!result) return undefined;
      pending = undefined;
      if (result.done) throw new Error("the server closed the DTLS connection");
      return result.value;
    },
    release() {
      writer.releaseLock();
      if (!pending) reader.releaseLock();
    },
  };
}

/** A connected UDP socket as a message channel (plain coap://). */
async function udpChannel(
  hostname: string,
  port: number,
): Promise<MessageChannel & { close(): Promise<void> }> {
  const socket = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  socket.on("message", (message: Uint8Array) => {
    queue.push(new Uint8Array(message));
    wake?.();
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, hostname, () => resolve());
  });
  return {
    send: (message) =>
      new Promise<void>((resolve, reject) =>
        socket.send(message, (error) => error ? reject(error) : resolve())
      ),
    async receive(timeoutMs) {
      if (queue.length === 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, timeoutMs);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      return queue.shift();
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function printResponse(response: CoapMessage, body: Uint8Array, blocks: number): void {
  const format = response.options.find((o) => o.number === CoapOption.contentFormat);
  const details = [
    `${body.length} bytes`,
    ...(format ? [`content-format ${coapUint(format.value)}`] : []),
    ...(blocks > 1 ? [`${blocks} blocks`] : []),
  ];
  console.log(`\nresponse  ${coapCodeString(response.code)} (${details.join(", ")})`);
  console.log(new TextDecoder().decode(body));
}

async function main(args: string[]): Promise<void> {
  const commandLine = parseCommandLine(args, USAGE, "coaps:// URL");
  if (!commandLine) return;
  const { flags, argument } = commandLine;
  const target = parseCoapUrl(argument);
  const deadline = () => Date.now() + flags.timeoutMs;

  if (!target.secure) {
    const channel = await udpChannel(target.hostname, target.port);
    try {
      console.log(`CoAP over plain UDP with ${target.hostname}:${target.port} (no DTLS)`);
      const { response, body, blocks } = await get(channel, target, deadline());
      printResponse(response, body, blocks);
    } finally {
      await channel.close();
    }
    return;
  }

  const { caPem, provider } = await readClientFiles(flags);
  const serverName = flags.serverName ?? target.hostname;
  await withMeteredProvider(provider, async (meter) => {
    if (flags.verbose) {
      console.log(`DTLS handshake with ${target.hostname}:${target.port} (${serverName}):`);
    }
    const { connection, wire } = await openDtls({
      hostname: target.hostname,
      port: target.port,
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
        what: `DTLS handshake with ${target.hostname}:${target.port}`,
        title: `CoAP over DTLS 1.2 with ${target.hostname}:${target.port}`,
        serverName,
        wire,
        linkBytes: false,
      });
      await saveSession(flags.sessionFile, info, console.log);
      const channel = dtlsChannel(connection.writable, connection.readable);
      const { response, body, blocks } = await get(channel, target, deadline());
      channel.release();
      printResponse(response, body, blocks);
    } finally {
      await connection.close();
    }
  });
}

if (import.meta.main) await runMain("coap_get", () => main(Deno.args));
