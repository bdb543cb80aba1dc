/**
 * A minimal byte-level driver of {@linkcode TlsClientCore} for tests: it moves the core's
 * bytes over any byte source, so a handshake can be recorded against a real server and
 * replayed from the recording without sockets, through the very core `startTls` drives.
 *
 * @module
 */

import type { ClientHandshakeConfig, HandshakeInfo } from "./client_handshake.ts";
import { TlsClientCore } from "./tls/tls_client.ts";

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
 * server's close_notify (which the core answers with its own).
 *
 * @returns What the handshake negotiated and the application data received.
 * @throws What the connection failed with: a `TlsAlertError`, a `CertificateError`, a
 *   `TruncationError`.
 */
export async function driveClient(
  config: ClientHandshakeConfig,
  now: number,
  peer: BytePeer,
  request: Uint8Array,
): Promise<{ info: HandshakeInfo; response: Uint8Array }> {
  const core = new TlsClientCore({ ...config, handshakeTimeoutMs: Infinity });
  const flush = async () => {
    for (const bytes of core.pollTransmit()) await peer.write(bytes);
  };
  let info: HandshakeInfo | undefined;
  const response: number[] = [];
  try {
    await core.start(now);
    for (;;) {
      for (let event = core.pollEvent(); event; event = core.pollEvent()) {
        if (event.kind === "failed") throw event.error;
        if (event.kind === "connected") {
          info = event.info;
          await core.send(request);
        }
        if (event.kind === "data") response.push(...event.data);
        if (event.kind === "closed") {
          await flush();
          return { info: info!, response: new Uint8Array(response) };
        }
      }
      await flush();
      const bytes = await peer.read();
      if (bytes) await core.handleBytes(bytes, now);
      else await core.handleEnd();
    }
  } finally {
    await core.release();
  }
}
