/**
 * verifyChain against chains the test generates with `openssl` (issue 18): a root, an
 * intermediate whose extensions each case chooses (name constraints), and a leaf whose
 * subjectAltName each case chooses. Each case is a rule that fails the chain, beside a control
 * that passes, so removing the rule makes the test fail.
 */

import assert from "node:assert/strict";
import { parseCertificate, parsePem } from "./mod.ts";
import { CertificateError, type CertificateErrorReason } from "./errors.ts";
import { verifyChain } from "./verify.ts";
import type { Certificate } from "./certificate.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

const CA = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n" +
  "subjectKeyIdentifier = hash\n";

/** root → intermediate (with `intermediateExtra`) → leaf (with `subjectAltName = leafSan`). */
async function chain(
  intermediateExtra: string,
  leafSan: string,
): Promise<{ leaf: Certificate; intermediate: Certificate; root: Certificate }> {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-x509-" });
  try {
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      [
        "[req]\ndistinguished_name = dn\n[dn]",
        `[root]\n${CA}`,
        `[intermediate]\n${CA}authorityKeyIdentifier = keyid:always\n${intermediateExtra}`,
        "[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n" +
        "extendedKeyUsage = serverAuth\nauthorityKeyIdentifier = keyid:always\n" +
        `subjectAltName = ${leafSan}`,
      ].join("\n"),
    );
    for (const name of ["root", "intermediate", "leaf"]) {
      await openssl(dir, [
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        `${name}.key`,
      ]);
    }
    await openssl(dir, [
      ...["req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=generated root"],
      ...["-days", "2", "-config", "ext.cnf", "-extensions", "root", "-out", "root.pem"],
    ]);
    for (const [name, issuer] of [["intermediate", "root"], ["leaf", "intermediate"]] as const) {
      await openssl(dir, [
        ...["req", "-new", "-key", `${name}.key`, "-subj", `/CN=generated ${name}`],
        ...["-config", "ext.cnf", "-out", `${name}.csr`],
      ]);
      await openssl(dir, [
        ...[
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          `${issuer}.pem`,
          "-CAkey",
          `${issuer}.key`,
        ],
        ...["-set_serial", "0x1234", "-days", "1", "-extfile", "ext.cnf", "-extensions", name],
        ...["-out", `${name}.pem`],
      ]);
    }
    const read = async (name: string) =>
      parseCertificate(parsePem(await Deno.readTextFile(`${dir}/${name}.pem`))[0]!);
    return {
      leaf: await read("leaf"),
      intermediate: await read("intermediate"),
      root: await read("root"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function verdict(
  intermediateExtra: string,
  leafSan: string,
): Promise<CertificateErrorReason | "ok"> {
  const { leaf, intermediate, root } = await chain(intermediateExtra, leafSan);
  try {
    await verifyChain({ leaf, intermediates: [intermediate], trustAnchors: [root] });
    return "ok";
  } catch (error) {
    if (error instanceof CertificateError) return error.reason;
    throw error;
  }
}

Deno.test("generated chains: a wildcard SAN that could match an excluded name is refused", async () => {
  const excluded = "nameConstraints = critical, excluded;DNS:bar.example.com";
  assert.equal(await verdict(excluded, "DNS:*.example.com"), "name_constraints");
  assert.equal(await verdict(excluded, "DNS:*.other.example"), "ok", "control");
  assert.equal(await verdict(excluded, "DNS:foo.example.com"), "ok", "control");
});

Deno.test("generated chains: a constraint on otherName, which is not processed, refuses a leaf with an otherName", async () => {
  const upn = "1.3.6.1.4.1.311.20.2.3";
  // Excluded: without processing the form, nothing would stop b@example.com, whatever the
  // constraint meant; permitted: the same rule, and a name outside it besides.
  for (const kind of ["excluded", "permitted"]) {
    const constraint = `nameConstraints = critical, ${kind};otherName:${upn};UTF8:a@example.com`;
    assert.equal(
      await verdict(constraint, `DNS:device.example, otherName:${upn};UTF8:b@example.com`),
      "name_constraints",
      kind,
    );
    assert.equal(
      await verdict(constraint, "DNS:device.example"),
      "ok",
      "no otherName: nothing applies",
    );
  }
});

Deno.test("generated chains: malformed dNSName and rfc822Name SANs are refused before any comparison", async () => {
  for (
    const san of [
      "DNS:foo_bar.example.com",
      "DNS:.example.com",
      "DNS:a..example.com",
      "email:a@b@example.com",
    ]
  ) {
    assert.equal(await verdict("", san), "malformed_name", san);
  }
  assert.equal(
    await verdict("", "DNS:foo-bar.example.com, email:device@example.com"),
    "ok",
    "control",
  );
});
