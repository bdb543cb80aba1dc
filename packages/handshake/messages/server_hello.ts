/**
 * ServerHello (RFC 5246 §7.4.1.3).
 *
 * @module
 */

import { Reader, Writer } from "@anchortls/record";
import { type Extension, readExtensions, writeExtensions } from "./extensions.ts";

/** A ServerHello. */
export interface ServerHello {
  /** server_version. */
  readonly version: number;
  /** 32 random bytes. */
  readonly random: Uint8Array;
  /** The session's id, 0..32 bytes; equal to ours when the server resumes. */
  readonly sessionId: Uint8Array;
  /** The chosen suite. */
  readonly cipherSuite: number;
  /** The chosen compression method. */
  readonly compressionMethod: number;
  /** Extensions in wire order. */
  readonly extensions: readonly Extension[];
}

/**
 * Encodes a ServerHello body.
 *
 * @param hello The message.
 * @returns The body bytes.
 */
export function encodeServerHello(hello: ServerHello): Uint8Array {
  const w = new Writer(128);
  w.u16(hello.version).bytes(hello.random).vector8((v) => v.bytes(hello.sessionId));
  w.u16(hello.cipherSuite).u8(hello.compressionMethod);
  writeExtensions(w, hello.extensions);
  return w.finish();
}

/**
 * Decodes a ServerHello body.
 *
 * @example
 * ```ts
 * import { decodeServerHello, encodeServerHello } from "@anchortls/handshake";
 * const hello = decodeServerHello(encodeServerHello({
 *   version: 0x0303,
 *   random: new Uint8Array(32),
 *   sessionId: new Uint8Array(0),
 *   cipherSuite: 0x002f,
 *   compressionMethod: 0,
 *   extensions: [],
 * }));
 * hello.cipherSuite; // 47
 * ```
 *
 * @param body The body bytes.
 * @returns The message.
 * @throws {TlsAlertError} `decode_error` for malformed or trailing bytes,
 *   `illegal_parameter` for a duplicated extension.
 */
export function decodeServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector8(0, 32);
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = readExtensions(r);
  r.expectEnd("ServerHello");
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}
