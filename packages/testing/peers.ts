/**
 * Local peers for tests, demos and examples: a free loopback port, a throwaway PKI made with
 * `openssl` in a temporary directory, and real servers — `openssl s_server` (TLS, or DTLS 1.2)
 * and `gnutls-serv` (TLS or DTLS, `--echo`) — started with readiness taken from their output
 * and always stopped.
 *
 * Needs `--allow-run` (openssl, gnutls-serv), `--allow-net=127.0.0.1`, `--allow-read` and
 * `--allow-write` (the temporary directory), and `--allow-env` for `PATH`.
 *
 * @example A TLS server with a fresh PKI, both cleaned up
 * ```ts ignore
 * import { connectTls } from "@anchortls/client";
 * import { createTestPki, startOpenSslServer } from "@anchortls/testing";
 *
 * await using pki = await createTestPki();
 * await using server = await startOpenSslServer({ pki, mode: "www" });
 * const tls = await connectTls({
 *   hostname: "127.0.0.1",
 *   port: server.port,
 *   serverName: "localhost",
 *   caCerts: [await Deno.readTextFile(pki.root)],
 * });
 * console.log((await tls.handshake).suite.name);
 * await tls.close();
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { type CipherSuite, CipherSuites, OPENSSL_CIPHER_NAMES } from "@anchortls/record";

export type { CipherSuite };

/** A transport protocol. */
export type PortTransport = "tcp" | "udp";

/**
 * A loopback TCP port nobody listens on right now. Another process may take it before you
 * bind it; prefer servers that bind port 0 and report their port (as
 * {@linkcode startOpenSslServer} does) where the server can.
 *
 * @returns The port number.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A loopback UDP port nobody uses right now (with the same caveat as {@linkcode freePort}).
 *
 * @returns The port number.
 */
export async function freeUdpPort(): Promise<number> {
  // Bound on every address, IPv4 and IPv6: gnutls-serv binds all of them, so a port free only
  // on 127.0.0.1 could still make it fail.
  return await boundUdpPort(dgram.createSocket({ type: "udp6", ipv6Only: false }), "::")
    .catch(() => boundUdpPort(dgram.createSocket("udp4"), "0.0.0.0"));
}

async function boundUdpPort(socket: dgram.Socket, address: string): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, address, resolve);
    });
    return socket.address().port;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/**
 * Whether a program can be started here.
 *
 * @param command The program, e.g. `openssl` or `gnutls-serv`.
 * @param args Arguments that make it exit at once. @default {["version"]}
 * @returns True when it ran (whatever its exit code).
 */
