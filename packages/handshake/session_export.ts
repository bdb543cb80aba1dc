/**
 * Sessions that outlive the process (issue 19): a device that sleeps or restarts keeps its
 * session as bytes and resumes with an abbreviated handshake, as mbedTLS's
 * `mbedtls_ssl_session_save`/`_load` allow.
 *
 * # Format, version 1
 *
 * `"ATLS-SESSION"` (12 ASCII bytes), a version byte (1), then fields, each a tag byte, a
 * 24-bit length and the value, in any order:
 *
 * | tag | field | value |
 * | --- | ----- | ----- |
 * | 1 | protocol | u16: 0x0303 TLS 1.2, 0xfefd DTLS 1.2 |
 * | 2 | suite | u16 IANA code |
 * | 3 | session ID | 0..32 bytes |
 * | 4 | ticket | optional, the server's ticket |
 * | 5 | ticket expiry | optional, u64 ms since the epoch |
 * | 6 | created | u64 ms since the epoch |
 * | 7 | server name | optional, UTF-8 |
 * | 8 | trust digest | 32 bytes: the trust anchors and CRLs the chain was validated under |
 * | 9 | master kind | UTF-8: where the master secret lives (`host`, `multos-chip`) |
 * | 10 | master | what that kind of provider needs to take it back |
 * | 11 | peer certificate | DER, one field per certificate, leaf first |
 *
 * Every field but 4, 5, 7 and 11 is required (11 is absent only for a PSK session, which has
 * no certificate); an unknown tag or a repeated one is refused, so a damaged file is never
 * half-read. Only sessions with the extended master
 * secret exist, so none is recorded.
 *
 * A software session's export holds its master secret: whoever reads it can decrypt what the
 * session carried and resume it. Keep it as a secret (mode 0600, or encrypted at rest). A
 * `full` chip session's export names the chip slot and carries a check value; the secret
 * stays in the chip.
 *
 * @module
 */

import { cipherSuiteById, Reader, TlsAlertError, Writer } from "@anchortls/record";
import { CertificateError, parseCertificate } from "@anchortls/x509";
import type { CryptoProvider, PortableMasterSecret } from "./crypto_provider.ts";
import { SessionImportError } from "./session_import_error.ts";
import type { TlsSession } from "./session_cache.ts";

const MAGIC = new TextEncoder().encode("ATLS-SESSION");
const VERSION = 1;

const Field = {
  protocol: 1,
  suite: 2,
  id: 3,
  ticket: 4,
  ticketExpiresAt: 5,
  createdAt: 6,
  serverName: 7,
  trustDigest: 8,
  masterKind: 9,
  master: 10,
  peerCertificate: 11,
} as const;

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/**
 * Writes a session in the format above, for {@linkcode importSession} in a later process.
 *
 * @example
 * ```ts ignore
 * import { exportSession } from "@anchortls/handshake";
 * const info = await tls.handshake;
 * if (info.session) await Deno.writeFile("session.bin", await exportSession(info.session), { mode: 0o600 });
 * ```
 *
 * @param session A session from a completed handshake.
 * @returns The bytes; for a software session, a secret.
 * @throws {TypeError} When the session's provider cannot export its master secret.
 */
export async function exportSession(session: TlsSession): Promise<Uint8Array> {
  const provider = session.provider;
  if (!provider.exportMasterSecret) {
    throw new TypeError("this session's provider cannot export its master secret");
  }
  const master = await provider.exportMasterSecret(session.master);
  const encoder = new TextEncoder();
  const fields: [number, Uint8Array][] = [
    [Field.protocol, Uint8Array.of(session.version >> 8, session.version & 0xff)],
    [Field.suite, Uint8Array.of(session.suite.id >> 8, session.suite.id & 0xff)],
    [Field.id, session.id],
    ...(session.ticket ? [[Field.ticket, session.ticket] as [number, Uint8Array]] : []),
    ...(session.ticketExpiresAt !== undefined
      ? [[Field.ticketExpiresAt, u64(session.ticketExpiresAt)] as [number, Uint8Array]]
      : []),
    [Field.createdAt, u64(session.createdAt)],
    ...(session.serverName !== undefined
      ? [[Field.serverName, encoder.encode(session.serverName)] as [number, Uint8Array]]
      : []),
    [Field.trustDigest, Uint8Array.fromHex(session.trustDigest)],
    [Field.masterKind, encoder.encode(master.kind)],
    [Field.master, master.data],
    ...session.peerCertificates.map((c) => [Field.peerCertificate, c.der] as [number, Uint8Array]),
  ];
  const size = MAGIC.length + 1 + fields.reduce((n, [, v]) => n + 4 + v.length, 0);
  // Sized once, so no copy of the master secret is left behind in a grown-out buffer.
  const w = new Writer(size).bytes(MAGIC).u8(VERSION);
  for (const [tag, value] of fields) w.u8(tag).vector24((v) => v.bytes(value));
  master.data.fill(0);
  return w.finish();
}

/** Options of {@linkcode importSession}. */
export interface ImportSessionOptions {
  /**
   * The provider to resume with: the one the session will belong to. It must be of the kind
   * that exported it (the same chip, or software).
   */
  readonly provider: CryptoProvider;
}

