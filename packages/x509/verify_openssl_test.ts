import assert from "node:assert/strict";
import { verifyChain } from "./verify.ts";
import { fixture, testdata } from "./_test_util.ts";

/**
 * Our verdict must equal `openssl verify`'s on every case where both apply the same policy:
 * -auth_level 2 refuses SHA-1 signatures and RSA keys below 2048 bits, as we do by default,
 * and -x509_strict adds RFC 5280's extra rules.
 */
const now = new Date("2030-01-01T00:00:00Z");

interface Case {
  leaf: string;
  intermediates: string[];
  hostname?: string;
  ip?: string;
  purpose?: "serverAuth" | "clientAuth";
  anchor?: string;
  /** Why openssl's verdict differs on purpose; the case then checks that it still does. */
  differs?: string;
}

const cases: Case[] = [
  { leaf: "leaf.pem", intermediates: ["intermediate.pem"], hostname: "localhost" },
  { leaf: "leaf.pem", intermediates: ["intermediate.pem"], ip: "127.0.0.1" },
  { leaf: "leaf.pem", intermediates: ["intermediate.pem"], ip: "::1" },
  { leaf: "leaf.pem", intermediates: ["intermediate.pem"], ip: "127.0.0.2" },
  { leaf: "leaf.pem", intermediates: ["intermediate.pem"], hostname: "www.localhost" },
  { leaf: "leaf.pem", intermediates: [] },
  {
    leaf: "leaf.pem",
    intermediates: ["intermediate-rekeyed.pem", "intermediate.pem"],
    differs: "openssl takes the first same-named issuer and does not backtrack; we do",
  },
  { leaf: "leaf.pem", intermediates: ["intermediate-rekeyed.pem"] },
  { leaf: "pss-leaf.pem", intermediates: ["intermediate.pem"], hostname: "localhost" },
  { leaf: "ec-chain-leaf.pem", intermediates: ["ec-intermediate.pem"], hostname: "localhost" },
  { leaf: "ec-leaf.pem", intermediates: ["intermediate.pem"] },
  { leaf: "client.pem", intermediates: ["intermediate.pem"], purpose: "clientAuth" },
  { leaf: "client.pem", intermediates: ["intermediate.pem"] },
  { leaf: "leaf.pem", intermediates: ["intermediate.pem"], purpose: "clientAuth" },
  { leaf: "expired.pem", intermediates: ["intermediate.pem"] },
  { leaf: "not-yet-valid.pem", intermediates: ["intermediate.pem"] },
  { leaf: "wrong-host.pem", intermediates: ["intermediate.pem"], hostname: "localhost" },
  { leaf: "wrong-host.pem", intermediates: ["intermediate.pem"], hostname: "a.example.com" },
  { leaf: "wrong-host.pem", intermediates: ["intermediate.pem"], hostname: "a.b.example.com" },
  { leaf: "wrong-eku.pem", intermediates: ["intermediate.pem"] },
  { leaf: "wrong-ku.pem", intermediates: ["intermediate.pem"] },
  { leaf: "self-signed.pem", intermediates: [] },
  { leaf: "self-signed.pem", intermediates: [], anchor: "self-signed.pem" },
  { leaf: "other-leaf.pem", intermediates: ["other-root.pem"] },
  { leaf: "not-ca-leaf.pem", intermediates: ["not-ca-intermediate.pem"] },
  { leaf: "pathlen-leaf.pem", intermediates: ["sub-intermediate.pem", "intermediate.pem"] },
  { leaf: "bad-signature.pem", intermediates: ["intermediate.pem"] },
  { leaf: "critical-ext.pem", intermediates: ["intermediate.pem"] },
  { leaf: "nc-leaf.pem", intermediates: ["nc-intermediate.pem"] },
  { leaf: "nc-ok-leaf.pem", intermediates: ["nc-intermediate.pem"], hostname: "www.example.com" },
  { leaf: "nc-excluded-leaf.pem", intermediates: ["nc-intermediate.pem"] },
  { leaf: "sha1.pem", intermediates: ["intermediate.pem"] },
  { leaf: "rsa1024.pem", intermediates: ["intermediate.pem"] },
];

async function opensslAccepts(c: Case): Promise<boolean> {
  const path = (f: string): string => new URL(f, testdata).pathname;
  const args = [
    "verify",
    "-auth_level",
    "2",
    "-x509_strict",
    "-attime",
    String(now.getTime() / 1000),
    "-purpose",
    c.purpose === "clientAuth" ? "sslclient" : "sslserver",
    "-CAfile",
    path(c.anchor ?? "root.pem"),
    ...c.intermediates.flatMap((f) => ["-untrusted", path(f)]),
    ...(c.hostname ? ["-verify_hostname", c.hostname] : []),
    ...(c.ip ? ["-verify_ip", c.ip] : []),
    path(c.leaf),
  ];
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  return out.code === 0;
}

async function weAccept(c: Case): Promise<boolean> {
  try {
    await verifyChain({
      leaf: fixture(c.leaf),
      intermediates: c.intermediates.map(fixture),
      trustAnchors: [fixture(c.anchor ?? "root.pem")],
      now,
      // openssl verify applies RFC 5280's path validation, not the CA/B Forum rules.
      profile: "rfc5280",
      ...(c.hostname ? { hostname: c.hostname } : {}),
      ...(c.ip ? { ip: c.ip } : {}),
      ...(c.purpose ? { purpose: c.purpose } : {}),
    });
    return true;
  } catch {
    return false;
  }
}

Deno.test("verifyChain agrees with openssl verify on every fixture case", async () => {
  let accepted = 0;
  for (const c of cases) {
    const [ours, theirs] = await Promise.all([weAccept(c), opensslAccepts(c)]);
    if (c.differs) assert.notEqual(ours, theirs, `expected to differ: ${c.differs}`);
    else assert.equal(ours, theirs, `disagreement on ${JSON.stringify(c)}`);
    if (ours) accepted++;
  }
  assert.ok(accepted >= 8 && accepted < cases.length, `accepted ${accepted}`);
});
