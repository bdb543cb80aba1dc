/**
 * `connectTls`: a TLS 1.2 client connection over TCP, in the spirit of `Deno.connectTls`.
 *
 * @module
 */

import { chooseSession, resolveSharedOptions } from "./_options.ts";
import type { CommonConnectOptions } from "./connect_options.ts";
import { type ByteTransport, startTls, type TlsConnection } from "./tls_connection.ts";

/** Options for {@linkcode connectTls}. */
export interface ConnectTlsOptions extends CommonConnectOptions {
  /** TCP port. */
  readonly port: number;
  /** Cancels the connection attempt and the handshake. */
  readonly signal?: AbortSignal;
  /**
   * How long the handshake may take before it fails with `HandshakeTimeoutError` (no alert is
   * sent); `Infinity` waits for ever. @default {60000}
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * Most bytes asked of the socket per read. Reads start at 2 KiB and grow, doubling while
   * they come back full, up to this, and shrink again when they come back small, so an idle
   * connection waits with a small buffer and a bulk transfer reads two whole records at once.
   * A smaller cap bounds what one connection holds while it reads. @default {36906: two
   * records of 2^14 plaintext bytes at most expansion}
   */
  readonly readBufferSize?: number;
}

/**
 * Opens a TCP connection and runs a TLS 1.2 handshake over it.
 *
 * The returned connection is usable at once: writes wait for the handshake. Await
 * `handshake` to learn what was negotiated or why it failed.
 *
 * @example Fetching a page from a local `openssl s_server -www`
 * ```ts ignore
 * import { connectTls } from "@anchortls/client";
 * const tls = await connectTls({
 *   hostname: "127.0.0.1",
 *   port: 4433,
 *   serverName: "localhost",
 *   caCerts: [await Deno.readTextFile("root.pem")],
 * });
 * const info = await tls.handshake;
 * console.log(info.suite.name, info.encryptThenMac, info.extendedMasterSecret);
 * const writer = tls.writable.getWriter();
 * await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * const page = await new Response(tls.readable).text();
 * await tls.close();
 * ```
 *
 * @param options Where to connect, whom to trust, and how to negotiate.
 * @returns The connection, once the TCP connection is open.
 * @throws {TypeError} For inconsistent options.
 */
export async function connectTls(options: ConnectTlsOptions): Promise<TlsConnection> {
  const settings = await resolveSharedOptions(options);
  const { session, remember } = chooseSession(
    options.session,
    `${settings.serverName}:${options.port}`,
  );

  const tcp = await abortable(
    Deno.connect({ hostname: options.hostname, port: options.port }),
    options.signal,
  );
  tcp.setNoDelay(true);
  try {
    return startTls(tcpTransport(tcp, options.readBufferSize ?? READ_CHUNK), {
      ...settings,
      ...(session ? { session } : {}),
      ...(options.handshakeTimeoutMs !== undefined
        ? { handshakeTimeoutMs: options.handshakeTimeoutMs }
        : {}),
      onHandshake: remember,
    });
  } catch (error) {
    // Options the handshake refuses (a key log the chip cannot give, no suite): nothing was
    // sent, and the socket must not outlive the error.
    tcp.close();
    throw error;
  }
}

/**
 * Wraps a TCP connection. Reads and writes go through `conn.read` / `conn.write` rather than
 * `conn.readable` / `conn.writable`, because cancelling or failing those closes the whole
 * socket: after a record fails to authenticate we still have to send bad_record_mac, and after
 * a refused flight the server's alert must still be readable.
 */
function tcpTransport(conn: Deno.TcpConn, maxRead: number): ByteTransport {
  if (!Number.isSafeInteger(maxRead) || maxRead < 64) {
    throw new RangeError(`readBufferSize ${maxRead} is below 64 bytes`);
  }
  let size = Math.min(FIRST_READ, maxRead);
  return {
    readable: new ReadableStream<Uint8Array>({
      async pull(controller) {
        const buffer = new Uint8Array(size);
        const n = await conn.read(buffer);
        if (n === null) {
          controller.close();
          return;
        }
        // A full read says more is waiting: read more at once next time; a small one says
        // the peer is quiet, and an idle connection should not sit on a large buffer.
        if (n === size) size = Math.min(size * 2, maxRead);
        else if (n < size / 4) size = Math.max(Math.min(FIRST_READ, maxRead), size >> 1);
        // The bytes are copied out of a mostly empty buffer, so what is queued or kept (a
        // certificate's DER) does not hold the whole buffer alive.
        controller.enqueue(n * 2 < buffer.length ? buffer.slice(0, n) : buffer.subarray(0, n));
      },
      cancel() {
        // Leave the socket to close(): the write side may still have an alert to send.
      },
    }),
    writable: new WritableStream<Uint8Array>({
      async write(chunk) {
        for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
      },
    }),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
    localAddr: conn.localAddr,
    remoteAddr: conn.remoteAddr,
  };
}

/** Most bytes asked of the socket per read by default: two full records. */
const READ_CHUNK = 2 * (16384 + 2048 + 5);
/** The first read's size, and the least a read shrinks to. */
const FIRST_READ = 2048;

async function abortable(
  connecting: Promise<Deno.TcpConn>,
  signal: AbortSignal | undefined,
): Promise<Deno.TcpConn> {
  if (!signal) return await connecting;
  const aborted = Promise.withResolvers<never>();
  const onAbort = () => aborted.reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([connecting, aborted.promise]);
  } catch (error) {
    connecting.then((conn) => conn.close(), () => {});
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