/**
 * Reads a session {@linkcode exportSession} wrote and gives its master secret back to the
 * provider, so the next `connectTls`/`connectDtls` can offer it (`session`). The session is
 * bound as before: to the server name, the trust anchors and CRLs, and the protocol.
 *
 * @example
 * ```ts ignore
 * import { importSession } from "@anchortls/handshake";
 * const session = await importSession(await Deno.readFile("session.bin"), { provider });
 * ```
 *
 * @param bytes The exported session.
 * @param options The provider to resume with.
 * @returns The session.
 * @throws {SessionImportError} `malformed`, `version`, `provider` or `lost`.
 */
export async function importSession(
  bytes: Uint8Array,
  options: ImportSessionOptions,
): Promise<TlsSession> {
  const { provider } = options;
  if (!provider.importMasterSecret) {
    throw new SessionImportError("provider", "this provider cannot take sessions back");
  }
  const fields = readFields(bytes);
  const one = (tag: number, name: string, required = true): Uint8Array | undefined => {
    const values = fields.get(tag) ?? [];
    if (values.length > 1) throw new SessionImportError("malformed", `${name} given twice`);
    if (required && values.length === 0) {
      throw new SessionImportError("malformed", `no ${name}`);
    }
    return values[0];
  };
  const u16 = (v: Uint8Array, name: string): number => {
    if (v.length !== 2) throw new SessionImportError("malformed", `${name} is not 2 bytes`);
    return (v[0]! << 8) | v[1]!;
  };
  const time = (v: Uint8Array, name: string): number => {
    if (v.length !== 8) throw new SessionImportError("malformed", `${name} is not 8 bytes`);
    const value = new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new SessionImportError("malformed", `${name} out of range`);
    }
    return Number(value);
  };
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const text = (v: Uint8Array, name: string): string => {
    try {
      return decoder.decode(v);
    } catch (e) {
      throw new SessionImportError("malformed", `${name} is not UTF-8`, { cause: e });
    }
  };

  const version = u16(one(Field.protocol, "protocol")!, "protocol");
  if (version !== 0x0303 && version !== 0xfefd) {
    throw new SessionImportError("malformed", `protocol 0x${version.toString(16)}`);
  }
  const suiteId = u16(one(Field.suite, "suite")!, "suite");
  const suite = cipherSuiteById(suiteId);
  if (!suite) throw new SessionImportError("malformed", `unknown suite 0x${suiteId.toString(16)}`);
  const id = one(Field.id, "session ID")!;
  if (id.length > 32) throw new SessionImportError("malformed", "session ID over 32 bytes");
  const ticket = one(Field.ticket, "ticket", false);
  const expiry = one(Field.ticketExpiresAt, "ticket expiry", false);
  if (id.length === 0 && !ticket) {
    throw new SessionImportError("malformed", "neither a session ID nor a ticket");
  }
  const createdAt = time(one(Field.createdAt, "creation time")!, "creation time");
  const name = one(Field.serverName, "server name", false);
  const digest = one(Field.trustDigest, "trust digest")!;
  if (digest.length !== 32) throw new SessionImportError("malformed", "trust digest not 32 bytes");
  const kind = text(one(Field.masterKind, "master kind")!, "master kind");
  const masterData = one(Field.master, "master secret")!;
  const ders = fields.get(Field.peerCertificate) ?? [];
  let peerCertificates;
  try {
    peerCertificates = ders.map((der, index) => parseCertificate(der, { index }));
  } catch (e) {
    if (!(e instanceof CertificateError)) throw e;
    throw new SessionImportError("malformed", "a peer certificate does not parse", { cause: e });
  }
  const portable: PortableMasterSecret = { kind, data: masterData };
  const master = await provider.importMasterSecret(portable);
  return {
    id: id.slice(),
    ...(ticket ? { ticket: ticket.slice() } : {}),
    ...(expiry ? { ticketExpiresAt: time(expiry, "ticket expiry") } : {}),
    master,
    provider,
    version,
    suite,
    extendedMasterSecret: true,
    peerCertificates,
    serverName: name === undefined ? undefined : text(name, "server name"),
    createdAt,
    trustDigest: digest.toHex(),
  };
}

function readFields(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const r = new Reader(bytes);
  const fields = new Map<number, Uint8Array[]>();
  try {
    const magic = r.bytes(MAGIC.length);
    if (magic.some((b, i) => b !== MAGIC[i])) {
      throw new SessionImportError("malformed", "not an exported session");
    }
    const version = r.u8();
    if (version !== VERSION) {
      throw new SessionImportError("version", `format version ${version}; this reads ${VERSION}`);
    }
    const known = new Set<number>(Object.values(Field));
    while (r.remaining > 0) {
      const tag = r.u8();
      const value = r.vector24();
      if (!known.has(tag)) throw new SessionImportError("malformed", `unknown field ${tag}`);
      fields.set(tag, [...(fields.get(tag) ?? []), value]);
    }
  } catch (e) {
    if (e instanceof TlsAlertError) {
      throw new SessionImportError("malformed", "truncated", { cause: e });
    }
    throw e;
  }
  return fields;
}
