/**
 * verifyChain against chains the test generates with `openssl` (issue 18): a root, an
 * intermediate whose extensions each case chooses (name constraints), and a leaf whose
 * subjectAltName each case chooses. Each case is a rule that fails the chain, beside a control
 * that passes, so removing the rule makes the test fail.
 */

import assert from "node:assert/strict";
import { type CrlInput, parseCertificate, parseCrl, parsePem } from "./mod.ts";
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
        // The leaf names itself in subjectAltName only (no common name to match it).
        ...[
          "req",
          "-new",
          "-key",
          `${name}.key`,
          "-subj",
          name === "leaf" ? "/O=generated" : `/CN=generated ${name}`,
        ],
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

/** `/O=…` as given, else a common name. */
const subjectOf = (subject: string): string => subject.startsWith("/") ? subject : `/CN=${subject}`;

/** A small PKI built with openssl in a temporary directory, one certificate at a time. */
class Pki implements AsyncDisposable {
  readonly dir: string;
  #n = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<Pki> {
    return new Pki(await Deno.makeTempDir({ prefix: "anchortls-x509-" }));
  }

  async rsaKey(bits: number): Promise<string> {
    const name = `k${this.#n++}.key`;
    await openssl(this.dir, [
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      `rsa_keygen_bits:${bits}`,
      "-out",
      name,
    ]);
    return name;
  }

  async key(): Promise<string> {
    const name = `k${this.#n++}.key`;
    await openssl(this.dir, [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      name,
    ]);
    return name;
  }

  /** A certificate for `key` named `subject`, signed by `issuer` (self-signed without one). */
  async cert(
    subject: string,
    key: string,
    ext: string,
    issuer?: { cert: string; key: string },
    serial?: string,
    days = 2,
  ): Promise<{ file: string; cert: Certificate }> {
    // Without extensions openssl x509 -req issues a version 1 certificate.
    const extArgs = ext === "" ? [] : ["-extensions", "ext"];
    const file = `c${this.#n++}.pem`;
    await Deno.writeTextFile(
      `${this.dir}/${file}.cnf`,
      `[req]\ndistinguished_name = dn\n[dn]\n[ext]\n${ext}\n`,
    );
    const common = ["-days", `${days}`, ...extArgs];
    if (!issuer) {
      await openssl(this.dir, [
        ...["req", "-x509", "-new", "-key", key, "-subj", subjectOf(subject)],
        ...common,
        "-config",
        `${file}.cnf`,
        "-out",
        file,
      ]);
    } else {
      await openssl(this.dir, [
        ...["req", "-new", "-key", key, "-subj", subjectOf(subject), "-config", `${file}.cnf`],
        ...["-out", `${file}.csr`],
      ]);
      await openssl(this.dir, [
        ...["x509", "-req", "-in", `${file}.csr`, "-CA", issuer.cert, "-CAkey", issuer.key],
        ...["-set_serial", serial ?? `0x${(this.#n + 4096).toString(16)}`, ...common],
        ...(ext === "" ? [] : ["-extfile", `${file}.cnf`]),
        ...["-out", file],
      ]);
    }
    const pem = await Deno.readTextFile(`${this.dir}/${file}`);
    return { file, cert: parseCertificate(parsePem(pem)[0]!) };
  }

  /**
   * A CRL from `issuer` (with `openssl ca -gencrl`) listing `revoked` (certificate files),
   * with the CRL extensions `crlExt` and extra `openssl ca` arguments.
   */
  async crl(
    issuer: { cert: string; key: string },
    revoked: readonly string[],
    o: { crlExt?: string; args?: readonly string[]; md?: string } = {},
  ): Promise<string> {
    const db = `db${this.#n++}`;
    await Deno.writeTextFile(`${this.dir}/${db}.txt`, "");
    await Deno.writeTextFile(`${this.dir}/${db}.num`, "1000\n");
    await Deno.writeTextFile(
      `${this.dir}/${db}.cnf`,
      [
        "[ca]\ndefault_ca = this_ca\n[this_ca]",
        `database = ${db}.txt\ncrlnumber = ${db}.num\ndefault_md = ${o.md ?? "sha256"}`,
        "default_crl_days = 1\ncrl_extensions = crl_ext",
        `[crl_ext]\n${o.crlExt ?? "authorityKeyIdentifier = keyid:always"}\n`,
      ].join("\n"),
    );
    const ca = ["ca", "-config", `${db}.cnf`, "-cert", issuer.cert, "-keyfile", issuer.key];
    for (const cert of revoked) {
      await openssl(this.dir, [...ca, "-revoke", cert, "-crl_reason", "keyCompromise"]);
    }
    const file = `${db}.crl.pem`;
    await openssl(this.dir, [...ca, "-gencrl", ...(o.args ?? []), "-out", file]);
    return await Deno.readTextFile(`${this.dir}/${file}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

const LEAF = "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n" +
  "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:device.example\n" +
  "authorityKeyIdentifier = keyid:always";
const INTERMEDIATE = `${CA}authorityKeyIdentifier = keyid:always`;

async function reasonOf(run: () => Promise<unknown>): Promise<CertificateErrorReason | "ok"> {
  try {
    await run();
    return "ok";
  } catch (error) {
    if (error instanceof CertificateError) return error.reason;
    throw error;
  }
}

Deno.test("generated chains: a key rollover — two intermediates with one subject and different keys — validates", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("rollover root", rootKey, CA);
  const oldKey = await pki.key();
  const old = await pki.cert("rolling CA", oldKey, INTERMEDIATE, { cert: root.file, key: rootKey });
  // The new key's certificate, signed by the old key: same subject and issuer, self-issued.
  const newKey = await pki.key();
  const link = await pki.cert("rolling CA", newKey, INTERMEDIATE, { cert: old.file, key: oldKey });
  const leaf = await pki.cert("/O=device", await pki.key(), LEAF, { cert: link.file, key: newKey });
  assert.ok(link.cert.selfIssued);
  const path = await verifyChain({
    leaf: leaf.cert,
    intermediates: [old.cert, link.cert],
    trustAnchors: [root.cert],
    hostname: "device.example",
  });
  assert.equal(path.length, 4);
  // The self-issued link consumes no depth: leaf, old CA and root make three.
  const depth3 = () =>
    verifyChain({
      leaf: leaf.cert,
      intermediates: [old.cert, link.cert],
      trustAnchors: [root.cert],
      maxDepth: 3,
    });
  assert.equal(await reasonOf(depth3), "ok");
  const depth2 = () =>
    verifyChain({
      leaf: leaf.cert,
      intermediates: [old.cert, link.cert],
      trustAnchors: [root.cert],
      maxDepth: 2,
    });
  assert.equal(await reasonOf(depth2), "max_depth_exceeded");
});

Deno.test("generated chains: validity is compared in whole seconds, the encoding's granularity", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  // Valid a day longer than the leaf, so the root's own end is never what a case hits.
  const root = await pki.cert("seconds root", rootKey, CA, undefined, undefined, 3);
  const leaf = await pki.cert("/O=device", await pki.key(), LEAF, {
    cert: root.file,
    key: rootKey,
  });
  const at = (ms: number) => () =>
    verifyChain({
      leaf: leaf.cert,
      intermediates: [],
      trustAnchors: [root.cert],
      now: new Date(ms),
    });
  const notAfter = leaf.cert.notAfter.getTime();
  assert.equal(await reasonOf(at(notAfter + 999)), "ok", "within the last second");
  assert.equal(await reasonOf(at(notAfter + 1000)), "expired");
  assert.equal(await reasonOf(at(leaf.cert.notBefore.getTime() - 1)), "not_yet_valid");
});

Deno.test("generated chains: a CA without keyCertSign, an intermediate whose EKU excludes the purpose, and DNS:127.0.0.1 for an IP", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("checks root", rootKey, CA);
  const run = async (
    intermediateExt: string,
    leafExt = LEAF,
    o: { ip?: string; hostname?: string } = {},
  ) => {
    const caKey = await pki.key();
    const ca = await pki.cert("checks CA", caKey, intermediateExt, {
      cert: root.file,
      key: rootKey,
    });
    const leaf = await pki.cert("/O=device", await pki.key(), leafExt, {
      cert: ca.file,
      key: caKey,
    });
    return await reasonOf(() =>
      verifyChain({ leaf: leaf.cert, intermediates: [ca.cert], trustAnchors: [root.cert], ...o })
    );
  };
  assert.equal(await run(INTERMEDIATE), "ok", "control");
  assert.equal(
    await run(
      "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, cRLSign\nauthorityKeyIdentifier = keyid:always",
    ),
    "key_usage",
  );
  assert.equal(await run(`${INTERMEDIATE}\nextendedKeyUsage = clientAuth`), "ext_key_usage");
  assert.equal(await run(`${INTERMEDIATE}\nextendedKeyUsage = serverAuth`), "ok", "control");
  const ipAsDns = LEAF.replace("DNS:device.example", "DNS:127.0.0.1");
  assert.notEqual(await run(INTERMEDIATE, ipAsDns, { ip: "127.0.0.1" }), "ok");
  assert.notEqual(await run(INTERMEDIATE, ipAsDns, { hostname: "127.0.0.1" }), "ok");
  const ip = LEAF.replace("DNS:device.example", "IP:127.0.0.1");
  assert.equal(await run(INTERMEDIATE, ip, { ip: "127.0.0.1" }), "ok", "control");
});

Deno.test("generated chains: the RFC 5280 profile of what CA and leaf certificates carry", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("profile root", rootKey, CA);
  const run = async (caExt: string, leafExt: string, serial?: string) => {
    const caKey = await pki.key();
    const ca = await pki.cert("profile CA", caKey, caExt, { cert: root.file, key: rootKey });
    const leaf = await pki.cert(
      "/O=device",
      await pki.key(),
      leafExt,
      { cert: ca.file, key: caKey },
      serial,
    );
    return await reasonOf(() =>
      verifyChain({ leaf: leaf.cert, intermediates: [ca.cert], trustAnchors: [root.cert] })
    );
  };
  const leaf = (extra: string) =>
    `${LEAF.replace("authorityKeyIdentifier = keyid:always", "")}\n${extra}`;
  assert.equal(await run(INTERMEDIATE, LEAF), "ok", "control");
  // A certificate that is not self-issued carries an authorityKeyIdentifier, not critical.
  assert.equal(await run(INTERMEDIATE, leaf("authorityKeyIdentifier = none")), "profile");
  assert.equal(
    await run(INTERMEDIATE, leaf("authorityKeyIdentifier = critical, keyid:always")),
    "profile",
  );
  // A CA carries a subjectKeyIdentifier, not critical, and a critical basicConstraints.
  const issuerAki = leaf("authorityKeyIdentifier = issuer:always");
  assert.equal(
    await run(
      INTERMEDIATE.replace("subjectKeyIdentifier = hash", "subjectKeyIdentifier = none"),
      issuerAki,
    ),
    "profile",
  );
  assert.equal(
    await run(
      INTERMEDIATE.replace("subjectKeyIdentifier = hash", "subjectKeyIdentifier = critical, hash"),
      LEAF,
    ),
    "profile",
  );
  assert.equal(
    await run(
      INTERMEDIATE.replace("basicConstraints = critical, CA:TRUE", "basicConstraints = CA:TRUE"),
      LEAF,
    ),
    "profile",
  );
  // A leaf asserts no keyCertSign and carries no nameConstraints.
  assert.equal(
    await run(INTERMEDIATE, LEAF.replace("digitalSignature", "digitalSignature, keyCertSign")),
    "profile",
  );
  assert.equal(
    await run(INTERMEDIATE, `${LEAF}\nnameConstraints = critical, permitted;DNS:device.example`),
    "profile",
  );
  // The serial number is positive.
  assert.equal(await run(INTERMEDIATE, LEAF, "0"), "profile");
});

Deno.test("generated chains: the CA/B Forum rules of the default webpki profile, and rfc5280 where they differ", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("webpki root", rootKey, CA);
  const run = async (
    leafExt: string,
    o: {
      subject?: string;
      key?: string;
      anchor?: { file: string; cert: Certificate; key: string };
      profile?: "rfc5280";
    } = {},
  ) => {
    const top = o.anchor ?? { ...root, key: rootKey };
    const caKey = await pki.key();
    const ca = await pki.cert("webpki CA", caKey, INTERMEDIATE, { cert: top.file, key: top.key });
    const leaf = await pki.cert(o.subject ?? "/O=device", o.key ?? await pki.key(), leafExt, {
      cert: ca.file,
      key: caKey,
    });
    return await reasonOf(() =>
      verifyChain({
        leaf: leaf.cert,
        intermediates: [ca.cert],
        trustAnchors: [top.cert],
        ...(o.profile ? { profile: o.profile } : {}),
      })
    );
  };
  assert.equal(await run(LEAF), "ok", "control");
  const noEku = LEAF.replace("extendedKeyUsage = serverAuth\n", "");
  assert.equal(await run(noEku), "profile", "a leaf without extKeyUsage");
  assert.equal(await run(noEku, { profile: "rfc5280" }), "ok", "RFC 5280 allows it");
  assert.equal(
    await run(
      LEAF.replace("extendedKeyUsage = serverAuth", "extendedKeyUsage = critical, serverAuth"),
    ),
    "profile",
  );
  assert.equal(
    await run(
      LEAF.replace(
        "extendedKeyUsage = serverAuth",
        "extendedKeyUsage = serverAuth, anyExtendedKeyUsage",
      ),
    ),
    "profile",
  );
  // The common name, when present, is one of the subjectAltNames.
  assert.equal(await run(LEAF, { subject: "/CN=other.example" }), "profile");
  assert.equal(await run(LEAF, { subject: "/CN=DEVICE.example" }), "ok", "case-insensitive");
  assert.equal(
    await run(LEAF.replace("DNS:device.example", "IP:127.0.0.1"), { subject: "/CN=127.0.0.1" }),
    "ok",
  );
  // A CA is no leaf.
  assert.equal(
    await run(
      LEAF.replace(
        "basicConstraints = CA:FALSE",
        "basicConstraints = critical, CA:TRUE\nsubjectKeyIdentifier = hash",
      ),
    ),
    "profile",
  );
  // A critical subjectAltName beside a subject.
  assert.equal(
    await run(LEAF.replace("subjectAltName = DNS", "subjectAltName = critical, DNS")),
    "profile",
  );
  // RSA moduli of whole bytes.
  assert.equal(await run(LEAF, { key: await pki.rsaKey(2052) }), "profile");
  assert.equal(await run(LEAF, { key: await pki.rsaKey(2048) }), "ok", "control");
  // A malformed authorityInfoAccess (an empty SEQUENCE).
  assert.equal(await run(`${LEAF}\n1.3.6.1.5.5.7.1.1 = DER:3000`), "profile");
  // The anchor's extKeyUsage allows the purpose; a root's AKI is only its own key identifier.
  const clientRootKey = await pki.key();
  const clientRoot = await pki.cert(
    "client root",
    clientRootKey,
    `${CA}extendedKeyUsage = clientAuth`,
  );
  assert.equal(await run(LEAF, { anchor: { ...clientRoot, key: clientRootKey } }), "profile");
  const akiRootKey = await pki.key();
  const akiRoot = await pki.cert(
    "aki root",
    akiRootKey,
    `${CA}authorityKeyIdentifier = keyid:always, issuer:always`,
  );
  assert.equal(await run(LEAF, { anchor: { ...akiRoot, key: akiRootKey } }), "profile");
});

Deno.test("generated chains: a v1 certificate is no intermediate, though a v1 anchor may be trusted", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("v1 test root", rootKey, CA);
  const caKey = await pki.key();
  const v1 = await pki.cert("v1 CA", caKey, "", { cert: root.file, key: rootKey });
  assert.equal(v1.cert.version, 1);
  // A v1 issuer has no subjectKeyIdentifier: the leaf names it by issuer and serial.
  const leafExt = LEAF.replace("keyid:always", "issuer:always");
  const leaf = await pki.cert("/O=device", await pki.key(), leafExt, { cert: v1.file, key: caKey });
  const run = (anchors: Certificate[], intermediates: Certificate[]) => () =>
    verifyChain({ leaf: leaf.cert, intermediates, trustAnchors: anchors, profile: "rfc5280" });
  assert.equal(await reasonOf(run([root.cert], [v1.cert])), "not_ca");
  assert.equal(await reasonOf(run([v1.cert], [])), "ok", "control: the same v1 as the anchor");
});

Deno.test("generated chains: a self-issued intermediate below the last is exempt from name constraints", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("nc root", rootKey, CA);
  const caKey = await pki.key();
  const constrained = await pki.cert(
    "constrained CA",
    caKey,
    `${INTERMEDIATE}\nnameConstraints = critical, permitted;DNS:device.example`,
    { cert: root.file, key: rootKey },
  );
  // A CA certificate below it whose subjectAltName the constraint does not permit: exempt
  // when self-issued (a key rollover link of the constrained CA), not when it is another CA.
  const outside = `${INTERMEDIATE}\nsubjectAltName = DNS:outside.test`;
  const run = async (subject: string) => {
    const linkKey = await pki.key();
    const link = await pki.cert(subject, linkKey, outside, { cert: constrained.file, key: caKey });
    const leaf = await pki.cert("/O=device", await pki.key(), LEAF, {
      cert: link.file,
      key: linkKey,
    });
    return await reasonOf(() =>
      verifyChain({
        leaf: leaf.cert,
        intermediates: [constrained.cert, link.cert],
        trustAnchors: [root.cert],
        profile: "rfc5280",
      })
    );
  };
  assert.equal(await run("constrained CA"), "ok", "self-issued");
  assert.equal(await run("another CA"), "name_constraints");
});

Deno.test("generated CRLs: a revoked leaf or intermediate fails as revoked, and a CRL that cannot be used as bad_crl", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("crl root", rootKey, CA);
  const caKey = await pki.key();
  const ca = await pki.cert("crl CA", caKey, INTERMEDIATE, { cert: root.file, key: rootKey });
  const leaf = await pki.cert("/O=device", await pki.key(), LEAF, { cert: ca.file, key: caKey });
  const caIssuer = { cert: ca.file, key: caKey };
  const rootIssuer = { cert: root.file, key: rootKey };
  const run = (crls: CrlInput[], o: { now?: Date; allowSha1?: boolean } = {}) =>
    reasonOf(() =>
      verifyChain({
        leaf: leaf.cert,
        intermediates: [ca.cert],
        trustAnchors: [root.cert],
        crls,
        ...o,
      })
    );

  const revokesLeaf = await pki.crl(caIssuer, [leaf.file]);
  const parsed = parseCrl(parsePem(revokesLeaf, "X509 CRL")[0]!);
  assert.equal(parsed.revoked.get(leaf.cert.serialNumber)?.reason, 1, "keyCompromise");
  assert.equal(parsed.crlNumber, "1000");
  assert.deepEqual(parsed.authorityKeyId, ca.cert.subjectKeyIdentifier);
  assert.equal(await run([revokesLeaf]), "revoked", "PEM");
  assert.equal(await run([parsePem(revokesLeaf, "X509 CRL")[0]!]), "revoked", "DER");
  assert.equal(await run([parsed]), "revoked", "parsed");
  assert.equal(await run([]), "ok", "control: no CRL");
  assert.equal(await run([await pki.crl(caIssuer, [])]), "ok", "control: an empty CRL");
  assert.equal(await run([await pki.crl(rootIssuer, [])]), "ok", "control: the root's, empty");
  assert.equal(await run([await pki.crl(rootIssuer, [ca.file])]), "revoked", "the intermediate");
  try {
    await verifyChain({
      leaf: leaf.cert,
      intermediates: [ca.cert],
      trustAnchors: [root.cert],
      crls: [revokesLeaf],
    });
    assert.fail("accepted a revoked leaf");
  } catch (e) {
    assert.ok(e instanceof CertificateError);
    assert.equal(e.index, 0);
  }

  // Signed by another key under the CA's name: without an authorityKeyIdentifier to tell it
  // apart it is a forgery; with one naming the other key it is not for this CA at all.
  const otherKey = await pki.key();
  const impostor = await pki.cert("crl CA", otherKey, INTERMEDIATE, rootIssuer);
  const impostorIssuer = { cert: impostor.file, key: otherKey };
  assert.equal(await run([await pki.crl(impostorIssuer, [], { crlExt: "" })]), "bad_crl");
  assert.equal(await run([await pki.crl(impostorIssuer, [leaf.file])]), "ok", "another key's");

  // Time: stale after nextUpdate, and not yet valid before thisUpdate.
  const fresh = await pki.crl(caIssuer, []);
  const next = parseCrl(parsePem(fresh, "X509 CRL")[0]!).nextUpdate!;
  assert.equal(await run([fresh], { now: new Date(next.getTime() + 999) }), "ok", "last second");
  assert.equal(await run([fresh], { now: new Date(next.getTime() + 1000) }), "bad_crl", "stale");
  const later = new Date(Date.now() + 3600_000);
  const stamp = later.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  assert.equal(
    await run([await pki.crl(caIssuer, [], { args: ["-crl_lastupdate", stamp] })]),
    "bad_crl",
    "thisUpdate in the future",
  );

  // An issuer whose keyUsage lacks cRLSign may not sign CRLs.
  const signerKey = await pki.key();
  const noCrlSign = await pki.cert(
    "crl CA without cRLSign",
    signerKey,
    "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\n" +
      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always",
    rootIssuer,
  );
  const leaf2 = await pki.cert("/O=device", await pki.key(), LEAF, {
    cert: noCrlSign.file,
    key: signerKey,
  });
  const signerCrl = await pki.crl({ cert: noCrlSign.file, key: signerKey }, []);
  const run2 = (crls: CrlInput[]) =>
    reasonOf(() =>
      verifyChain({
        leaf: leaf2.cert,
        intermediates: [noCrlSign.cert],
        trustAnchors: [root.cert],
        crls,
      })
    );
  assert.equal(await run2([signerCrl]), "bad_crl");
  assert.equal(await run2([]), "ok", "control");

  // A critical extension that is not processed; SHA-1 unless allowed.
  const critical = await pki.crl(caIssuer, [], {
    crlExt: "authorityKeyIdentifier = keyid:always\n1.2.3.4 = critical, ASN1:NULL",
  });
  assert.equal(await run([critical]), "bad_crl");
  const sha1 = await pki.crl(caIssuer, [], { md: "sha1" });
  assert.equal(await run([sha1]), "bad_crl");
  assert.equal(await run([sha1], { allowSha1: true }), "ok", "control");

  // Malformed input is a typed error.
  const der = parsePem(fresh, "X509 CRL")[0]!;
  for (const bad of [der.subarray(0, der.length - 1), Uint8Array.of(0x30, 0x00)]) {
    assert.throws(
      () => parseCrl(bad),
      (e) => e instanceof CertificateError && e.reason === "bad_crl",
    );
  }
  assert.equal(await run(["not a CRL"]), "bad_crl");
});

Deno.test("generated chains: certificate policies — requireExplicitPolicy, policy mappings, inhibitAnyPolicy", async () => {
  await using pki = await Pki.create();
  const rootKey = await pki.key();
  const root = await pki.cert("policy root", rootKey, CA);
  const rootIssuer = { cert: root.file, key: rootKey };
  const leafWith = (policies?: string) =>
    policies ? `${LEAF}\ncertificatePolicies = ${policies}` : LEAF;
  /** root → CA (caExt) → [CA2 (ca2Ext)] → leaf (leafExt) */
  const run = async (caExt: string, leafExt: string, ca2Ext?: string) => {
    const caKey = await pki.key();
    const ca = await pki.cert("policy CA", caKey, `${INTERMEDIATE}\n${caExt}`, rootIssuer);
    let issuer = { cert: ca.file, key: caKey };
    const intermediates = [ca.cert];
    if (ca2Ext !== undefined) {
      const ca2Key = await pki.key();
      const ca2 = await pki.cert("policy CA 2", ca2Key, `${INTERMEDIATE}\n${ca2Ext}`, issuer);
      intermediates.push(ca2.cert);
      issuer = { cert: ca2.file, key: ca2Key };
    }
    const leaf = await pki.cert("/O=device", await pki.key(), leafExt, issuer);
    return await reasonOf(() =>
      verifyChain({ leaf: leaf.cert, intermediates, trustAnchors: [root.cert] })
    );
  };
  const explicit = "policyConstraints = critical, requireExplicitPolicy:0";
  const p1 = "1.2.3.1";
  const p2 = "1.2.3.2";

  // Without policyConstraints, policies do not decide anything.
  assert.equal(await run(`certificatePolicies = ${p1}`, leafWith(p2)), "ok", "no constraint");
  // Required explicitly: the leaf needs the CA's policy (or one it maps to).
  const explicitP1 = `${explicit}\ncertificatePolicies = ${p1}`;
  assert.equal(await run(explicitP1, leafWith(p1)), "ok", "control");
  assert.equal(await run(explicitP1, leafWith()), "policy", "leaf without certificatePolicies");
  assert.equal(await run(explicitP1, leafWith(p2)), "policy", "another policy");
  assert.equal(await run(`${explicit}`, leafWith(p1)), "policy", "CA without policies");
  // A critical certificatePolicies is processed, not an unknown critical extension.
  assert.equal(await run(explicitP1, leafWith(`critical, ${p1}`)), "ok");
  // anyPolicy in the leaf stands for the CA's policy, unless inhibitAnyPolicy says otherwise.
  assert.equal(await run(explicitP1, leafWith("2.5.29.32.0")), "ok", "anyPolicy");
  assert.equal(
    await run(`${explicitP1}\ninhibitAnyPolicy = critical, 0`, leafWith("2.5.29.32.0")),
    "policy",
    "anyPolicy inhibited",
  );
  // Mapping: the second CA maps p1 to p2, so a p2 leaf is acceptable, unless the first CA
  // inhibits mapping.
  const mapping = `certificatePolicies = ${p1}\npolicyMappings = ${p1}:${p2}`;
  assert.equal(await run(explicitP1, leafWith(p2), mapping), "ok", "mapped");
  assert.equal(await run(explicitP1, leafWith(p1), mapping), "policy", "p1 now stands for p2");
  assert.equal(
    await run(
      `policyConstraints = critical, requireExplicitPolicy:0, inhibitPolicyMapping:0\n` +
        `certificatePolicies = ${p1}`,
      leafWith(p2),
      mapping,
    ),
    "policy",
    "mapping inhibited",
  );
  assert.equal(
    await run(
      `policyConstraints = critical, requireExplicitPolicy:0, inhibitPolicyMapping:0\n` +
        `certificatePolicies = ${p1}`,
      leafWith(p1),
      mapping,
    ),
    "policy",
    "an inhibited mapping deletes the mapped policy",
  );
  // SkipCerts counts as §6.1.4 (h) and §6.1.5 (a) do: from the first CA, requireExplicitPolicy
  // 2 reaches zero at the leaf of root → CA → CA 2 → leaf, and 3 does not; a leaf without
  // policies passes only then.
  const skip = (n: number) =>
    `policyConstraints = critical, requireExplicitPolicy:${n}\ncertificatePolicies = ${p1}`;
  assert.equal(await run(skip(2), leafWith(), `certificatePolicies = ${p1}`), "policy");
  assert.equal(await run(skip(3), leafWith(), `certificatePolicies = ${p1}`), "ok", "control");
  // RFC 5280 profile: policyConstraints and inhibitAnyPolicy are critical.
  assert.equal(
    await run(
      `policyConstraints = requireExplicitPolicy:0\ncertificatePolicies = ${p1}`,
      leafWith(p1),
    ),
    "profile",
  );
  assert.equal(await run(`inhibitAnyPolicy = 0`, LEAF), "profile");
});
