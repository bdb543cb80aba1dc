/**
 * Command-line flags shared by the example clients, parsed with `node:util` `parseArgs`.
 * Every mistake becomes a {@linkcode UsageError} whose message fits on one line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type CipherSuite, cipherSuiteByName, OPENSSL_CIPHER_NAMES } from "@anchortls/record";
import type { PskCredentials } from "@anchortls/handshake";
import type { ProviderChoice } from "./_provider.ts";
import type { ConnectTarget } from "./_tls.ts";

/** A wrong command line: the message is printed as one line and the example exits with 2. */
export class UsageError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong, in one line.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** Where the secrets live. */
export type PolicyName = "software" | "hybrid" | "full";

/** The connection flags every example client takes. */
export interface ClientFlags {
  /** Trusted roots (PEM file). */
  readonly ca: string | undefined;
  /** Client certificate chain (PEM file). */
  readonly cert: string | undefined;
  /** Client key (PEM file). */
  readonly key: string | undefined;
  /** `emulator`, a serial device path, or `tcp:HOST:PORT`. */
  readonly trustAnchor: string | undefined;
  /** The chip's user PIN. */
  readonly pin: string;
  /** Where the secrets live. */
  readonly policy: PolicyName;
  /** The one suite to offer, when given. */
  readonly suite: CipherSuite | undefined;
  /** Offer Encrypt-then-MAC. */
  readonly encryptThenMac: boolean;
  /** The name to check in the server's certificate, when not the URL's host. */
  readonly serverName: string | undefined;
  /** Print a message-by-message trace. */
  readonly verbose: boolean;
  /** Give up after this many milliseconds (connecting and handshake). */
  readonly timeoutMs: number;
  /** Where the session is kept between runs, when given. */
  readonly sessionFile: string | undefined;
  /** Offer session tickets. */
  readonly sessionTickets: boolean;
  /** A pre-shared key and its identity, when given. */
  readonly psk: PskCredentials | undefined;
  /** DTLS: ask for a Connection ID. */
  readonly connectionId: boolean;
  /** Ask for records of at most this many plaintext bytes (record_size_limit and MFL). */
  readonly recordLimit: number | undefined;
  /** TLS: most bytes per socket read. */
  readonly readBuffer: number | undefined;
  /** Print usage and exit. */
  readonly help: boolean;
}

/** Usage text for the flags of {@linkcode ClientFlags}. */
export const CLIENT_FLAGS_USAGE = `  --ca FILE             trusted root certificates (PEM); required
  --cert FILE --key FILE
                        client certificate chain and key (PEM); with --trust-anchor emulator
                        they are loaded into the emulated chip
  --trust-anchor WHERE  the MULTOS Trust Anchor: emulator (in-process), a serial device
                        path, or tcp:HOST:PORT (e.g. packages/multos-apdu/emulator_cli.ts)
  --pin PIN             the chip's user PIN (default 0000)
  --policy P            software | hybrid | full (default: full with --trust-anchor,
                        software without)
  --suite NAME          offer only this suite (IANA or OpenSSL name, e.g.
                        ECDHE-ECDSA-AES128-CCM8 or AES128-SHA256)
  --no-etm              do not offer Encrypt-then-MAC
  --server-name NAME    the name to check in the certificate (default: the host)
  --verbose             print each handshake message as it passes (no secrets)
  SSLKEYLOGFILE=FILE    (environment) append NSS key log lines for Wireshark; software and
                        hybrid only: in full the master secret never leaves the chip
  --timeout SECONDS     give up connecting after this long (default 10)
  --session FILE        resume the session saved in FILE, if any, and save the new one there
                        (mode 0600: in software and hybrid it holds the master secret; in full
                        it names the chip's slot, kept only with a chip that is not reset)
  --no-tickets          do not offer session tickets (RFC 5077): resume by session ID only
  --cid                 DTLS: ask for a Connection ID (RFC 9146), so the session survives a
                        NAT rebinding; the summary shows both CIDs when the server agrees
  --record-limit N      ask for records of at most N plaintext bytes both ways
                        (record_size_limit, and max_fragment_length for 512/1024/2048/4096)
  --read-buffer N       TLS: read at most N bytes per socket read (less memory per connection)
  --psk-identity ID --psk KEY
                        authenticate by a pre-shared key (RFC 4279) instead of certificates:
                        KEY as text (as coap-client -k takes it) or hex:0A1B...; offers the PSK
                        suites (CCM_8, GCM, CBC, ECDHE_PSK); --ca is then not needed;
                        software and hybrid only
  --help                print this help`;

