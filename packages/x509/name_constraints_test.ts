import assert from "node:assert/strict";
import type { Certificate } from "./certificate.ts";
import type { GeneralSubtree, NameConstraints } from "./extensions.ts";
import type { GeneralName } from "./general_name.ts";
import { DistinguishedName } from "./name.ts";
import {
  checkNameConstraints,
  NAME_CONSTRAINT_BUDGET,
  nameConstraintViolation,
} from "./name_constraints.ts";

const dn = (...rdns: [string, string][]): DistinguishedName =>
  new DistinguishedName(
    new Uint8Array(0),
    rdns.map(([type, value]) => [{ type, value, rawValue: new Uint8Array(0) }]),
  );

/** Only the fields nameConstraintViolation reads. */
const cert = (names: GeneralName[], subject = dn()): Certificate =>
  ({ subjectAltNames: names, subject }) as unknown as Certificate;

const subtrees = (...bases: GeneralName[]): GeneralSubtree[] => bases.map((base) => ({ base }));

function violates(
  names: GeneralName[],
  nc: NameConstraints,
  subject?: DistinguishedName,
): boolean {
  return nameConstraintViolation(cert(names, subject), nc, true) !== undefined;
}

Deno.test("nameConstraints: DNS subtrees", () => {
  const nc = {
    permitted: subtrees({ type: "dns", value: "example.com" }),
    excluded: subtrees({ type: "dns", value: ".internal.example.com" }),
  };
  assert.equal(violates([{ type: "dns", value: "example.com" }], nc), false);
  assert.equal(violates([{ type: "dns", value: "WWW.Example.COM" }], nc), false);
  assert.equal(violates([{ type: "dns", value: "badexample.com" }], nc), true);
  assert.equal(violates([{ type: "dns", value: "example.org" }], nc), true);
  assert.equal(violates([{ type: "dns", value: "a.internal.example.com" }], nc), true);
  assert.equal(violates([{ type: "dns", value: "internal.example.com" }], nc), false);
  // Names of a type without a permitted subtree are not restricted by it.
  assert.equal(violates([{ type: "ip", value: Uint8Array.of(1, 2, 3, 4) }], nc), false);
});

Deno.test("nameConstraints: IP, email, URI and directory subtrees", () => {
  const nc = {
    permitted: subtrees(
      { type: "ip", value: Uint8Array.of(10, 0, 0, 0, 255, 0, 0, 0) },
      { type: "email", value: "example.com" },
      { type: "uri", value: ".example.com" },
      { type: "directory", value: dn(["2.5.4.10", "Example"]) },
    ),
    excluded: subtrees({ type: "email", value: "root@example.com" }),
  };
  assert.equal(violates([{ type: "ip", value: Uint8Array.of(10, 9, 8, 7) }], nc), false);
  assert.equal(violates([{ type: "ip", value: Uint8Array.of(11, 0, 0, 1) }], nc), true);
  assert.equal(violates([{ type: "ip", value: new Uint8Array(16) }], nc), true);
  assert.equal(violates([{ type: "email", value: "a@example.com" }], nc), false);
  assert.equal(violates([{ type: "email", value: "a@mail.example.com" }], nc), true);
  assert.equal(violates([{ type: "email", value: "root@example.com" }], nc), true);
  assert.equal(violates([{ type: "uri", value: "https://www.example.com/x" }], nc), false);
  assert.equal(violates([{ type: "uri", value: "https://example.com/" }], nc), true);
  assert.equal(violates([{ type: "uri", value: "urn:example.com" }], nc), true);
  const ok = dn(["2.5.4.10", "example"], ["2.5.4.3", "host"]);
  const bad = dn(["2.5.4.10", "Other"], ["2.5.4.3", "host"]);
  assert.equal(violates([], nc, ok), false);
  assert.equal(violates([], nc, bad), true);
  // A self-issued intermediate's subject is exempt.
  assert.equal(nameConstraintViolation(cert([], bad), nc, false), undefined);
});

Deno.test("nameConstraints: a wildcard is checked as the pattern it is against excluded subtrees", () => {
  const wildcard: GeneralName[] = [{ type: "dns", value: "*.example.com" }];
  const excluding = (value: string) => ({
    permitted: [],
    excluded: subtrees({ type: "dns", value }),
  });
  // "*.example.com" matches bar.example.com, which the subtree excludes (Go CVE-2025-61727).
  assert.equal(violates(wildcard, excluding("bar.example.com")), true);
  assert.equal(violates(wildcard, excluding(".example.com")), true);
  assert.equal(violates(wildcard, excluding("example.com")), true);
  assert.equal(violates(wildcard, excluding("com")), true);
  // It cannot match anything deeper than one label, nor beside example.com.
  assert.equal(violates(wildcard, excluding("a.bar.example.com")), false);
  assert.equal(violates(wildcard, excluding(".bar.example.com")), false);
  assert.equal(violates(wildcard, excluding("example.org")), false);
  assert.equal(violates(wildcard, excluding("badexample.com")), false);
  // Permitted subtrees: every name the wildcard matches must be inside.
  const permitting = (value: string) => ({
    permitted: subtrees({ type: "dns", value }),
    excluded: [],
  });
  assert.equal(violates(wildcard, permitting("example.com")), false);
  assert.equal(violates(wildcard, permitting("bar.example.com")), true);
});

Deno.test("nameConstraints: a constraint on a form this package does not process refuses a certificate with a name of that form", () => {
  const otherName: GeneralName = { type: "other", tag: 0, raw: Uint8Array.of(0xa0, 0) };
  const x400: GeneralName = { type: "other", tag: 3, raw: Uint8Array.of(0xa3, 0) };
  for (
    const nc of [
      { permitted: subtrees(otherName), excluded: [] },
      { permitted: [], excluded: subtrees(otherName) },
    ]
  ) {
    const outcome = checkNameConstraints(cert([otherName]), nc, true);
    assert.equal(outcome.kind, "unsupported");
    // A certificate without a name of that form is not affected by it.
    assert.equal(
      checkNameConstraints(cert([{ type: "dns", value: "a.example" }]), nc, true).kind,
      "allowed",
    );
    assert.equal(checkNameConstraints(cert([x400]), nc, true).kind, "allowed");
  }
});

Deno.test("nameConstraints: the comparisons have a budget, shared across the chain's checks", () => {
  const names: GeneralName[] = Array.from({ length: 300 }, (_, i) => ({
    type: "dns",
    value: `n${i}.example.com`,
  }));
  const nc = {
    permitted: [],
    excluded: subtrees(
      ...Array.from(
        { length: 100 },
        (_, i) => ({ type: "dns", value: `x${i}.example.org` }) as GeneralName,
      ),
    ),
  };
  // 300 × 100 = 30 000 comparisons: over the budget, refused fast.
  const started = performance.now();
  assert.equal(checkNameConstraints(cert(names), nc, true).kind, "budget");
  assert.ok(performance.now() - started < 1000);
  assert.equal(checkNameConstraints(cert(names.slice(0, 100)), nc, true).kind, "allowed");
  const budget = { remaining: NAME_CONSTRAINT_BUDGET };
  assert.equal(checkNameConstraints(cert(names.slice(0, 200)), nc, true, budget).kind, "allowed");
  // The same budget carries on: the next check in the chain runs out.
  assert.equal(checkNameConstraints(cert(names.slice(0, 200)), nc, true, budget).kind, "budget");
});
