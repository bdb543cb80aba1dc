import assert from "node:assert/strict";
import { CertificateError } from "@anchortls/x509";
import { fixedPki, startOpenSslServer } from "@anchortls/testing";
import {
  connectTls,
  loadTrustStore,
  SYSTEM_CA_DIRS,
  SYSTEM_CA_FILES,
  systemTrustStore,
  TrustStoreError,
} from "./mod.ts";

const debianBundle = "/etc/ssl/certs/ca-certificates.crt";
const hasDebianBundle = await Deno.stat(debianBundle).then((s) => s.isFile, () => false);

Deno.test("trust store: SSL_CERT_FILE names the one bundle; a missing one is a TrustStoreError naming it", async () => {
  const anchors = await loadTrustStore({ certFile: fixedPki.root });
  assert.equal(anchors.length, 1);
  assert.match(anchors[0]!.subject.toString(), /anchortls test root/);
  const error = await loadTrustStore({ certFile: "/nonexistent/bundle.pem" }).catch((e) => e);
  assert.ok(error instanceof TrustStoreError);
  assert.deepEqual(error.paths, ["/nonexistent/bundle.pem"]);
  assert.match(error.message, /\/nonexistent\/bundle\.pem.*caCerts.*SSL_CERT_FILE/s);
});

Deno.test("trust store: SSL_CERT_DIR folders are read file by file; other files are skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-certdir-" });
  try {
    await Deno.copyFile(fixedPki.root, `${dir}/root.pem`);
    await Deno.copyFile(fixedPki.intermediate, `${dir}/intermediate.crt`);
    await Deno.writeTextFile(`${dir}/README.txt`, "not a certificate");
    const anchors = await loadTrustStore({ certDir: `/nonexistent:${dir}` });
    assert.equal(anchors.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trust store: with nothing anywhere the error lists every bundle and folder tried", async () => {
  const empty = await Deno.makeTempDir({ prefix: "anchortls-nocerts-" });
  try {
    const error = await loadTrustStore({
      files: ["/nonexistent/a.pem", "/nonexistent/b.crt"],
      dirs: [empty],
    })
      .catch((e) => e);
    assert.ok(error instanceof TrustStoreError);
    assert.deepEqual(error.paths, ["/nonexistent/a.pem", "/nonexistent/b.crt", empty]);
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test({
  name: "trust store: the system bundle is read once and kept",
  ignore: !hasDebianBundle,
  async fn() {
    // The distribution's own places, whatever the environment says.
    const system = await loadTrustStore({ files: SYSTEM_CA_FILES, dirs: SYSTEM_CA_DIRS });
    assert.ok(system.length > 50, `${system.length} roots`);
    const first = await systemTrustStore();
    assert.ok(first.length > 50, `${first.length} roots`);
    assert.equal(await systemTrustStore(), first, "the same anchors, not read again");
  },
});

Deno.test({
  name:
    "trust store: connectTls without caCerts trusts the system roots — and so refuses the test PKI",
  ignore: !hasDebianBundle,
  async fn() {
    await using server = await startOpenSslServer({ pki: fixedPki });
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
    });
    await assert.rejects(tls.handshake, (e) => e instanceof CertificateError);
    await tls.close();
  },
});

Deno.test("trust store: connectTls without caCerts takes SSL_CERT_FILE from the environment", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki });
  const script = `import { connectTls } from "@anchortls/client";
const tls = await connectTls({ hostname: "127.0.0.1", port: ${server.port}, serverName: "localhost" });
const info = await tls.handshake;
await tls.close();
Deno.stdout.writeSync(new TextEncoder().encode(info.suite.name));`;
  const run = (certFile: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: new URL(".", import.meta.url).pathname,
      // An empty SSL_CERT_DIR counts as unset: only the file is tried.
      env: { SSL_CERT_FILE: certFile, SSL_CERT_DIR: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run(fixedPki.root);
  assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
  assert.match(new TextDecoder().decode(ok.stdout), /^TLS_RSA_WITH_AES_/);
  const missing = await run("/nonexistent/bundle.pem");
  assert.notEqual(missing.code, 0);
  assert.match(
    new TextDecoder().decode(missing.stderr),
    /TrustStoreError.*\/nonexistent\/bundle\.pem/,
  );
});
