import assert from "node:assert/strict";
import { type Certificate, parseCertificate } from "./certificate.ts";
import { CertificateError, type CertificateErrorReason } from "./errors.ts";
import { verifyChain, type VerifyChainOptions } from "./verify.ts";
import { fixture, seededRandom } from "./_test_util.ts";

const now = new Date("2030-01-01T00:00:00Z");
const root = fixture("root.pem");
const intermediate = fixture("intermediate.pem");

/** Overrides; an `undefined` value removes the default (e.g. the host name). */
type Extra = { [K in keyof VerifyChainOptions]?: VerifyChainOptions[K] | undefined };

function options(leaf: string, intermediates: string[], extra: Extra = {}): VerifyChainOptions {
  const merged: Record<string, unknown> = {
    leaf: fixture(leaf),
    intermediates: intermediates.map(fixture),
    trustAnchors: [root],
    hostname: "localhost",
    now,
    ...extra,
  };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged as unknown as VerifyChainOptions;
}

async function rejected(
  o: VerifyChainOptions,
  reason: CertificateErrorReason,
  index: number,
): Promise<void> {
  await assert.rejects(verifyChain(o), (e: unknown) => {
    assert.ok(e instanceof CertificateError, String(e));
    assert.equal(e.reason, reason, e.message);
    assert.equal(e.index, index, e.message);
    return true;
  });
}

const subjects = (path: Certificate[]): string[] => path.map((c) => c.subject.commonName ?? "");

Deno.test("verifyChain: the good chains validate", async () => {
  const server = await verifyChain(options("leaf.pem", ["intermediate.pem"], {
    keyUsage: "keyEncipherment",
  }));
  assert.deepEqual(subjects(server), [
    "localhost",
    "anchortls test intermediate",
    "anchortls test root",
  ]);
  assert.ok(server[2] === root);
  await verifyChain(options("pss-leaf.pem", ["intermediate.pem"], { keyUsage: "keyEncipherment" }));
  await verifyChain(options("ec-chain-leaf.pem", ["ec-intermediate.pem"], {
    keyUsage: "digitalSignature",
  }));
  await verifyChain(options("ec-leaf.pem", ["intermediate.pem"], { keyUsage: "digitalSignature" }));
  const client = await verifyChain(options("client.pem", ["intermediate.pem"], {
    hostname: undefined,
    purpose: "clientAuth",
    keyUsage: "digitalSignature",
  }));
  assert.equal(client.length, 3);
  await verifyChain(options("nc-ok-leaf.pem", ["nc-intermediate.pem"], {
    hostname: "www.example.com",
  }));
  await verifyChain(options("nc-ok-leaf.pem", ["nc-intermediate.pem"], {
    hostname: undefined,
    ip: "10.1.2.3",
  }));
});