/**
 * Looks a suite up by its IANA or OpenSSL name (case-insensitive).
 *
 * @param name e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` or `ECDHE-ECDSA-AES128-CCM8`.
 * @returns The suite.
 * @throws {UsageError} For an unknown name.
 */
export function suiteByName(name: string): CipherSuite {
  const found = cipherSuiteByName(name);
  if (!found) {
    throw new UsageError(
      `unknown suite "${name}": use one of ${Object.values(OPENSSL_CIPHER_NAMES).join(", ")}`,
    );
  }
  return found;
}

/**
 * A `--psk` value: `hex:` and hex digits, or text as UTF-8 (as libcoap's `coap-client -k`).
 *
 * @param value The flag's value.
 * @returns The key bytes.
 * @throws {UsageError} For bad hex or a key not of 1..64 bytes.
 */
function pskKeyOf(value: string): Uint8Array {
  let key: Uint8Array;
  if (value.startsWith("hex:")) {
    try {
      key = Uint8Array.fromHex(value.slice(4));
    } catch {
      throw new UsageError("--psk hex:… takes an even number of hex digits");
    }
  } else {
    key = new TextEncoder().encode(value);
  }
  if (key.length === 0 || key.length > 64) throw new UsageError("--psk takes 1 to 64 bytes");
  return key;
}

/**
 * Parses the client flags plus positional arguments.
 *
 * @param args The command line (`Deno.args`).
 * @returns The flags and the positional arguments.
 * @throws {UsageError} For unknown flags, missing values and inconsistent combinations.
 */
export function parseClientArgs(args: readonly string[]): {
  flags: ClientFlags;
  positionals: string[];
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        "trust-anchor": { type: "string" },
        pin: { type: "string", default: "0000" },
        policy: { type: "string" },
        suite: { type: "string" },
        "no-etm": { type: "boolean", default: false },
        "server-name": { type: "string" },
        verbose: { type: "boolean", default: false },
        timeout: { type: "string", default: "10" },
        session: { type: "string" },
        psk: { type: "string" },
        "psk-identity": { type: "string" },
        "no-tickets": { type: "boolean", default: false },
        cid: { type: "boolean", default: false },
        "record-limit": { type: "string" },
        "read-buffer": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split("\n")[0]! : String(error));
  }
  const { values, positionals } = parsed;
  const trustAnchor = values["trust-anchor"];
  const policy = values.policy ?? (trustAnchor === undefined ? "software" : "full");
  if (policy !== "software" && policy !== "hybrid" && policy !== "full") {
    throw new UsageError(`unknown policy "${policy}": use software, hybrid or full`);
  }
  if (policy === "software" && trustAnchor !== undefined) {
    throw new UsageError("--policy software keeps everything on the host: drop --trust-anchor");
  }
  if (policy !== "software" && trustAnchor === undefined) {
    throw new UsageError(`--policy ${policy} needs --trust-anchor (try --trust-anchor emulator)`);
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (values.cert !== undefined && trustAnchor !== undefined && trustAnchor !== "emulator") {
    throw new UsageError("a chip holds its own client certificate: drop --cert and --key");
  }
  if ((values.psk === undefined) !== (values["psk-identity"] === undefined)) {
    throw new UsageError("--psk and --psk-identity go together");
  }
  if (values.psk !== undefined && policy === "full") {
    throw new UsageError(
      "--psk runs in software or --policy hybrid: the chip's applet takes no pre-shared key",
    );
  }
  const psk = values.psk === undefined ? undefined : {
    identity: values["psk-identity"]!,
    key: pskKeyOf(values.psk),
  };
  const size = (flag: string, text: string | undefined, min: number, max: number) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} takes a number of bytes from ${min} to ${max}, not "${text}"`);
    }
    return n;
  };
  const recordLimit = size("--record-limit", values["record-limit"], 64, 16384);
  const readBuffer = size("--read-buffer", values["read-buffer"], 64, 1 << 20);
  const timeout = Number(values.timeout);
  if (!(timeout > 0 && timeout <= 3600)) {
    throw new UsageError(`--timeout takes seconds between 0 and 3600, not "${values.timeout}"`);
  }
  return {
    flags: {
      ca: values.ca,
      cert: values.cert,
      key: values.key,
      trustAnchor,
      pin: values.pin,
      policy,
      suite: values.suite === undefined ? undefined : suiteByName(values.suite),
      encryptThenMac: !values["no-etm"],
      serverName: values["server-name"],
      verbose: values.verbose,
      timeoutMs: timeout * 1000,
      sessionFile: values.session,
      sessionTickets: !values["no-tickets"],
      psk,
      connectionId: values.cid,
      recordLimit,
      readBuffer,
      help: values.help,
    },
    positionals,
  };
}

/**
 * Parses the command line of an example that takes the client flags and one argument;
 * `--help` prints `usage` instead.
 *
 * @param args The command line (`Deno.args`).
 * @param usage The example's help text.
 * @param expected What the one argument is, e.g. `HOST:PORT`, for the error.
 * @returns The flags and the argument, or undefined when the usage was printed.
 * @throws {UsageError} For bad flags, or not exactly one argument.
 */
export function parseCommandLine(
  args: readonly string[],
  usage: string,
  expected: string,
): { flags: ClientFlags; argument: string } | undefined {
  const { flags, positionals } = parseClientArgs(args);
  if (flags.help) {
    // deno-lint-ignore no-console
    console.log(usage);
    return undefined;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one ${expected} (see --help)`);
  return { flags, argument: positionals[0]! };
}

