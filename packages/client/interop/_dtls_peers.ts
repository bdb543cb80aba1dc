/**
 * Real DTLS servers for the interop tests, started on 127.0.0.1 at a free UDP port:
 * `openssl s_server -dtls1_2` (always with the cookie exchange) and `gnutls-serv -u --echo`.
 *
 * @module
 */

import dgram from "node:dgram";
import { type CipherSuite, CipherSuites } from "@anchortls/record";
import { type Peer, pki, spawn } from "./_peers.ts";

/** The four suites with their OpenSSL names. */
export const DTLS_SUITES: readonly { readonly openssl: string; readonly suite: CipherSuite }[] = [
  { openssl: "AES128-SHA", suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA },
  { openssl: "AES256-SHA", suite: CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA },
  { openssl: "AES128-SHA256", suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256 },
  { openssl: "AES256-SHA256", suite: CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256 },
];

/**
 * Finds a UDP port free on every address (gnutls-serv binds all of them).
 *
 * @returns The port.
 */
export async function freeUdpPort(): Promise<number> {
  for (;;) {
    const socket = dgram.createSocket({ type: "udp6", ipv6Only: false });
    const port = await new Promise<number>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "::", () => resolve(socket.address().port));
    }).catch(() => 0);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (port !== 0) return port;
  }
}

/** Options for {@linkcode startOpenSslDtls}. */
export interface OpenSslDtlsOptions {
  /** `-mtu`: without it, s_server cuts its Certificate into ~100-byte fragments. */
  readonly mtu?: number;
  /** Turn Encrypt-then-MAC off on the server. */
  readonly encryptThenMac?: boolean;
  /** Require a client certificate chaining to the test root. */
  readonly requireClientCertificate?: boolean;
}

/**
 * Starts `openssl s_server -dtls1_2`; its stdin goes to the client and what the client sends
 * shows in `text()`.
 *
 * @param options MTU, EtM and client authentication.
 * @returns The running server.
 */
export async function startOpenSslDtls(options: OpenSslDtlsOptions = {}): Promise<Peer> {
  const port = await freeUdpPort();
  const args = [
    "s_server",
    "-dtls1_2",
    "-accept",
    `127.0.0.1:${port}`,
    "-cipher",
    DTLS_SUITES.map((s) => s.openssl).join(":"),
    "-cert",
    pki("leaf.pem"),
    "-cert_chain",
    pki("intermediate.pem"),
    "-key",
    pki("leaf.key"),
    ...(options.mtu ? ["-mtu", String(options.mtu)] : []),
    ...(options.encryptThenMac === false ? ["-no_etm"] : []),
    ...(options.requireClientCertificate
      ? ["-Verify", "3", "-verify_return_error", "-CAfile", pki("root.pem")]
      : []),
  ];
  return await spawn("openssl", {
    args,
    port,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    stdin: true,
    ready: /ACCEPT/,
  });
}

/** Options for {@linkcode startGnutlsDtls}. */
export interface GnutlsDtlsOptions {
  /** The cookie exchange. @default {true} */
  readonly cookie?: boolean;
  /** Turn Encrypt-then-MAC off on the server. */
  readonly encryptThenMac?: boolean;
  /** Require a client certificate chaining to the test root. */
  readonly requireClientCertificate?: boolean;
}

/**
 * Starts `gnutls-serv -u --echo` (DTLS 1.2, RSA key exchange, the four suites).
 *
 * @param options Cookies, EtM and client authentication.
 * @returns The running server.
 */
export async function startGnutlsDtls(options: GnutlsDtlsOptions = {}): Promise<Peer> {
  const port = await freeUdpPort();
  const priority = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+RSA:-CIPHER-ALL:-MAC-ALL:" +
    "+AES-128-CBC:+AES-256-CBC:+SHA1:+SHA256" +
    (options.encryptThenMac === false ? ":%NO_ETM" : "");
  const args = [
    "-u",
    "-p",
    String(port),
    "--echo",
    `--x509certfile=${pki("chain.pem")}`,
    `--x509keyfile=${pki("leaf.key")}`,
    `--priority=${priority}`,
    ...(options.cookie === false ? ["--nocookie"] : []),
    ...(options.requireClientCertificate
      ? ["--verify-client-cert", `--x509cafile=${pki("root.pem")}`, "-r"]
      : ["-a"]),
  ];
  return await spawn("gnutls-serv", { args, port, ready: /listening on IPv4[^\n]*done/ });
}
