/**
 * The package as a dependency of someone else's project: a throwaway project outside this
 * repository names the clone's package folders in its deno.json `links` (the recipe of the
 * README), imports `connectTls` from `@anchortls/client`, and talks to `openssl s_server` —
 * and the clone's lockfile is left as it was.
 */

import assert from "node:assert/strict";
import { fixedPki, startOpenSslServer } from "@anchortls/testing";

const clone = new URL("../../../", import.meta.url);
const PACKAGES = ["record", "x509", "handshake", "transport-serial", "multos-apdu", "client"];

async function lockfile(): Promise<string | undefined> {
  return await Deno.readTextFile(new URL("deno.lock", clone)).catch(() => undefined);
}

Deno.test("a project outside the clone links the packages and connects with @anchortls/client", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki });
  const lockBefore = await lockfile();
  const project = await Deno.makeTempDir({ prefix: "anchortls-user-project-" });
  try {
    await Deno.writeTextFile(
      `${project}/deno.json`,
      JSON.stringify({
        links: PACKAGES.map((name) => new URL(`packages/${name}`, clone).pathname),
        imports: { "@anchortls/client": "jsr:@anchortls/client@^0" },
      }),
    );
    await Deno.writeTextFile(
      `${project}/main.ts`,
      `import { connectTls } from "@anchortls/client";
const tls = await connectTls({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0]),
  serverName: "localhost",
  caCerts: [await Deno.readTextFile(Deno.args[1])],
});
const info = await tls.handshake;
const writer = tls.writable.getWriter();
await writer.write(new TextEncoder().encode("GET / HTTP/1.0\\r\\n\\r\\n"));
const { value } = await tls.readable.getReader().read();
Deno.stdout.writeSync(new TextEncoder().encode(info.suite.name + "\\n" + new TextDecoder().decode(value).split("\\r\\n")[0] + "\\n"));
await tls.close();
`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-read", "main.ts", String(server.port), fixedPki.root],
      cwd: project,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `the project failed:\n${stdout}\n${stderr}`);
    const [suite, status] = stdout.trim().split("\n");
    assert.match(suite!, /^TLS_RSA_WITH_AES_/);
    assert.match(status!, /^HTTP\/1\.[01] 200/);
    // The project has its own lockfile; the clone's is untouched.
    assert.ok(await Deno.stat(`${project}/deno.lock`).then(() => true, () => false));
    assert.equal(await lockfile(), lockBefore, "the clone's deno.lock changed");
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
