/**
 * X.509 speed: our parser and path validation against node:crypto's `X509Certificate`
 * (OpenSSL, reached through Deno's node compatibility layer) doing the same work.
 *
 * - parse: decode one RSA-2048 leaf certificate from DER.
 * - chain: decode root, intermediate and leaf, check both signatures (RSA-2048 PKCS#1 v1.5
 *   SHA-256) and the host name. Ours also checks validity, constraints, key usages and
 *   policy, which `X509Certificate` leaves to the caller.
 * - ecdsa chain: the same with a P-384 intermediate signing a P-256 leaf.
 * - crl: our chain without and with a CRL of the intermediate (made here with `openssl ca`),
 *   which costs one more signature check.
 *
 * Run: `deno bench -A bench/x509_bench.ts`. Every group prints ours/baseline ratios.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { parseCertificate, parseCrl, parsePem, verifyChain } from "@anchortls/x509";

const der = (name: string): Uint8Array =>
  parsePem(
    Deno.readTextFileSync(new URL(`../packages/x509/testdata/${name}`, import.meta.url)),
  )[0]!;

const rootDer = der("root.pem");
const intermediateDer = der("intermediate.pem");
const leafDer = der("leaf.pem");
const ecIntermediateDer = der("ec-intermediate.pem");
const ecLeafDer = der("ec-chain-leaf.pem");
const now = new Date("2030-01-01T00:00:00Z");

Deno.bench("node:crypto X509Certificate parse", { group: "parse", baseline: true }, () => {
  new X509Certificate(leafDer);
});

Deno.bench("anchortls parseCertificate", { group: "parse" }, () => {
  parseCertificate(leafDer);
});

function nodeChain(leafBytes: Uint8Array, intermediateBytes: Uint8Array): void {
  const root = new X509Certificate(rootDer);
  const intermediate = new X509Certificate(intermediateBytes);
  const leaf = new X509Certificate(leafBytes);
  if (!leaf.verify(intermediate.publicKey) || !intermediate.verify(root.publicKey)) {
    throw new Error("chain does not verify");
  }
  if (leaf.checkHost("localhost") !== "localhost") throw new Error("host mismatch");
}

async function ourChain(leafBytes: Uint8Array, intermediateBytes: Uint8Array): Promise<void> {
  await verifyChain({
    leaf: parseCertificate(leafBytes),
    intermediates: [parseCertificate(intermediateBytes)],
    trustAnchors: [parseCertificate(rootDer)],
    hostname: "localhost",
    now,
  });
}

Deno.bench("node:crypto parse + verify + checkHost", { group: "chain", baseline: true }, () => {
  nodeChain(leafDer, intermediateDer);
});

Deno.bench("anchortls parse + verifyChain", { group: "chain" }, async () => {
  await ourChain(leafDer, intermediateDer);
});

Deno.bench(
  "node:crypto parse + verify + checkHost (ECDSA)",
  { group: "ecdsa chain", baseline: true },
  () => {
    nodeChain(ecLeafDer, ecIntermediateDer);
  },
);

Deno.bench("anchortls parse + verifyChain (ECDSA)", { group: "ecdsa chain" }, async () => {
  await ourChain(ecLeafDer, ecIntermediateDer);
});

/** An empty CRL of the fixtures' intermediate, signed now with its key. */
async function intermediateCrl(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-bench-crl-" });
  const fixture = (name: string) =>
    new URL(`../packages/x509/testdata/${name}`, import.meta.url).pathname;
  try {
    await Deno.writeTextFile(`${dir}/index.txt`, "");
    await Deno.writeTextFile(`${dir}/crlnumber`, "01\n");
    await Deno.writeTextFile(
      `${dir}/ca.cnf`,
      "[ca]\ndefault_ca = x\n[x]\ndatabase = index.txt\ncrlnumber = crlnumber\n" +
        "default_md = sha256\ndefault_crl_days = 1\n",
    );
    const args = ["ca", "-config", "ca.cnf", "-gencrl", "-cert", fixture("intermediate.pem")];
    const out = await new Deno.Command("openssl", {
      args: [...args, "-keyfile", fixture("intermediate.key"), "-out", "crl.pem"],
      cwd: dir,
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return parsePem(await Deno.readTextFile(`${dir}/crl.pem`), "X509 CRL")[0]!;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const crl = parseCrl(await intermediateCrl());
const chainNow = () => ({
  leaf: parseCertificate(leafDer),
  intermediates: [parseCertificate(intermediateDer)],
  trustAnchors: [parseCertificate(rootDer)],
  hostname: "localhost",
  now: new Date(),
});

Deno.bench("anchortls verifyChain, no CRL", { group: "crl", baseline: true }, async () => {
  await verifyChain(chainNow());
});

Deno.bench("anchortls verifyChain with the intermediate's CRL", { group: "crl" }, async () => {
  await verifyChain({ ...chainNow(), crls: [crl] });
});
