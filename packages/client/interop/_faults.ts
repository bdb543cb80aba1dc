/**
 * Faults for the TLS interop tests that no other test needs: a server certificate that has
 * expired, and a proxy that corrupts one record. The servers themselves come from
 * `@anchortls/testing`.
 *
 * @module
 */

/** Runs `openssl` in `dir`; a failure is an error with openssl's message. */
function opensslIn(dir: string): (...args: string[]) => Promise<void> {
  return async (...args) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
}

/** A root and a leaf for localhost that expired in 2021, made with `openssl ca`. */
export async function expiredServerCertificate(
  dir: string,
): Promise<{ cert: string; key: string; root: string }> {
  const run = opensslIn(dir);
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

/**
 * A CRL of the fixed test PKI's intermediate (whose key the fixtures hold) listing the given
 * certificates, made with `openssl ca -gencrl`, valid for a day.
 *
 * @param dir A scratch directory for openssl's database.
 * @param intermediate The intermediate's certificate and key files.
 * @param revoke Certificate files to list.
 * @returns The CRL as PEM.
 */
export async function intermediateCrl(
  dir: string,
  intermediate: { cert: string; key: string },
  revoke: readonly string[],
): Promise<string> {
  const run = opensslIn(dir);
  const db = `crl-${crypto.randomUUID()}`;
  await Deno.writeTextFile(`${dir}/${db}.txt`, "");
  await Deno.writeTextFile(`${dir}/${db}.num`, "01\n");
  await Deno.writeTextFile(
    `${dir}/${db}.cnf`,
    `[ca]\ndefault_ca = x\n[x]\ndatabase = ${db}.txt\ncrlnumber = ${db}.num\n` +
      `default_md = sha256\ndefault_crl_days = 1\ncrl_extensions = ext\n` +
      `[ext]\nauthorityKeyIdentifier = keyid:always\n`,
  );
  const ca = [
    "ca",
    "-config",
    `${db}.cnf`,
    "-cert",
    intermediate.cert,
    "-keyfile",
    intermediate.key,
  ];
  for (const cert of revoke) await run(...ca, "-revoke", cert);
  await run(...ca, "-gencrl", "-out", `${db}.pem`);
  return await Deno.readTextFile(`${dir}/${db}.pem`);
}
