/**
 * exportSession / importSession (issue 19): a session written out by one provider resumes,
 * after a "restart", with a new provider against the same in-memory server — by ticket and by
 * session ID; damaged, foreign or future-format bytes are refused with their reason.
 */

import assert from "node:assert/strict";
import { Writer } from "@anchortls/record";
import { ServerHandshake } from "@anchortls/testing";
import { exportSession, importSession } from "./session_export.ts";
import { SessionImportError, type SessionImportErrorReason } from "./session_import_error.ts";
import type { TlsSession } from "./session_cache.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { run } from "./_test_run.ts";

const MAGIC = new TextEncoder().encode("ATLS-SESSION");

async function sessionFrom(server: ServerHandshake): Promise<TlsSession> {
  const { info } = await run(server, { provider: new SoftwareCryptoProvider() });
  return info.session!;
}

const refused = (reason: SessionImportErrorReason) => (e: unknown) =>
  e instanceof SessionImportError && e.reason === reason;

for (const [kind, options] of [["ticket", { sessionTickets: {} }], ["session ID", {}]] as const) {
  Deno.test(`exportSession: a session resumed by ${kind} after a restart, with a new provider`, async () => {
    const server = new ServerHandshake(options);
    const session = await sessionFrom(server);
    const bytes = await exportSession(session);
    const provider = new SoftwareCryptoProvider();
    const imported = await importSession(bytes, { provider });
    assert.equal(imported.provider, provider);
    assert.deepEqual(imported.id, session.id);
    assert.deepEqual(imported.ticket, session.ticket);
    assert.equal(imported.ticketExpiresAt, session.ticketExpiresAt);
    assert.equal(imported.suite, session.suite);
    assert.equal(imported.version, session.version);
    assert.equal(imported.serverName, session.serverName);
    assert.equal(imported.createdAt, session.createdAt);
    assert.equal(imported.trustDigest, session.trustDigest);
    assert.deepEqual(
      imported.peerCertificates.map((c) => c.der),
      session.peerCertificates.map((c) => c.der),
    );
    const resumed = await run(server, { provider, session: imported });
    assert.equal(resumed.info.resumed, true);
    // The format is stable: exporting the imported session gives the same bytes.
    assert.deepEqual(await exportSession(imported), bytes);
  });
}

Deno.test("exportSession: a software session's export holds its master secret (documented: keep it secret)", async () => {
  const session = await sessionFrom(new ServerHandshake());
  const bytes = await exportSession(session);
  const master = await session.provider.revealMasterSecret!(session.master);
  assert.ok(bytes.toHex().includes(master.toHex()));
});

Deno.test("importSession: damaged, foreign and future-format bytes are refused with their reason", async () => {
  const bytes = await exportSession(await sessionFrom(new ServerHandshake({ sessionTickets: {} })));
  const provider = new SoftwareCryptoProvider();
  const take = (b: Uint8Array) => importSession(b, { provider });
  const field = (tag: number, value: Uint8Array) =>
    new Writer().u8(tag).vector24((v) => v.bytes(value)).finish();
  const withField = (tag: number, value: Uint8Array) =>
    Uint8Array.of(...bytes, ...field(tag, value));

  await assert.rejects(take(new TextEncoder().encode("not a session")), refused("malformed"));
  await assert.rejects(take(bytes.subarray(0, bytes.length - 1)), refused("malformed"));
  await assert.rejects(take(bytes.subarray(0, MAGIC.length)), refused("malformed"));
  const v2 = bytes.slice();
  v2[MAGIC.length] = 2;
  await assert.rejects(take(v2), refused("version"));
  await assert.rejects(take(withField(99, new Uint8Array(1))), refused("malformed"), "unknown");
  await assert.rejects(take(withField(2, Uint8Array.of(0, 0x2f))), refused("malformed"), "twice");
  // A chip's master secret, given to software.
  const chipKind = new TextEncoder().encode("multos-chip");
  const foreign = Uint8Array.of(
    ...MAGIC,
    1,
    ...[1, 2, 3, 4, 6, 7, 8, 10, 11].flatMap((tag) => [...fieldOf(bytes, tag)]),
    ...field(9, chipKind),
  );
  await assert.rejects(take(foreign), refused("provider"));
  // Every required field, one at a time.
  for (const tag of [1, 2, 6, 8, 9, 10]) {
    const others = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].filter((t) => t !== tag);
    const without = Uint8Array.of(...MAGIC, 1, ...others.flatMap((t) => [...fieldOf(bytes, t)]));
    await assert.rejects(take(without), refused("malformed"), `without field ${tag}`);
  }
  // A provider that cannot take sessions back.
  const bare = { ...provider, importMasterSecret: undefined } as unknown as SoftwareCryptoProvider;
  await assert.rejects(importSession(bytes, { provider: bare }), refused("provider"));
});

/** The encoded field(s) of `tag` in an export, as they are. */
function fieldOf(bytes: Uint8Array, tag: number): Uint8Array {
  const out: number[] = [];
  let at = MAGIC.length + 1;
  while (at < bytes.length) {
    const length = (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (bytes[at] === tag) out.push(...bytes.subarray(at, at + 4 + length));
    at += 4 + length;
  }
  return Uint8Array.from(out);
}
