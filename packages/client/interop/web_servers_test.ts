/**
 * The servers issue 16 names as refusing RSA key transport, tried as a new user would: nginx
 * with Mozilla's widely copied "intermediate" TLS configuration (ECDHE with AEAD only), Deno's
 * own `Deno.serve` (rustls), and Python's default server context. Each serves a page over TLS
 * 1.2 to `connectTls` with the default offer; the test checks the suite is forward-secret AEAD
 * and the page arrives. nginx runs when the Debian package is installed (`.ci/run` installs it),
 * Python when `python3` is on the PATH.
 */

import assert from "node:assert/strict";
import {
  commandAvailable,
  createTestPki,
  freePort,
  startPeerProcess,
  type TestPki,
} from "@anchortls/testing";
import { connectTls, type ConnectTlsOptions, type HandshakeInfo, SessionCache } from "../mod.ts";

const encoder = new TextEncoder();

/**
 * GET / over our TLS 1.2 client; the response up to `until` (or to close_notify) and what was
 * negotiated. Python's http.server closes the TCP connection without close_notify, which we
 * report as truncation; HTTP's Content-Length delimits the page anyway.
 */
async function get(
  port: number,
  pki: TestPki,
  until?: string,
  extra: Partial<ConnectTlsOptions> = {},
): Promise<{ info: HandshakeInfo; page: string }> {
  const tls = await connectTls({
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(pki.root)],
    ...extra,
  });
  try {
    const info = await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(
      encoder.encode("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    );
    writer.releaseLock();
    if (!until) return { info, page: await new Response(tls.readable).text() };
    const decoder = new TextDecoder();
    let page = "";
    for await (const chunk of tls.readable) {
      page += decoder.decode(chunk, { stream: true });
      if (page.includes(until)) break;
    }
    return { info, page };
  } finally {
    await tls.close();
  }
}

function assertForwardSecretAead(info: HandshakeInfo, who: string): void {
  assert.notEqual(info.suite.keyExchange, "rsa", `${who}: ${info.suite.name}`);
  assert.equal(info.suite.kind, "aead", `${who}: ${info.suite.name}`);
  assert.equal(info.extendedMasterSecret, true, who);
}

/** Mozilla's intermediate configuration (ssl-config.mozilla.org, v5.7) for TLS 1.2. */
const INTERMEDIATE_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "DHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES256-GCM-SHA384",
  "DHE-RSA-CHACHA20-POLY1305",
].join(":");

/** Mozilla's session settings; without them, nginx's defaults: tickets on, no session cache. */
const MOZILLA_SESSIONS = "ssl_session_timeout 1d;\n    ssl_session_cache shared:anchortls:1m;";

function nginxConfig(
  dir: string,
  port: number,
  certificates: string,
  sessions = MOZILLA_SESSIONS,
): string {
  return `
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name localhost;
    ${certificates}
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${INTERMEDIATE_CIPHERS};
    ssl_prefer_server_ciphers off;
    ${sessions}
    location / { return 200 "hello from nginx\\n"; }
  }
}
`;
}

Deno.test({
  name:
    "nginx with Mozilla's intermediate configuration: RSA and ECDSA certificates, default offer",
  ignore: !(await commandAvailable("nginx", ["-v"])),
  async fn(t) {
    await using pki = await createTestPki();
    const certificates = {
      rsa: `ssl_certificate ${pki.chain}; ssl_certificate_key ${pki.leafKey};`,
      ecdsa: `ssl_certificate ${pki.ecChain}; ssl_certificate_key ${pki.ecLeafKey};`,
    };
    for (const [kind, config] of Object.entries(certificates)) {
      await t.step(`${kind} certificate`, async () => {
        const dir = await Deno.makeTempDir({ prefix: "anchortls-nginx-" });
        try {
          const port = freePort();
          await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConfig(dir, port, config));
          await using _nginx = await startPeerProcess("nginx", {
            args: ["-p", dir, "-c", `${dir}/nginx.conf`],
            ready: { port, transport: "tcp" },
          });
          const { info, page } = await get(port, pki);
          assertForwardSecretAead(info, "nginx");
          assert.equal(info.suite.keyExchange, kind === "rsa" ? "ecdhe_rsa" : "ecdhe_ecdsa");
          assert.match(page, /^HTTP\/1\.1 200 OK\r\n/);
          assert.match(page, /hello from nginx/);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  },
});

Deno.test({
  name: "nginx with its default session settings resumes us only by session ticket",
  ignore: !(await commandAvailable("nginx", ["-v"])),
  async fn() {
    await using pki = await createTestPki();
    const dir = await Deno.makeTempDir({ prefix: "anchortls-nginx-" });
    try {
      const port = freePort();
      const certificates = `ssl_certificate ${pki.chain}; ssl_certificate_key ${pki.leafKey};`;
      await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConfig(dir, port, certificates, ""));
      await using _nginx = await startPeerProcess("nginx", {
        args: ["-p", dir, "-c", `${dir}/nginx.conf`],
        ready: { port, transport: "tcp" },
      });
      const session = new SessionCache();
      const first = await get(port, pki, "hello from nginx", { session });
      assert.equal(first.info.resumed, false);
      assert.ok(first.info.session?.ticket, "nginx issued a ticket");
      const second = await get(port, pki, "hello from nginx", { session });
      assert.equal(second.info.resumed, true, "resumed by the ticket");
      assert.match(second.page, /hello from nginx/);
      const byId = await get(port, pki, "hello from nginx", { session, sessionTickets: false });
      assert.equal(byId.info.resumed, false, "nginx keeps no session cache by default");
      session.clear();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("Deno.serve (rustls) over TLS 1.2: the default offer is taken", async () => {
  await using pki = await createTestPki();
  for (
    const [kind, cert, key] of [
      ["rsa", pki.chain, pki.leafKey],
      ["ecdsa", pki.ecChain, pki.ecLeafKey],
    ] as const
  ) {
    const ready = Promise.withResolvers<number>();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(cert),
      key: await Deno.readTextFile(key),
      onListen: ({ port }) => ready.resolve(port),
    }, () => new Response("hello from Deno.serve\n"));
    try {
      const { info, page } = await get(await ready.promise, pki);
      assertForwardSecretAead(info, `Deno.serve ${kind}`);
      assert.match(page, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(page, /hello from Deno.serve/);
    } finally {
      await server.shutdown();
    }
  }
});

const PYTHON_SERVER = `
import http.server, ssl, sys
port, chain, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from python\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(chain, key)
httpd = http.server.HTTPServer(("127.0.0.1", port), Hello)
httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
print("listening", flush=True)
httpd.serve_forever()
`;

Deno.test({
  name: "Python's default server context (ssl.create_default_context) serves us",
  ignore: !(await commandAvailable("python3", ["--version"])),
  async fn() {
    await using pki = await createTestPki();
    const port = freePort();
    await using _python = await startPeerProcess("python3", {
      args: ["-c", PYTHON_SERVER, String(port), pki.chain, pki.leafKey],
      ready: { port, transport: "tcp" },
    });
    const { info, page } = await get(port, pki, "hello from python\n");
    assertForwardSecretAead(info, "python");
    assert.match(page, /hello from python/);
  },
});
