/**
 * Property tests of chain validation: any leaf, any intermediates in any order (duplicates
 * included) and any trust anchors from the test PKI, with any host name and policy, either
 * give a path that really chains (leaf first, each certificate issued by the next, an anchor
 * last, within the depth bound) or a `CertificateError`; and a certificate changed in any byte
 * that still parses never validates.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Certificate, parseCertificate } from "./certificate.ts";
import { CertificateError } from "./errors.ts";
import { verifyChain } from "./verify.ts";
import { fixture, fixtureDer, fixtureNames } from "./_test_util.ts";

const runs = { seed: 0x7e1, numRuns: 200 };
const names = fixtureNames();
const certificates = names.map(fixture);
const now = new Date("2030-01-01T00:00:00Z");

/** Any fixture, with the chains that do validate (leaf, EC and pathlen ones) drawn more often. */
const pick = fc.oneof(
  fc.nat(certificates.length - 1).map((i) => certificates[i]!),
  fc.constantFrom(
    "leaf.pem",
    "intermediate.pem",
    "root.pem",
    "ec-chain-leaf.pem",
    "ec-intermediate.pem",
  ).map(fixture),
);
const options = fc.record({
  hostname: fc.constantFrom(undefined, "localhost", "LOCALHOST.", "example.com", "a.localhost"),
  purpose: fc.constantFrom(undefined, "serverAuth" as const, "clientAuth" as const),
  keyUsage: fc.constantFrom(undefined, "keyEncipherment" as const, "digitalSignature" as const),
  allowSha1: fc.boolean(),
  maxDepth: fc.integer({ min: 1, max: 6 }),
}, { noNullPrototype: true });

function assertChains(
  path: Certificate[],
  leaf: Certificate,
  anchors: Certificate[],
  max: number,
): void {
  assert.equal(path[0], leaf);
  assert.ok(path.length <= max, `path of ${path.length}, bound ${max}`);
  const last = path.at(-1)!.der.toHex();
  // A trusted leaf is a path of one: the anchor may be another copy of the same certificate.
  assert.ok(anchors.some((a) => a.der.toHex() === last), "path does not end in an anchor");
  for (let i = 0; i + 1 < path.length; i++) {
    assert.ok(path[i]!.issuer.equals(path[i + 1]!.subject), `link ${i} does not chain`);
  }
}

Deno.test("verify property: any PKI mix gives a real path or a CertificateError", async () => {
  await fc.assert(
    fc.asyncProperty(
      pick,
      fc.array(pick, { maxLength: 5 }),
      fc.array(pick, { minLength: 1, maxLength: 3 }),
      options,
      async (leaf, intermediates, trustAnchors, opts) => {
        const { hostname, purpose, keyUsage, ...rest } = opts;
        try {
          const path = await verifyChain({
            leaf,
            intermediates,
            trustAnchors,
            now,
            ...rest,
            ...(hostname ? { hostname } : {}),
            ...(purpose ? { purpose } : {}),
            ...(keyUsage ? { keyUsage } : {}),
          });
          assertChains(path, leaf, trustAnchors, opts.maxDepth);
        } catch (error) {
          assert.ok(error instanceof CertificateError, `not a CertificateError: ${error}`);
        }
      },
    ),
    { ...runs, numRuns: 600 },
  );
});

Deno.test("verify property: a leaf changed in any byte never validates", async () => {
  const leafDer = fixtureDer("leaf.pem");
  const chain = {
    intermediates: [fixture("intermediate.pem")],
    trustAnchors: [fixture("root.pem")],
    hostname: "localhost",
    now,
  };
  assert.equal((await verifyChain({ leaf: parseCertificate(leafDer), ...chain })).length, 3);
  await fc.assert(
    fc.asyncProperty(
      fc.nat(leafDer.length - 1),
      fc.integer({ min: 1, max: 255 }),
      async (at, x) => {
        const bent = leafDer.slice();
        bent[at]! ^= x;
        let leaf: Certificate;
        try {
          leaf = parseCertificate(bent);
        } catch (error) {
          assert.ok(error instanceof CertificateError);
          return;
        }
        await assert.rejects(verifyChain({ leaf, ...chain }), CertificateError);
      },
    ),
    { ...runs, numRuns: 300 },
  );
});
