import assert from "node:assert/strict";
import type { Certificate } from "./certificate.ts";
import type { GeneralSubtree, NameConstraints } from "./extensions.ts";
import type { GeneralName } from "./general_name.ts";
import { DistinguishedName } from "./name.ts";
import { nameConstraintViolation } from "./name_constraints.ts";

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
