/**
 * `--session FILE` for the examples: the session saved by an earlier run is offered, and the
 * new one is saved, so a second run resumes with an abbreviated handshake (issue 19). A file
 * that cannot be resumed from is said so in one line, and the run does a full handshake.
 *
 * @module
 */

import {
  type CryptoProvider,
  exportSession,
  type HandshakeInfo,
  importSession,
  SessionImportError,
  type TlsSession,
} from "@anchortls/handshake";

/**
 * Reads the session saved in `file`, for `provider`.
 *
 * @param file The `--session` file, if given.
 * @param provider The provider the session will resume with.
 * @param say Where the one-line notes go.
 * @returns The session, or undefined when there is none to resume.
 */
export async function loadSession(
  file: string | undefined,
  provider: CryptoProvider,
  say: (line: string) => void,
): Promise<TlsSession | undefined> {
  if (file === undefined) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return await importSession(bytes, { provider });
  } catch (error) {
    if (!(error instanceof SessionImportError)) throw error;
    say(`session   ${file} not resumed: ${error.message}`);
    return undefined;
  }
}

/**
 * Saves the handshake's session in `file` (mode 0600: it may hold the master secret).
 *
 * @param file The `--session` file, if given.
 * @param info The completed handshake.
 * @param say Where the one-line note goes.
 */
export async function saveSession(
  file: string | undefined,
  info: HandshakeInfo,
  say: (line: string) => void,
): Promise<void> {
  if (file === undefined) return;
  if (!info.session) {
    say("session   the server gave no resumable session: nothing saved");
    return;
  }
  await Deno.writeFile(file, await exportSession(info.session), { mode: 0o600 });
  say(`session   ${info.resumed ? "resumed" : "new"}, saved in ${file}`);
}
