/**
 * What to say when the first bytes from a "TLS server" are no TLS record: most often the port
 * speaks something else in plain text (an HTTP server, SSH, an SMTP or MQTT banner), and the
 * user needs to hear that rather than "unknown content type 72".
 *
 * @module
 */

import { TlsAlertError } from "@anchortls/record";

/** How many of the peer's first bytes are kept to describe a non-TLS reply. */
export const SNIFF_LENGTH = 24;

const KNOWN: readonly [RegExp, string][] = [
  [/^HTTP\/\d/, "HTTP (a plain-HTTP port, or a proxy)"],
  [/^(<!DOCTYPE|<html)/i, "an HTML page"],
  [/^SSH-/, "SSH"],
  [/^220[ -]/, "an SMTP or FTP banner"],
  [/^\* OK/, "an IMAP banner"],
  [/^\+OK/, "a POP3 banner"],
];

/**
 * Rewrites the record layer's refusal of the very first record into one that names what the
 * server seems to speak; other errors, and replies that are not text, pass unchanged.
 *
 * @param error What the record layer threw.
 * @param firstBytes The peer's first bytes (up to {@linkcode SNIFF_LENGTH}).
 * @returns The error to fail with: the same alert, a message that says what to do.
 */
export function describeNonTlsReply(error: unknown, firstBytes: Uint8Array): unknown {
  if (!(error instanceof TlsAlertError) || firstBytes.length < 4) return error;
  const text = String.fromCharCode(...firstBytes);
  // Printable ASCII with line breaks: text, so not a TLS record (whose first byte is 20–24).
  if (!/^[\x20-\x7e\r\n\t]+$/.test(text)) return error;
  const what = KNOWN.find(([pattern]) => pattern.test(text))?.[1] ?? "plain text";
  const shown = JSON.stringify(text.replace(/[\r\n].*$/s, ""));
  return new TlsAlertError(
    error.description,
    `not a TLS server: the reply looks like ${what}, starting ${shown} — check the port, or ` +
      "whether the service wants plain text or STARTTLS",
    { cause: error },
  );
}
