/**
 * Starts real TLS servers (`openssl s_server`, `gnutls-serv`) on free loopback ports for the
 * interop tests, captures their output, and always stops them.
 *
 * Needs `--allow-run` (openssl, gnutls-serv), `--allow-net=127.0.0.1`, `--allow-read` for the
 * test PKI and `--allow-write` for the temporary directory of generated certificates.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";

/** The x509 package's test PKI. */
export function pki(name: string): string {
  return new URL(`../../x509/testdata/${name}`, import.meta.url).pathname;
}

/** Reads a test PKI file as text. */
export function pkiText(name: string): Promise<string> {
  return Deno.readTextFile(pki(name));
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running server process. */
export interface Peer {
  readonly port: number;
  /** Everything it printed so far (stdout and stderr, or stderr only with `binaryStdout`). */
  text(): string;
  /** Waits until its output matches, or fails after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Its stdin, when it was started with `stdin: true`. */
  readonly stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  /** With `binaryStdout`: bytes printed on stdout so far and their running SHA-256. */
  stdoutBytes(): { length: number; sha256: () => string };
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

/** How {@linkcode spawn} starts a peer and tells that it is ready. */
export interface SpawnOptions {
  readonly args: string[];
  readonly port: number;
  readonly env?: Record<string, string>;
  readonly stdin?: boolean;
  readonly binaryStdout?: boolean;
  /** Output that says it is listening; without one, wait for the port to be in LISTEN state. */
  readonly ready?: RegExp;
}

/**
 * Starts a peer process and waits until it is ready (TLS and DTLS interop tests share it).
 *
 * @param command The program.
 * @param options Arguments, port, environment and readiness.
 * @returns The running peer.
 */
export async function spawn(command: string, options: SpawnOptions): Promise<Peer> {
  const child = new Deno.Command(command, {
    args: options.args,
    env: options.env ?? {},
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let changed = Promise.withResolvers<void>();
  const hasher = sha256.create();
  let stdoutLength = 0;
  const collect = async (stream: ReadableStream<Uint8Array>, binary: boolean) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      if (binary) {
        hasher.update(chunk);
        stdoutLength += chunk.length;
      } else {
        text += decoder.decode(chunk, { stream: true });
      }
      changed.resolve();
      changed = Promise.withResolvers<void>();
    }
  };
  const pumps = Promise.all([
    collect(child.stdout, options.binaryStdout ?? false),
    collect(child.stderr, false),
  ]);
  const stdin = options.stdin ? child.stdin.getWriter() : undefined;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    changed.resolve();
    return s;
  });

  const peer: Peer = {
    port: options.port,
    text: () => text,
    stdin,
    stdoutBytes: () => ({ length: stdoutLength, sha256: () => hasher.clone().digest().toHex() }),
    async waitFor(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (exited) throw new Error(`${command} exited before printing ${pattern}:\n${text}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${command} did not print ${pattern}:\n${text}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([changed.promise, new Promise((r) => timer = setTimeout(r, left))]);
        clearTimeout(timer);
      }
    },
    async stop() {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // It exited between the check and the kill.
        }
      }
      await stdin?.close().catch(() => {});
      await status;
      await pumps;
    },
  };
  try {
    if (options.ready) await peer.waitFor(options.ready);
    else await waitForListen(options.port, () => exited);
  } catch (error) {
    await peer.stop();
    throw error;
  }
  return peer;
}

/**
 * Polls the kernel's socket table until the port is listening. Used for `s_server -brief`,
 * which prints nothing before its first connection; a probe connection would be taken for a
 * client.
 */
async function waitForListen(port: number, exited: () => boolean): Promise<void> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !exited()) {
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      const lines = (await Deno.readTextFile(table).catch(() => "")).split("\n");
      if (lines.some((l) => l.includes(`:${hexPort} `) && / 0A /.test(l))) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** The four suites in OpenSSL's names. */
export const OPENSSL_SUITES = ["AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES256-SHA256"];

/** Options for {@linkcode startOpenSsl}. */
export interface OpenSslOptions {
  /** OpenSSL cipher names to allow. @default {OPENSSL_SUITES} */
  readonly ciphers?: readonly string[];
  readonly encryptThenMac?: boolean;
  readonly extendedMasterSecret?: boolean;
  /**
   * `www`: the `-www` status page (default). `stdin`: `-brief`, relaying its stdin to the
   * client and the client's data to stdout (hashed as binary). `console`: stdin relay with
   * the normal text output (plus whatever `extraArgs` adds, e.g. `-msg`), and stdin commands.
   */
  readonly mode?: "www" | "stdin" | "console";
  readonly cert?: string;
  readonly chain?: string;
  readonly key?: string;
  readonly extraArgs?: readonly string[];
  /** Directory for the EMS-off OpenSSL config. */
  readonly tempDir: string;
}

/**
 * Starts `openssl s_server -tls1_2` on a free port.
 *
 * @param options What to allow and how to answer.
 * @returns The running server.
 */
export async function startOpenSsl(options: OpenSslOptions): Promise<Peer> {
  const port = freePort();
  const mode = options.mode ?? "www";
  const args = [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    "-tls1_2",
    "-cipher",
    (options.ciphers ?? OPENSSL_SUITES).join(":"),
    "-cert",
    options.cert ?? pki("leaf.pem"),
    "-cert_chain",
    options.chain ?? pki("intermediate.pem"),
    "-key",
    options.key ?? pki("leaf.key"),
    ...(options.encryptThenMac === false ? ["-no_etm"] : []),
    ...(mode === "www" ? ["-www"] : mode === "stdin" ? ["-brief"] : []),
    ...(options.extraArgs ?? []),
  ];
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  if (options.extendedMasterSecret === false) {
    const conf = `${options.tempDir}/no-ems.cnf`;
    await Deno.writeTextFile(
      conf,
      [
        "openssl_conf = openssl_init",
        "[openssl_init]",
        "ssl_conf = ssl_sect",
        "[ssl_sect]",
        "system_default = system_default_sect",
        "[system_default_sect]",
        "Options = -ExtendedMasterSecret",
        "",
      ].join("\n"),
    );
    env.OPENSSL_CONF = conf;
  }
  return await spawn("openssl", {
    args,
    port,
    env,
    stdin: mode !== "www",
    binaryStdout: mode === "stdin",
    ...(mode === "stdin" ? {} : { ready: /ACCEPT/ }),
  });
}

/** Options for {@linkcode startGnutls}. */
export interface GnutlsOptions {
  /** Cipher and MAC priority items. @default {all four suites} */
  readonly ciphers?: string;
  readonly encryptThenMac?: boolean;
  readonly extendedMasterSecret?: boolean;
  readonly requireClientCertificate?: boolean;
  /** Debug level; 5 logs received alerts as `Alert[level|code]`. */
  readonly debug?: number;
  /** PEM file with the leaf and its intermediate. */
  readonly chainFile: string;
  /** The leaf's key. @default {the test PKI's leaf.key} */
  readonly keyFile?: string;
}

/**
 * Starts `gnutls-serv --echo` (TLS 1.2, RSA key exchange) on a free port.
 *
 * @param options What to allow.
 * @returns The running server.
 */
export async function startGnutls(options: GnutlsOptions): Promise<Peer> {
  const port = freePort();
  const ciphers = options.ciphers ?? "+AES-128-CBC:+AES-256-CBC:+SHA1:+SHA256";
  const priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA:-CIPHER-ALL:-MAC-ALL:" + ciphers +
    (options.encryptThenMac === false ? ":%NO_ETM" : "") +
    (options.extendedMasterSecret === false ? ":%NO_SESSION_HASH" : "");
  const args = [
    "-p",
    String(port),
    "--echo",
    `--x509certfile=${options.chainFile}`,
    `--x509keyfile=${options.keyFile ?? pki("leaf.key")}`,
    `--priority=${priority}`,
    ...(options.requireClientCertificate
      ? ["--verify-client-cert", `--x509cafile=${pki("root.pem")}`, "-r"]
      : []),
    ...(options.debug ? ["-d", String(options.debug)] : []),
  ];
  return await spawn("gnutls-serv", { args, port, ready: /listening on IPv4[^\n]*done/ });
}

/** A root and a leaf for localhost that expired in 2021, made with `openssl ca`. */
export async function expiredServerCertificate(
  dir: string,
): Promise<{ cert: string; key: string; root: string }> {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "01\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    `[ca]\ndefault_ca = x\n[x]\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}\n` +
      `serial = ${dir}/serial\n` +
      `certificate = ${dir}/exp-root.pem\nprivate_key = ${dir}/exp-root.key\ndefault_md = sha256\n` +
      `policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n` +
      `[server]\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n` +
      `extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n`,
  );
  await run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "exp-root.key",
    "-out",
    "exp-root.pem",
    "-subj",
    "/CN=anchortls expired test root",
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  await run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "exp-leaf.key",
    "-out",
    "exp-leaf.csr",
    "-subj",
    "/CN=localhost",
  );
  await run(
    "ca",
    "-batch",
    "-notext",
    "-config",
    "ca.cnf",
    "-extfile",
    "ca.cnf",
    "-extensions",
    "server",
    "-rand_serial",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20210101000000Z",
    "-in",
    "exp-leaf.csr",
    "-out",
    "exp-leaf.pem",
  );
  return { cert: `${dir}/exp-leaf.pem`, key: `${dir}/exp-leaf.key`, root: `${dir}/exp-root.pem` };
}

/** A TCP proxy in front of a server, for fault injection. */
export interface Proxy {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Forwards one connection to `targetPort` and flips the last byte of the first
 * application_data record the server sends, so the client's MAC check must fail.
 *
 * @param targetPort The real server's port.
 * @returns The proxy.
 */
export function startRecordCorruptingProxy(targetPort: number): Proxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const done = (async () => {
    const client = await listener.accept().catch(() => undefined);
    if (!client) return;
    const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    conns.push(client, server);
    const upstream = client.readable.pipeTo(server.writable).catch(() => {});
    let buffer = new Uint8Array(0);
    let corrupted = false;
    const writer = client.writable.getWriter();
    try {
      for await (const chunk of server.readable) {
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        buffer = joined;
        // Forward whole records only, so the one to corrupt can be found by its header.
        let at = 0;
        while (buffer.length - at >= 5) {
          const length = (buffer[at + 3]! << 8) | buffer[at + 4]!;
          if (buffer.length - at < 5 + length) break;
          const record = buffer.slice(at, at + 5 + length);
          if (!corrupted && record[0] === 23) {
            record[record.length - 1]! ^= 0x01;
            corrupted = true;
          }
          await writer.write(record);
          at += 5 + length;
        }
        buffer = buffer.slice(at);
      }
    } catch {
      // Either side went away; the test checks what each of them saw.
    }
    await writer.close().catch(() => {});
    await upstream;
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async stop() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await done;
    },
  };
}