/**
 * What the flags say about negotiation and tracing, for `openTls` and `openDtls`.
 *
 * @param flags The parsed flags.
 * @returns The suites to offer, EtM, (with `--verbose`) a trace printed indented, and (with
 *   `SSLKEYLOGFILE` set) a key log appended to that file.
 */
export function negotiationOptions(
  flags: ClientFlags,
): Pick<
  ConnectTarget,
  | "suites"
  | "encryptThenMac"
  | "sessionTickets"
  | "psk"
  | "recordSizeLimit"
  | "maxFragmentLength"
  | "readBufferSize"
  | "trace"
  | "keyLog"
> {
  const mfl = [512, 1024, 2048, 4096].includes(flags.recordLimit ?? 0)
    ? flags.recordLimit as 512 | 1024 | 2048 | 4096
    : undefined;
  const keyLogFile = Deno.env.get("SSLKEYLOGFILE");
  return {
    suites: flags.suite ? [flags.suite] : undefined,
    encryptThenMac: flags.encryptThenMac,
    sessionTickets: flags.sessionTickets,
    psk: flags.psk,
    recordSizeLimit: flags.recordLimit,
    maxFragmentLength: mfl,
    readBufferSize: flags.readBuffer,
    // deno-lint-ignore no-console
    trace: flags.verbose ? (line) => console.log(`  ${line}`) : undefined,
    // As curl and browsers do: the variable names a file the lines are appended to.
    keyLog: keyLogFile
      ? (line) => Deno.writeTextFileSync(keyLogFile, `${line}\n`, { append: true })
      : undefined,
  };
}

/**
 * Reads a file named on the command line.
 *
 * @param flag The flag's name, for the error.
 * @param path The file.
 * @returns Its text.
 * @throws {UsageError} When it cannot be read.
 */
export async function readFlagFile(flag: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split(":")[0] : String(error);
    throw new UsageError(`cannot read ${flag} ${path}: ${reason}`);
  }
}

/** What the connection flags name on disk: the roots to trust and where the secrets live. */
export interface ClientFiles {
  /** Trusted roots, PEM text. */
  readonly caPem: string;
  /** The provider the flags ask for, with the client certificate and key when given. */
  readonly provider: ProviderChoice;
}

/**
 * Reads the files the connection flags name: `--ca` (required), `--cert` and `--key`.
 *
 * @param flags The parsed flags.
 * @returns The roots and the provider choice.
 * @throws {UsageError} When `--ca` is missing or a file cannot be read.
 */
export async function readClientFiles(flags: ClientFlags): Promise<ClientFiles> {
  if (flags.ca === undefined && !flags.psk) {
    throw new UsageError("--ca FILE is required: the roots to trust (or --psk)");
  }
  const caPem = flags.ca === undefined ? "" : await readFlagFile("--ca", flags.ca);
  const certPem = flags.cert === undefined ? undefined : await readFlagFile("--cert", flags.cert);
  const keyPem = flags.key === undefined ? undefined : await readFlagFile("--key", flags.key);
  return {
    caPem,
    provider: {
      policy: flags.policy,
      trustAnchor: flags.trustAnchor,
      pin: flags.pin,
      certPem,
      keyPem,
      keepSessionKeys: flags.sessionFile !== undefined,
    },
  };
}

/**
 * Runs an example's main function: a {@linkcode UsageError} or any other failure is printed
 * as one line on stderr (`NAME: message`) and the process exits non-zero (2 for usage).
 *
 * @param name The example's name, prefixed to error lines.
 * @param main The work.
 * @returns Never; it exits.
 */
export async function runMain(name: string, main: () => Promise<void>): Promise<never> {
  try {
    await main();
    Deno.exit(0);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // deno-lint-ignore no-console
    console.error(`${name}: ${message.split("\n")[0]}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