Deno.test("verifyChain: each bad certificate fails for its own reason", async () => {
  const cases: [string, string[], Extra, CertificateErrorReason, number][] = [
    ["expired.pem", ["intermediate.pem"], {}, "expired", 0],
    ["not-yet-valid.pem", ["intermediate.pem"], {}, "not_yet_valid", 0],
    ["wrong-host.pem", ["intermediate.pem"], {}, "hostname_mismatch", 0],
    ["self-signed.pem", [], {}, "self_signed", 0],
    ["leaf.pem", [], {}, "unknown_issuer", 0], // missing intermediate
    ["other-leaf.pem", ["other-root.pem"], {}, "unknown_issuer", 1], // untrusted root
    ["not-ca-leaf.pem", ["not-ca-intermediate.pem"], {}, "not_ca", 1],
    [
      "pathlen-leaf.pem",
      ["sub-intermediate.pem", "intermediate.pem"],
      {},
      "path_length_exceeded",
      1,
    ],
    ["bad-signature.pem", ["intermediate.pem"], {}, "bad_signature", 0],
    ["critical-ext.pem", ["intermediate.pem"], {}, "unknown_critical_extension", 0],
    ["nc-leaf.pem", ["nc-intermediate.pem"], {}, "name_constraints", 0],
    [
      "nc-excluded-leaf.pem",
      ["nc-intermediate.pem"],
      { hostname: "bad.example.com" },
      "name_constraints",
      0,
    ],
    ["sha1.pem", ["intermediate.pem"], {}, "weak_signature_algorithm", 0],
    ["rsa1024.pem", ["intermediate.pem"], {}, "weak_key", 0],
    [
      "ec-leaf.pem",
      ["intermediate.pem"],
      { keyUsage: "keyEncipherment" },
      "unsupported_key",
      0,
    ],
    ["ed25519-leaf.pem", ["intermediate.pem"], {}, "unsupported_key", 0],
    ["wrong-ku.pem", ["intermediate.pem"], { keyUsage: "keyEncipherment" }, "key_usage", 0],
    ["wrong-eku.pem", ["intermediate.pem"], {}, "ext_key_usage", 0],
    ["client.pem", ["intermediate.pem"], { hostname: undefined }, "ext_key_usage", 0],
    ["leaf.pem", ["intermediate.pem"], { hostname: "example.com" }, "hostname_mismatch", 0],
    [
      "leaf.pem",
      ["intermediate.pem"],
      { ip: "127.0.0.2", hostname: undefined },
      "hostname_mismatch",
      0,
    ],
    ["leaf.pem", ["intermediate.pem"], { maxDepth: 2 }, "max_depth_exceeded", 1],
    ["leaf.pem", ["intermediate.pem"], { now: new Date("2000-01-01") }, "not_yet_valid", 0],
  ];
  for (const [leaf, ints, extra, reason, index] of cases) {
    await rejected(options(leaf, ints, extra), reason, index);
  }
});

Deno.test("verifyChain: IP identities match iPAddress entries only", async () => {
  for (const ip of ["127.0.0.1", "::1", "0:0:0:0:0:0:0:1"]) {
    await verifyChain(
      options("leaf.pem", ["intermediate.pem"], { hostname: undefined, ip }),
    );
  }
  await verifyChain(options("leaf.pem", ["intermediate.pem"], { hostname: "127.0.0.1" }));
  await rejected(
    options("leaf.pem", ["intermediate.pem"], { hostname: "not-an-ip", ip: "999.0.0.1" }),
    "hostname_mismatch",
    0,
  );
});

Deno.test("verifyChain: intermediates in any order, extras ignored, duplicates harmless", async () => {
  const path = await verifyChain(options("leaf.pem", [
    "other-root.pem",
    "sub-intermediate.pem",
    "ec-intermediate.pem",
    "leaf.pem",
    "intermediate.pem",
  ]));
  assert.equal(path.length, 3);
  const again = await verifyChain(options("leaf.pem", [
    "root.pem",
    "intermediate.pem",
    "intermediate.pem",
    "leaf.pem",
  ]));
  assert.deepEqual(subjects(again), [
    "localhost",
    "anchortls test intermediate",
    "anchortls test root",
  ]);
});

Deno.test("verifyChain: the path search backtracks over same-named issuers", async () => {
  // intermediate-rekeyed has the intermediate's name, another key and no key identifiers,
  // so only its signature tells it apart.
  const path = await verifyChain(
    options("leaf.pem", ["intermediate-rekeyed.pem", "intermediate.pem"]),
  );
  assert.ok(path[1]!.equals(intermediate));
  await rejected(options("leaf.pem", ["intermediate-rekeyed.pem"]), "bad_signature", 0);
  // The intermediate itself as the anchor gives a two-certificate path.
  const short = await verifyChain(options("leaf.pem", [], { trustAnchors: [intermediate] }));
  assert.equal(short.length, 2);
  // A trusted leaf is a path of one.
  const self = await verifyChain(options("self-signed.pem", [], {
    trustAnchors: [fixture("self-signed.pem")],
  }));
  assert.equal(self.length, 1);
});

