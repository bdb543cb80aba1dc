/**
 * ClientHello (RFC 5246 §7.4.1.2), with the DTLS cookie field (RFC 6347 §4.2.1) when present.
 *
 * @module
 */

import { Reader, Writer } from "@anchortls/record";
import { type Extension, readExtensions, writeExtensions } from "./extensions.ts";
import { readU16List } from "./u16_list.ts";

/** A ClientHello. */
export interface ClientHello {
  /** client_version: 0x0303 for TLS 1.2, 0xfefd for DTLS 1.2. */
  readonly version: number;
  /** 32 random bytes. */
  readonly random: Uint8Array;
  /** Session to resume, 0..32 bytes. */
  readonly sessionId: Uint8Array;
  /** DTLS only: the cookie from HelloVerifyRequest (empty at first). Absent in TLS. */
  readonly cookie?: Uint8Array;
  /** Offered suites, preferred first. */
  readonly cipherSuites: readonly number[];
  /** Offered compression methods; we send only null (0). */
  readonly compressionMethods: readonly number[];
  /** Extensions in wire order. */
  readonly extensions: readonly Extension[];
}

/**
 * Encodes a ClientHello body (without the handshake header).
 *
 * @example
 * ```ts
 * import { encodeClientHello } from "@anchortls/handshake";
 * const body = encodeClientHello({
 *   version: 0x0303,
 *   random: new Uint8Array(32),
 *   sessionId: new Uint8Array(0),
 *   cipherSuites: [0x002f],
 *   compressionMethods: [0],
 *   extensions: [],
 * });
 * body.length; // 41
 * ```
 *
 * @param hello The message.
 * @returns The body bytes.
 */
export function encodeClientHello(hello: ClientHello): Uint8Array {
  const w = new Writer(512);
  w.u16(hello.version).bytes(hello.random).vector8((v) => v.bytes(hello.sessionId));
  if (hello.cookie) w.vector8((v) => v.bytes(hello.cookie!));
  w.vector16((v) => {
    for (const s of hello.cipherSuites) v.u16(s);
  });
  w.vector8((v) => {
    for (const c of hello.compressionMethods) v.u8(c);
  });
  writeExtensions(w, hello.extensions);
  return w.finish();
}

/**
 * Decodes a ClientHello body.
 *
 * @param body The body bytes.
 * @param options `dtls: true` reads the cookie field.
 * @returns The message.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes.
 */
export function decodeClientHello(body: Uint8Array, options: { dtls?: boolean } = {}): ClientHello {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector8(0, 32);
  const cookie = options.dtls ? r.vector8(0, 255) : undefined;
  const cipherSuites = readU16List(r.vector16(2, 0xfffe), "cipher_suites");
  const compressionMethods = [...r.vector8(1)];
  const extensions = readExtensions(r);
  r.expectEnd("ClientHello");
  return {
    version,
    random,
    sessionId,
    ...(cookie ? { cookie } : {}),
    cipherSuites,
    compressionMethods,
    extensions,
  };
}