export async function commandAvailable(
  command: string,
  args: readonly string[] = ["version"],
): Promise<boolean> {
  try {
    await new Deno.Command(command, { args: [...args], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** A throwaway PKI: paths of PEM files in a temporary directory. */
export interface TestPki extends AsyncDisposable {
  /** The directory holding every file. */
  readonly dir: string;
  /** Root CA certificate (the trust anchor). */
  readonly root: string;
  /** Intermediate CA certificate (path length 0), issued by the root. */
  readonly intermediate: string;
  /** Server certificate for `localhost`, `127.0.0.1` and `::1`, issued by the intermediate. */
  readonly leaf: string;
  /** The server certificate's RSA key (PKCS#8). */
  readonly leafKey: string;
  /** Server certificate followed by the intermediate. */
  readonly chain: string;
  /**
   * A second server certificate for the same names with an ECDSA P-256 key (keyUsage
   * digitalSignature only), for the ECDHE_ECDSA suites; issued by the intermediate.
   */
  readonly ecLeaf: string;
  /** The ECDSA server certificate's P-256 key (PKCS#8). */
  readonly ecLeafKey: string;
  /** The ECDSA server certificate followed by the intermediate. */
  readonly ecChain: string;
  /** Client certificate (clientAuth), issued by the intermediate. */
  readonly client: string;
  /** The client certificate's RSA key (PKCS#8). */
  readonly clientKey: string;
  /** Client certificate followed by the intermediate. */
  readonly clientChain: string;
  /** A second client certificate (clientAuth) with an ECDSA P-256 key, issued by the intermediate. */
  readonly ecClient: string;
  /** The ECDSA client certificate's P-256 key (PKCS#8). */
  readonly ecClientKey: string;
  /** The ECDSA client certificate followed by the intermediate. */
  readonly ecClientChain: string;
  /**
   * Root and intermediate in one file: what a server needs to check a client that sends only
   * its leaf (as a chip with one certificate file does).
   */
  readonly cas: string;
  /** Deletes the directory. */
  remove(): Promise<void>;
}

/**
 * A file of the x509 package's fixed test PKI (`packages/x509/testdata`, made once by its
 * `make_pki.sh`): the same certificates in every run, for tests that compare against them
 * or need its odd certificates (`ec-leaf.pem`, `other-root.pem`, ...). Only in a checkout of
 * the repository.
 *
 * @param name The file name, e.g. `root.pem`.
 * @returns Its path.
 */
export function fixedPkiFile(name: string): string {
  return new URL(`../x509/testdata/${name}`, import.meta.url).pathname;
}

/**
 * Reads a file of the fixed test PKI ({@linkcode fixedPkiFile}).
 *
 * @param name The file name, e.g. `root.pem`.
 * @returns Its text.
 */
export function readFixedPki(name: string): Promise<string> {
  return Deno.readTextFile(fixedPkiFile(name));
}

/**
 * Where `connectTls`/`connectDtls` should go for a local server with the fixed test PKI:
 * 127.0.0.1 on `port`, checked as `localhost`, trusting the fixed root.
 *
 * @param port The server's port.
 * @returns The connect options' target part.
 */
export async function fixedPkiTarget(port: number): Promise<{
  hostname: string;
  port: number;
  serverName: string;
  caCerts: string[];
}> {
  return {
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts: [await readFixedPki("root.pem")],
  };
}

/**
 * The fixed test PKI ({@linkcode fixedPkiFile}) as a server identity: root, intermediate,
 * RSA leaf for localhost / 127.0.0.1, and the client certificate and key.
 */
export const fixedPki: ServerIdentity & {
  /** Client certificate (clientAuth), issued by the intermediate. */
  readonly client: string;
  /** The client certificate's RSA key. */
  readonly clientKey: string;
} = {
  root: fixedPkiFile("root.pem"),
  intermediate: fixedPkiFile("intermediate.pem"),
  leaf: fixedPkiFile("leaf.pem"),
  leafKey: fixedPkiFile("leaf.key"),
  chain: fixedPkiFile("chain.pem"),
  client: fixedPkiFile("client.pem"),
  clientKey: fixedPkiFile("client.key"),
};

/**
 * The fixed test PKI with an ECDSA P-256 server leaf (`ec-leaf.pem`, for localhost /
 * 127.0.0.1, issued by the RSA intermediate) and an ECDSA P-256 client certificate.
 */
export const fixedEcPki: ServerIdentity & {
  /** Client certificate (clientAuth, P-256), issued by the intermediate. */
  readonly client: string;
  /** The client certificate's P-256 key. */
  readonly clientKey: string;
} = {
  root: fixedPkiFile("root.pem"),
  intermediate: fixedPkiFile("intermediate.pem"),
  leaf: fixedPkiFile("ec-leaf.pem"),
  leafKey: fixedPkiFile("ec-leaf.key"),
  chain: fixedPkiFile("ec-chain.pem"),
  client: fixedPkiFile("ec-client.pem"),
  clientKey: fixedPkiFile("ec-client.key"),
};

/** Options for {@linkcode createTestPki}. */
export interface TestPkiOptions {
  /** Where to write; created if missing. @default {a new temporary directory} */
  readonly dir?: string;
  /** RSA key size of every key. @default {2048} */
  readonly bits?: number;
  /** Days the certificates are valid from now. @default {30} */
  readonly days?: number;
}

const PKI_EXTENSIONS = `[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid:always
[ecserver]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid:always
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:urn:anchortls:device:test
authorityKeyIdentifier = keyid:always
`;

/** An `openssl` command failed. */
export class OpenSslCommandError extends Error {
  /**
   * Makes the error.
   *
   * @param message What failed, with openssl's own message.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OpenSslCommandError";
  }
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const detail = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
    throw new OpenSslCommandError(`openssl ${args[0]} failed: ${detail}`);
  }
}

/**
 * Makes a fresh PKI with `openssl`: root CA, intermediate CA, a server certificate for
 * localhost / 127.0.0.1 and a client certificate, all RSA, and a second server certificate
 * with an ECDSA P-256 key. Takes about a second.
 *
 * @param options Directory, key size and validity.
 * @returns The file paths; `await using` (or `remove()`) deletes them.
 * @throws {OpenSslCommandError} When an openssl step fails; the directory is removed then.
 */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const made = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "anchortls-pki-" });
  await Deno.mkdir(dir, { recursive: true });
  const path = (name: string) => `${dir}/${name}`;
  const remove = async () => {
    if (made) await Deno.remove(dir, { recursive: true }).catch(() => {});
    else {
      for (const name of PKI_FILES) await Deno.remove(path(name)).catch(() => {});
    }
  };
  const bits = String(options.bits ?? 2048);
  const days = String(options.days ?? 30);
  const subject = (cn: string) => `/O=anchortls test/CN=${cn}`;
  try {
    await Deno.writeTextFile(path("pki.cnf"), PKI_EXTENSIONS);
    await Promise.all(["root", "intermediate", "leaf", "client"].map((name) =>
      openssl(dir, [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        `rsa_keygen_bits:${bits}`,
        "-out",
        `${name}.key`,
      ])
    ));
    for (const name of ["ec-leaf", "ec-client"]) {
      await openssl(
        dir,
        [
          ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
          ["-out", `${name}.key`],
        ].flat(),
      );
    }
    await openssl(
      dir,
      [
        ["req", "-x509", "-new", "-key", "root.key", "-subj", subject("anchortls test root")],
        ["-days", days, "-sha256", "-config", "pki.cnf", "-extensions", "root", "-out", "root.pem"],
      ].flat(),
    );
    const issue = async (name: string, cn: string, issuer: string, section: string) => {
      await openssl(
        dir,
        ["req", "-new", "-key", `${name}.key`, "-subj", subject(cn)].concat(
          ["-config", "pki.cnf", "-out", `${name}.csr`],
        ),
      );
      await openssl(
        dir,
        [
          ["x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`],
          ["-set_serial", `0x${crypto.getRandomValues(new Uint8Array(12)).toHex()}`],
          ["-days", days, "-sha256", "-extfile", "pki.cnf", "-extensions", section],
          ["-out", `${name}.pem`],
        ].flat(),
      );
      await Deno.remove(path(`${name}.csr`));
    };
    await issue("intermediate", "anchortls test intermediate", "root", "intermediate");
    await Promise.all([
      issue("leaf", "localhost", "intermediate", "server"),
      issue("ec-leaf", "localhost", "intermediate", "ecserver"),
      issue("ec-client", "anchortls test ecdsa client", "intermediate", "client"),
      issue("client", "anchortls test client", "intermediate", "client"),
    ]);
    const intermediate = await Deno.readTextFile(path("intermediate.pem"));
    await Deno.writeTextFile(
      path("chain.pem"),
      await Deno.readTextFile(path("leaf.pem")) + intermediate,
    );
    await Deno.writeTextFile(
      path("ec-chain.pem"),
      await Deno.readTextFile(path("ec-leaf.pem")) + intermediate,
    );
    await Deno.writeTextFile(
      path("ec-client-chain.pem"),
      await Deno.readTextFile(path("ec-client.pem")) + intermediate,
    );
    await Deno.writeTextFile(
      path("client-chain.pem"),
      await Deno.readTextFile(path("client.pem")) + intermediate,
    );
    await Deno.writeTextFile(
      path("cas.pem"),
      await Deno.readTextFile(path("root.pem")) + intermediate,
    );
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    dir,
    root: path("root.pem"),
    intermediate: path("intermediate.pem"),
    leaf: path("leaf.pem"),
    leafKey: path("leaf.key"),
    chain: path("chain.pem"),
    ecLeaf: path("ec-leaf.pem"),
    ecLeafKey: path("ec-leaf.key"),
    ecChain: path("ec-chain.pem"),
    client: path("client.pem"),
    clientKey: path("client.key"),
    clientChain: path("client-chain.pem"),
    ecClient: path("ec-client.pem"),
    ecClientKey: path("ec-client.key"),
    ecClientChain: path("ec-client-chain.pem"),
    cas: path("cas.pem"),
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

const PKI_FILES = [
  "pki.cnf",
  "root.key",
  "root.pem",
  "intermediate.key",
  "intermediate.pem",
  "leaf.key",
  "leaf.pem",
  "client.key",
  "client.pem",
  "chain.pem",
  "ec-leaf.key",
  "ec-leaf.pem",
  "ec-chain.pem",
  "ec-client.key",
  "ec-client.pem",
  "ec-client-chain.pem",
  "client-chain.pem",
  "cas.pem",
];

/** A running server process with its output captured. */
export interface PeerProcess extends AsyncDisposable {
  /** The port it serves on. */
  readonly port: number;
  /** Whether it has exited. */
  readonly exited: boolean;
  /** Everything it printed so far, stdout and stderr interleaved (stdout left out if binary). */
  output(): string;
  /**
   * Waits until its output matches.
   *
   * @param pattern What to look for in the whole output so far.
   * @param timeoutMs How long to wait. @default {10000}
   * @returns The match.
   * @throws {PeerProcessError} When it exits first or the time is up.
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * Writes to its stdin (kept open until `stop`, since openssl closes every connection at
   * end of file on stdin).
   *
   * @param data Text or bytes.
   */
  write(data: string | Uint8Array): Promise<void>;
  /** Stops it (SIGTERM), waits for it to exit and for its output to drain. Idempotent. */
  stop(): Promise<void>;
}

/** A peer process failed to start or did not print what was expected. */
export class PeerProcessError extends Error {
  /**
   * Makes the error.
   *
   * @param message What went wrong, with the process's output.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PeerProcessError";
  }
}

/** How a started process tells that it serves. */
export type Readiness =
  | {
    /** Output that says it is listening; `port` group or first group gives the port. */
    readonly output: RegExp;
  }
  | {
    /** Wait until this port is bound in the kernel's socket table. */
    readonly port: number;
    readonly transport: PortTransport;
  };

/** Options for {@linkcode startPeerProcess}. */
export interface PeerProcessOptions {
  /** Program arguments. */
  readonly args: readonly string[];
  /** How to tell it is ready, and which port it serves on. */
  readonly ready: Readiness;
  /** Environment; `PATH` is passed on unless given here. Nothing else is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  /** Stdout as bytes: passed here instead of to `output()`. */
  readonly onStdout?: (chunk: Uint8Array) => void;
  /** How long to wait for readiness. @default {10000} */
  readonly timeoutMs?: number;
  /** Run when the process has been stopped (e.g. to remove its temporary files). */
  readonly onStop?: () => Promise<void>;
  /**
   * About how many characters of output to keep: past it the oldest chunks are dropped (at
   * least the latest whole chunk stays), so a long run of a server that logs every message
   * (gnutls-serv --echo) does not grow the test's own heap.
   * @default {Infinity}
   */
  readonly maxOutput?: number;
}

/**
 * Starts a server process, captures its output, keeps its stdin open, and waits until it is
 * ready. On any failure it is stopped before the error is thrown.
 *
 * @param command The program.
 * @param options Arguments, readiness and environment.
 * @returns The running process.
 * @throws {PeerProcessError} When it cannot start or never becomes ready.
 */
export async function startPeerProcess(
  command: string,
  options: PeerProcessOptions,
): Promise<PeerProcess> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: [...options.args],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...options.env },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new PeerProcessError(`cannot start ${command}`, { cause: error });
  }
  // Whole chunks, oldest first: dropping old ones frees them (a slice of one long string
  // would keep all of it alive).
  const chunks: string[] = [];
  let kept = 0;
  const maxOutput = options.maxOutput ?? Infinity;
  const text = () => chunks.join("");
  let changed = Promise.withResolvers<void>();
  const notify = () => {
    changed.resolve();
    changed = Promise.withResolvers<void>();
  };
  const collect = async (stream: ReadableStream<Uint8Array>, binary: boolean) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      if (binary) options.onStdout?.(chunk);
      else {
        const piece = decoder.decode(chunk, { stream: true });
        chunks.push(piece);
        kept += piece.length;
        while (chunks.length > 1 && kept - chunks[0]!.length >= maxOutput) {
          kept -= chunks.shift()!.length;
        }
      }
      notify();
    }
  };
  const pumps = Promise.all([
    collect(child.stdout, options.onStdout !== undefined),
    collect(child.stderr, false),
  ]).catch(() => {});
  const stdin = child.stdin.getWriter();
  stdin.closed.catch(() => {});
  let exited = false;
  const status = child.status.then(() => {
    exited = true;
    notify();
  });
  let stopping: Promise<void> | undefined;

  const waitFor = async (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = text().match(pattern);
      if (match) return match;
      if (exited) {
        throw new PeerProcessError(`${command} exited before printing ${pattern}:\n${text()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new PeerProcessError(`${command} did not print ${pattern}:\n${text()}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([changed.promise, new Promise((r) => timer = setTimeout(r, left))]);
      clearTimeout(timer);
    }
  };
  const stop = (): Promise<void> =>
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // It exited between the check and the kill.
        }
      }
      await stdin.close().catch(() => {});
      await status;
      await pumps;
      await options.onStop?.();
    })();

  let port: number;
  try {
    const ready = options.ready;
    if ("output" in ready) {
      const match = await waitFor(ready.output, options.timeoutMs);
      port = Number(match.groups?.port ?? match[1]);
      if (!(port > 0)) throw new PeerProcessError(`${command} printed no port: ${match[0]}`);
    } else {
      port = ready.port;
      await waitForBound(port, ready.transport, options.timeoutMs ?? 10_000, () => exited);
      if (exited) throw new PeerProcessError(`${command} exited:\n${text()}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    get exited() {
      return exited;
    },
    output: text,
    waitFor,
    write: (data) => stdin.write(typeof data === "string" ? new TextEncoder().encode(data) : data),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Polls the kernel's socket tables until a loopback port is bound: TCP in LISTEN state, or a
 * UDP socket. Used for servers that print nothing before their first client; probing with a
 * connection would be taken for a client.
 */
async function waitForBound(
  port: number,
  transport: PortTransport,
  timeoutMs: number,
  exited: () => boolean,
): Promise<void> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const tables = transport === "tcp"
    ? ["/proc/net/tcp", "/proc/net/tcp6"]
    : ["/proc/net/udp", "/proc/net/udp6"];
  const state = transport === "tcp" ? / 0A / : / 07 /;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited()) {
    for (const table of tables) {
      const lines = (await Deno.readTextFile(table).catch(() => "")).split("\n");
      if (lines.some((l) => l.includes(`:${hexPort} `) && state.test(l))) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!exited()) throw new PeerProcessError(`nothing bound ${transport} port ${port}`);
}

/** The server side of a PKI: certificate, key and the chain to send. */
export interface ServerIdentity {
  /** Server certificate (PEM file). */
  readonly leaf: string;
  /** Its key (PEM file). */
  readonly leafKey: string;
  /** Intermediate certificate(s) sent after the leaf (PEM file). */
  readonly intermediate: string;
  /** Server certificate followed by the intermediate (PEM file), for gnutls-serv. */
  readonly chain: string;
  /** CA certificates (PEM file) that client certificates are checked against. */
  readonly root: string;
}

/** Whether and how a server asks for a client certificate. */
export type ClientCertificateMode = "none" | "request" | "require";

/** The four RSA-key-exchange AES-CBC suites, each with its OpenSSL name. */
export const OPENSSL_SUITES: readonly { readonly openssl: string; readonly suite: CipherSuite }[] =
  [
    { openssl: "AES128-SHA", suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA },
    { openssl: "AES256-SHA", suite: CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA },
    { openssl: "AES128-SHA256", suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256 },
    { openssl: "AES256-SHA256", suite: CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256 },
  ];

/** The four RSA-key-exchange AES-CBC suites in OpenSSL's names. */
export const OPENSSL_SUITE_NAMES: readonly string[] = OPENSSL_SUITES.map((s) => s.openssl);

export { OPENSSL_CIPHER_NAMES };

/** Options for {@linkcode startOpenSslServer}. */
export interface OpenSslServerOptions {
  /** Certificates and keys, e.g. a {@linkcode TestPki}. */
  readonly pki: ServerIdentity;
  /** DTLS 1.2 over UDP instead of TLS 1.2 over TCP. @default {false} */
  readonly dtls?: boolean;
  /**
   * `www` (TLS only): answers GET with a status page. `rev` (TLS only): echoes lines reversed.
   * `stdin`: relays stdin to the client and the client's data to stdout, with its normal log.
   * `quiet`: the same relay with `-quiet` (only the client's data on stdout).
   * `brief`: the same relay with `-brief` (the client's data on stdout, a summary of each
   * connection, e.g. `Ciphersuite: AES256-SHA256`, on stderr).
   * @default {"www" for TLS, "stdin" for DTLS}
   */
  readonly mode?: "www" | "rev" | "stdin" | "quiet" | "brief";
  /** OpenSSL suite names to allow. @default {OPENSSL_SUITE_NAMES} */
  readonly ciphers?: readonly string[];
  /** Allow Encrypt-then-MAC. @default {true} */
  readonly encryptThenMac?: boolean;
  /** Allow the extended master secret (off through an `OPENSSL_CONF` file). @default {true} */
  readonly extendedMasterSecret?: boolean;
  /** Ask for a client certificate. @default {"none"} */
  readonly clientCertificate?: ClientCertificateMode;
  /** DTLS path MTU; without it openssl fragments its flights into ~100-byte pieces. */
  readonly mtu?: number;
  /** Further `s_server` arguments, e.g. `-trace`. */
  readonly extraArgs?: readonly string[];
  /** Run when the server has been stopped, e.g. to remove files made for it. */
  readonly onStop?: () => Promise<void>;
  /**
   * Stdout as bytes (with `quiet` or `brief`, where stdout is the client's data), instead of
   * into `output()`: e.g. to count and hash what the client sent.
   */
  readonly onStdout?: (chunk: Uint8Array) => void;
}

/**
 * Starts `openssl s_server` (TLS 1.2, or DTLS 1.2 with cookies) on a free loopback port. It
 * binds port 0 and its `ACCEPT` line gives the port, so no other process can take it first
 * (`quiet` and `brief` print nothing before the first client, so there a free port is picked
 * and watched instead).
 *
 * @example
 * ```ts ignore
 * import { createTestPki, startOpenSslServer } from "@anchortls/testing";
 * await using pki = await createTestPki();
 * await using dtls = await startOpenSslServer({ pki, dtls: true, mtu: 1400 });
 * console.log(dtls.port);
 * ```
 *
 * @param options Identity, protocol, mode and what to allow.
 * @returns The running server.
 * @throws {PeerProcessError} When it does not start.
 */
export async function startOpenSslServer(options: OpenSslServerOptions): Promise<PeerProcess> {
  const dtls = options.dtls ?? false;
  const mode = options.mode ?? (dtls ? "stdin" : "www");
  if (dtls && (mode === "www" || mode === "rev")) {
    throw new TypeError(`openssl s_server -${mode} does not work with DTLS`);
  }
  const { pki } = options;
  const silent = mode === "quiet" || mode === "brief";
  const quietPort = !silent ? 0 : dtls ? await freeUdpPort() : freePort();
  const clientCertificate = options.clientCertificate ?? "none";
  const args = [
    ["s_server", "-accept", `127.0.0.1:${quietPort}`, dtls ? "-dtls1_2" : "-tls1_2"],
    ["-cipher", (options.ciphers ?? OPENSSL_SUITE_NAMES).join(":")],
    ["-cert", pki.leaf, "-cert_chain", pki.intermediate, "-key", pki.leafKey],
    options.encryptThenMac === false ? ["-no_etm"] : [],
    clientCertificate === "request" ? ["-verify", "3", "-CAfile", pki.root] : [],
    clientCertificate === "require"
      ? ["-Verify", "3", "-CAfile", pki.root, "-verify_return_error"]
      : [],
    options.mtu !== undefined ? ["-mtu", String(options.mtu)] : [],
    mode === "stdin" ? [] : [`-${mode}`],
    [...(options.extraArgs ?? [])],
  ].flat();
  const env: Record<string, string> = {};
  let confDir: string | undefined;
  if (options.extendedMasterSecret === false) {
    confDir = await Deno.makeTempDir({ prefix: "anchortls-openssl-" });
    env.OPENSSL_CONF = `${confDir}/no-ems.cnf`;
    await Deno.writeTextFile(env.OPENSSL_CONF, NO_EMS_CONF);
  }
  const onStop = async () => {
    if (confDir) await Deno.remove(confDir, { recursive: true }).catch(() => {});
    await options.onStop?.();
  };
  return await startPeerProcess("openssl", {
    args,
    env,
    ready: silent
      ? { port: quietPort, transport: dtls ? "udp" : "tcp" }
      : { output: /ACCEPT \S+:(\d+)/ },
    ...(options.onStdout ? { onStdout: options.onStdout } : {}),
    onStop,
  });
}

const NO_EMS_CONF = `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
`;

/** Options for {@linkcode startGnutlsServer}. */
export interface GnutlsServerOptions {
  /** Certificates and keys, e.g. a {@linkcode TestPki} (its `chain` is sent). */
  readonly pki: ServerIdentity;
  /** DTLS 1.2 over UDP (`-u`, cookies on). @default {false} */
  readonly dtls?: boolean;
  /** Cipher and MAC priority items. @default {all four suites} */
  readonly ciphers?: string;
  /** Key exchange priority items, e.g. `+ECDHE-ECDSA:+ECDHE-RSA`. @default {"+RSA"} */
  readonly keyExchanges?: string;
  /** Allow Encrypt-then-MAC. @default {true} */
  readonly encryptThenMac?: boolean;
  /** Allow the extended master secret. @default {true} */
  readonly extendedMasterSecret?: boolean;
  /** Ask for a client certificate. @default {"none"} */
  readonly clientCertificate?: ClientCertificateMode;
  /** Debug level (`-d`); 4 logs the suite and extensions, 5 the alerts received. */
  readonly debug?: number;
  /** Further `gnutls-serv` arguments. */
  readonly extraArgs?: readonly string[];
  /** Most characters of its output kept (see {@linkcode PeerProcessOptions.maxOutput}). */
  readonly maxOutput?: number;
}

/**
 * Starts `gnutls-serv --echo` (TLS 1.2 or DTLS 1.2; RSA key exchange unless `keyExchanges`
 * says otherwise) on a free port.
 * It listens on every address and cannot be bound to one: connect to 127.0.0.1.
 *
 * @param options Identity, protocol and what to allow.
 * @returns The running server.
 * @throws {PeerProcessError} When it does not start (is `gnutls-bin` installed?).
 */
export async function startGnutlsServer(options: GnutlsServerOptions): Promise<PeerProcess> {
  const dtls = options.dtls ?? false;
  const port = dtls ? await freeUdpPort() : freePort();
  const clientCertificate = options.clientCertificate ?? "none";
  const priority = [
    "NORMAL:-VERS-ALL",
    dtls ? "+VERS-DTLS1.2" : "+VERS-TLS1.2",
    `-KX-ALL:${options.keyExchanges ?? "+RSA"}:-CIPHER-ALL:-MAC-ALL`,
    options.ciphers ?? "+AES-128-CBC:+AES-256-CBC:+SHA1:+SHA256",
    ...(options.encryptThenMac === false ? ["%NO_ETM"] : []),
    ...(options.extendedMasterSecret === false ? ["%NO_SESSION_HASH"] : []),
  ].join(":");
  const args = [
    ["-p", String(port), "--echo", ...(dtls ? ["-u"] : [])],
    [`--x509certfile=${options.pki.chain}`, `--x509keyfile=${options.pki.leafKey}`],
    [`--priority=${priority}`],
    clientCertificate === "none"
      ? ["-a"]
      : ["--verify-client-cert", `--x509cafile=${options.pki.root}`],
    clientCertificate === "require" ? ["-r"] : [],
    options.debug !== undefined ? ["-d", String(options.debug)] : [],
    [...(options.extraArgs ?? [])],
  ].flat();
  return await startPeerProcess("gnutls-serv", {
    args,
    ...(options.maxOutput === undefined ? {} : { maxOutput: options.maxOutput }),
    ready: { output: new RegExp(`listening on IPv4 \\S+ port (${port})\\.\\.\\.done`) },
  });
}

/**
 * Where mbedTLS's `ssl_server2` is, the DTLS Connection ID (RFC 9146) peer: `$MBEDTLS_SSL_SERVER2`,
 * or the build `tools/build_mbedtls_server.sh` leaves in the cache (`.ci/run` runs it).
 *
 * @returns The path, or `undefined` when it has not been built here.
 */
export async function mbedtlsServerPath(): Promise<string | undefined> {
  const home = Deno.env.get("HOME") ?? "";
  const cache = Deno.env.get("ANCHORTLS_PEERS_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/anchortls`;
  for (
    const path of [
      Deno.env.get("MBEDTLS_SSL_SERVER2"),
      `${cache}/mbedtls-3.6.6/programs/ssl/ssl_server2`,
    ]
  ) {
    if (path && await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
  }
  return undefined;
}

/** Options for {@linkcode startMbedtlsServer}. */
export interface MbedtlsServerOptions {
  /** Certificates and keys (its `chain` is sent). */
  readonly pki: ServerIdentity;
  /** DTLS 1.2 over UDP. @default {false} */
  readonly dtls?: boolean;
  /** Further `ssl_server2` arguments (`name=value`), e.g. `cid=1`, `cid_val=beef`, `etm=0`. */
  readonly extraArgs?: readonly string[];
}

/**
 * Starts mbedTLS's `ssl_server2` on a free loopback port: it answers each client's request
 * with a small HTTP page naming the suite, then waits for the next client.
 *
 * @param options Identity, protocol and extra arguments.
 * @returns The running server.
 * @throws {PeerProcessError} When it is not built ({@linkcode mbedtlsServerPath}) or does not start.
 */
export async function startMbedtlsServer(options: MbedtlsServerOptions): Promise<PeerProcess> {
  const binary = await mbedtlsServerPath();
  if (!binary) {
    throw new PeerProcessError("ssl_server2 is not built: run tools/build_mbedtls_server.sh");
  }
  const dtls = options.dtls ?? false;
  const port = dtls ? await freeUdpPort() : freePort();
  return await startPeerProcess(binary, {
    args: [
      `server_addr=127.0.0.1`,
      `server_port=${port}`,
      `dtls=${dtls ? 1 : 0}`,
      `crt_file=${options.pki.chain}`,
      `key_file=${options.pki.leafKey}`,
      "auth_mode=none",
      ...(options.extraArgs ?? []),
    ],
    ready: { port, transport: dtls ? "udp" : "tcp" },
  });
}

/** Options for {@linkcode startMosquitto}. */
export interface MosquittoOptions {
  /** The broker's certificate chain and key, and the CAs it trusts for clients. */
  readonly pki: ServerIdentity & { readonly cas?: string };
  /** Refuse clients without a certificate from those CAs. @default {false} */
  readonly requireCertificate?: boolean;
}

/**
 * Starts mosquitto with one TLS listener on a free loopback port, no persistence, anonymous
 * clients allowed (or, with `requireCertificate`, only clients with a certificate). Its
 * configuration goes to a temporary directory removed when it stops.
 *
 * @param options Identity and client authentication.
 * @returns The running broker.
 * @throws {PeerProcessError} When it does not start (is the `mosquitto` package installed?).
 */
export async function startMosquitto(options: MosquittoOptions): Promise<PeerProcess> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "anchortls-mosquitto-" });
  const config = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(
    config,
    [
      `listener ${port} 127.0.0.1`,
      `cafile ${options.pki.cas ?? options.pki.root}`,
      `certfile ${options.pki.chain}`,
      `keyfile ${options.pki.leafKey}`,
      ...(options.requireCertificate ? ["require_certificate true"] : []),
      "allow_anonymous true",
      "persistence false",
      // Run as root (as CI is), mosquitto would drop to its own user, which cannot read a
      // generated PKI's private directory; as anyone else this is ignored.
      "user root",
      "",
    ].join("\n"),
  );
  return await startPeerProcess("mosquitto", {
    args: ["-c", config],
    ready: { port, transport: "tcp" },
    timeoutMs: 5000,
    onStop: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  });
}