Deno.test("verifyChain: the path search is bounded against decoy floods", async () => {
  const rekeyed = fixture("intermediate-rekeyed.pem").der;
  const decoys = Array.from({ length: 400 }, (_, i) => {
    const der = rekeyed.slice();
    der[der.length - 1] = i & 0xff;
    der[der.length - 2] = i >> 8;
    return parseCertificate(der);
  });
  const o = options("leaf.pem", []);
  // Duplicates collapse, so a repeated decoy costs one attempt.
  const repeated = new Array(400).fill(fixture("intermediate-rekeyed.pem"));
  await verifyChain({ ...o, intermediates: [...repeated, intermediate] });
  // Distinct decoys exhaust the search before the real issuer at the end is reached.
  await rejected({ ...o, intermediates: [...decoys, intermediate] }, "bad_signature", 1);
  await verifyChain({ ...o, intermediates: [intermediate, ...decoys] });
});

Deno.test("verifyChain: policy opt-ins", async () => {
  await verifyChain(options("sha1.pem", ["intermediate.pem"], { allowSha1: true }));
  await verifyChain(options("rsa1024.pem", ["intermediate.pem"], { minRsaBits: 1024 }));
  await rejected(
    options("leaf.pem", ["intermediate.pem"], { minRsaBits: 3072 }),
    "weak_key",
    0,
  );
});

Deno.test("verifyChain: validity boundaries are inclusive, on every certificate", async () => {
  // The leaf was made last and the root first, so the leaf starts last and the root ends first.
  const leaf = fixture("leaf.pem");
  const at = (t: number): Extra => ({ now: new Date(t) });
  await verifyChain(options("leaf.pem", ["intermediate.pem"], at(leaf.notBefore.getTime())));
  await verifyChain(options("leaf.pem", ["intermediate.pem"], at(root.notAfter.getTime())));
  await rejected(
    options("leaf.pem", ["intermediate.pem"], at(root.notAfter.getTime() + 1000)),
    "expired",
    2,
  );
  await rejected(
    options("leaf.pem", ["intermediate.pem"], at(leaf.notBefore.getTime() - 1000)),
    "not_yet_valid",
    0,
  );
});

Deno.test("errors: every reason builds a CertificateError that names it and its place", () => {
  const reasons: CertificateErrorReason[] = [
    "malformed",
    "bad_signature",
    "hostname_mismatch",
    "unsupported_algorithm",
    "unsupported_key",
    "weak_key",
    "weak_signature_algorithm",
    "unknown_critical_extension",
    "key_usage",
    "ext_key_usage",
    "expired",
    "not_yet_valid",
    "not_ca",
    "path_length_exceeded",
    "max_depth_exceeded",
    "name_constraints",
    "unknown_issuer",
    "self_signed",
  ];
  for (const reason of reasons) {
    const e = new CertificateError(reason, 2, "detail", { cause: 1 });
    assert.equal(e.name, "CertificateError");
    assert.equal(e.reason, reason);
    assert.equal(e.index, 2);
    assert.equal(e.cause, 1);
    assert.match(e.message, new RegExp(`certificate 2: ${reason}: detail`));
  }
});

Deno.test("verifyChain: mutated chains resolve or reject with CertificateError only", async () => {
  const seed = 0x7e57c4a1;
  const rand = seededRandom(seed);
  const sources = ["leaf.pem", "intermediate.pem", "nc-intermediate.pem", "ec-chain-leaf.pem"]
    .map((f) => fixture(f).der);
  let validated = 0;
  for (let i = 0; i < 1500; i++) {
    const which = rand(sources.length);
    const der = sources[which]!.slice();
    der[rand(der.length)]! ^= 1 << rand(8);
    let cert: Certificate;
    try {
      cert = parseCertificate(der);
    } catch (e) {
      if (e instanceof CertificateError) continue;
      throw e;
    }
    const chain = which === 0 || which === 3
      ? { leaf: cert, intermediates: [intermediate, fixture("ec-intermediate.pem")] }
      : { leaf: fixture(which === 1 ? "leaf.pem" : "nc-ok-leaf.pem"), intermediates: [cert] };
    try {
      await verifyChain({ ...chain, trustAnchors: [root], now });
      validated++;
    } catch (e) {
      if (!(e instanceof CertificateError)) {
        throw new Error(`seed ${seed} iteration ${i}: ${e}`, { cause: e });
      }
    }
  }
  // A flipped bit inside a signed certificate must never validate.
  assert.equal(validated, 0);
});
