/**
 * Opens a TLS connection the way `connectTls` does, but over a transport the examples can
 * watch: the bytes each way are counted and, on request, the library's trace hook describes
 * each handshake message and the key log goes to `SSLKEYLOGFILE`.
 *
 * @module
 */

import { type TlsConnection } from "@anchortls/client";
import { startTls } from "@anchortls/client/advanced";
import {
  type CryptoProvider,
  describeTrace,
  type HandshakeTrace,
  type PskCredentials,
  type TlsSession,
} from "@anchortls/handshake";
import type { CipherSuite } from "@anchortls/record";
import { type Certificate, parseCertificate, parsePem } from "@anchortls/x509";
import { observeTransport, type WireCounters } from "./_trace.ts";

/** Whom to connect to and how to negotiate: what {@linkcode openTls} and `openDtls` share. */
export interface ConnectTarget {
  /** Host to connect to. */
  readonly hostname: string;
  /** TCP or UDP port. */
  readonly port: number;
  /** The name sent as SNI and checked in the certificate. */
  readonly serverName: string;
  /** Trusted roots, PEM text. */
  readonly caPem: string;
  /** Where the secrets live. */
  readonly provider: CryptoProvider;
  /** Suites to offer, when not all four. */
  readonly suites?: readonly CipherSuite[] | undefined;
  /** Offer Encrypt-then-MAC. */
  readonly encryptThenMac: boolean;
  /** Offer session tickets. @default {true} */
  readonly sessionTickets?: boolean | undefined;
  /** A session to resume, when one was saved. */
  readonly session?: TlsSession | undefined;
  /** A pre-shared key, when given. */
  readonly psk?: PskCredentials | undefined;
  /** ALPN protocols to offer, when any. */
  readonly alpnProtocols?: readonly string[] | undefined;
  /** record_size_limit to offer, when given. */
  readonly recordSizeLimit?: number | undefined;
  /** max_fragment_length to offer, when given. */
  readonly maxFragmentLength?: 512 | 1024 | 2048 | 4096 | undefined;
  /** TLS: most bytes per socket read. @default {32768} */
  readonly readBufferSize?: number | undefined;
  /** Receives one line per handshake message (from `onHandshakeMessage`), when given. */
  readonly trace?: ((line: string) => void) | undefined;
  /** Receives the NSS key log lines, when given. */
  readonly keyLog?: ((line: string) => void) | undefined;
}

/**
 * The trace hook and key log for `startTls`/`startDtls`, from a target's options.
 *
 * @param target The target.
 * @returns `onHandshakeMessage` printing each item as one line, and `keyLog`, where asked for.
 */
export function observability(target: ConnectTarget): {
  onHandshakeMessage?: (message: HandshakeTrace) => void;
  keyLog?: (line: string) => void;
} {
  const { trace, keyLog } = target;
  return {
    ...(trace ? { onHandshakeMessage: (m: HandshakeTrace) => trace(describeTrace(m)) } : {}),
    ...(keyLog ? { keyLog } : {}),
  };
}

/**
 * The resumption and pre-shared-key options for `startTls`/`startDtls`, from a target's
 * options.
 *
 * @param target The target.
 * @returns `session`, `sessionTickets`, `psk` and the record limits, where given.
 */
export function resumption(
  target: ConnectTarget,
): {
  session?: TlsSession;
  sessionTickets?: boolean;
  psk?: PskCredentials;
  recordSizeLimit?: number;
  maxFragmentLength?: 512 | 1024 | 2048 | 4096;
} {
  return {
    ...(target.session ? { session: target.session } : {}),
    ...(target.sessionTickets !== undefined ? { sessionTickets: target.sessionTickets } : {}),
    ...(target.psk ? { psk: target.psk } : {}),
    ...(target.recordSizeLimit !== undefined ? { recordSizeLimit: target.recordSizeLimit } : {}),
    ...(target.maxFragmentLength !== undefined
      ? { maxFragmentLength: target.maxFragmentLength }
      : {}),
  };
}

/** What {@linkcode openTls} needs. */
export interface OpenTlsOptions extends ConnectTarget {
  /** Cancels connecting and the handshake. */
  readonly signal?: AbortSignal;
}

/** An open connection and its byte counters. */
export interface ObservedTls {
  /** The connection; await `connection.handshake`. */
  readonly connection: TlsConnection;
  /** Bytes each way on the TCP connection so far. */
  readonly wire: WireCounters;
}

/** The host could not be reached: one line for the user. */
export class ConnectError extends Error {
  /**
   * Makes the error.
   *
   * @param message Where and why.
   * @param options The socket error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectError";
  }
}

/**
 * Parses the trusted roots.
 *
 * @param pem PEM text with one or more certificates.
 * @param psk The pre-shared key, with which none is needed.
 * @returns The certificates.
 * @throws {TypeError} When there is none and no PSK.
 */
export function parseRoots(pem: string, psk?: PskCredentials): Certificate[] {
  const roots = parsePem(pem).map((der) => parseCertificate(der));
  // A PSK authenticates the server without any certificate.
  if (roots.length === 0 && !psk) throw new TypeError("the CA file holds no certificate");
  return roots;
}

/**
 * Connects over TCP and starts the TLS handshake.
 *
 * @param options Where, whom to trust, and how to negotiate.
 * @returns The connection and its counters.
 * @throws {ConnectError} When the TCP connection cannot be made.
 */
export async function openTls(options: OpenTlsOptions): Promise<ObservedTls> {
  const trustAnchors = parseRoots(options.caPem, options.psk);
  let tcp: Deno.TcpConn;
  const connecting = Deno.connect({ hostname: options.hostname, port: options.port });
  try {
    tcp = await abortable(connecting, options.signal);
  } catch (error) {
    connecting.then((conn) => conn.close(), () => {});
    const reason = error instanceof Error ? error.message.replace(/ \(os error \d+\)$/, "") : "";
    throw new ConnectError(`cannot connect to ${options.hostname}:${options.port}: ${reason}`, {
      cause: error,
    });
  }
  tcp.setNoDelay(true);
  const wire: WireCounters = { sent: 0, received: 0 };
  const transport = observeTransport(
    {
      // conn.read/write rather than conn.readable/writable: cancelling those closes the socket
      // before a final alert could go out (the same choice connectTls makes).
      readable: new ReadableStream<Uint8Array>({
        async pull(controller) {
          const buffer = new Uint8Array(options.readBufferSize ?? 32 * 1024);
          const n = await tcp.read(buffer).catch(() => null);
          if (n === null) controller.close();
          else controller.enqueue(buffer.subarray(0, n));
        },
      }),
      writable: new WritableStream<Uint8Array>({
        async write(chunk) {
          for (let at = 0; at < chunk.length;) at += await tcp.write(chunk.subarray(at));
        },
      }),
      closeWrite: () => tcp.closeWrite(),
      close: () => tcp.close(),
    },
    wire,
  );
  const connection = startTls(transport, {
    provider: options.provider,
    trustAnchors,
    serverName: options.serverName,
    encryptThenMac: options.encryptThenMac,
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.alpnProtocols ? { alpnProtocols: options.alpnProtocols } : {}),
    ...resumption(options),
    ...observability(options),
  });
  return { connection, wire };
}

/** Waits for the TCP connection, or rejects when the signal fires first. */
async function abortable(
  connecting: Promise<Deno.TcpConn>,
  signal: AbortSignal | undefined,
): Promise<Deno.TcpConn> {
  if (!signal) return await connecting;
  signal.throwIfAborted();
  const aborted = Promise.withResolvers<never>();
  const onAbort = () => aborted.reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([connecting, aborted.promise]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
