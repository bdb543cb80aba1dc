/**
 * Certificate policy processing (RFC 5280 §6.1.2–§6.1.5) with the inputs a TLS client has:
 * any policy acceptable (user-initial-policy-set = {anyPolicy}), and explicit policy, policy
 * mapping and anyPolicy not inhibited at the start. The result matters only when a CA's
 * policyConstraints requires an explicit policy: then every certificate from that point down
 * must carry a certificatePolicies that chains to the ones above it (through policyMappings,
 * unless inhibited, and anyPolicy, unless inhibitAnyPolicy says otherwise).
 *
 * The valid_policy_tree is kept as its bottom row: each node's valid policy with its expected
 * policy set, and whether an anyPolicy node is there. Qualifiers are never returned, so the
 * row is all acceptance needs.
 *
 * @module
 */

import type { Certificate } from "./certificate.ts";
import { Oid } from "./oid.ts";

/** The bottom row of the valid_policy_tree, or `null` once the tree is empty. */
type PolicyRow = {
  /** valid_policy → expected_policy_set, for the nodes other than anyPolicy. */
  readonly nodes: Map<string, Set<string>>;
  /** Whether the row holds an anyPolicy node. */
  readonly any: boolean;
} | null;

/**
 * Runs policy processing over a path.
 *
 * @param path Leaf first, anchor last; the anchor's own extensions are not processed (RFC
 *   5280 §6.1.1 takes the trust anchor as input).
 * @returns `undefined` when the path is acceptable, else the index of the certificate from
 *   which no policy was acceptable, with why.
 */
export function policyViolation(
  path: readonly Certificate[],
): { index: number; message: string } | undefined {
  const n = path.length - 1;
  let explicitPolicy = n + 1;
  let inhibitAnyPolicy = n + 1;
  let policyMapping = n + 1;
  let row: PolicyRow = { nodes: new Map(), any: true };
  let emptiedAt: number | undefined;
  // k counts from the certificate the anchor issued (1) down to the leaf (n).
  for (let k = 1; k <= n; k++) {
    const index = n - k;
    const cert = path[index]!;
    const leaf = k === n;
    row = nextRow(row, cert, inhibitAnyPolicy > 0 || (!leaf && cert.selfIssued));
    // An empty tree stays empty and explicit_policy only falls, so §6.1.3 (f) failing here
    // means the wrap-up fails too: only where it emptied is worth keeping, for the message.
    if (row === null) emptiedAt ??= index;
    if (leaf) break;
    if (cert.policyMappings && row) row = mapPolicies(row, cert, policyMapping > 0);
    if (!cert.selfIssued) {
      if (explicitPolicy > 0) explicitPolicy--;
      if (policyMapping > 0) policyMapping--;
      if (inhibitAnyPolicy > 0) inhibitAnyPolicy--;
    }
    const constraints = cert.policyConstraints;
    if (constraints?.requireExplicitPolicy !== undefined) {
      explicitPolicy = Math.min(explicitPolicy, constraints.requireExplicitPolicy);
    }
    if (constraints?.inhibitPolicyMapping !== undefined) {
      policyMapping = Math.min(policyMapping, constraints.inhibitPolicyMapping);
    }
    if (cert.inhibitAnyPolicy !== undefined) {
      inhibitAnyPolicy = Math.min(inhibitAnyPolicy, cert.inhibitAnyPolicy);
    }
  }
  // Wrap-up (§6.1.5): the leaf's own requireExplicitPolicy of 0 also counts.
  if (n > 0) {
    if (explicitPolicy > 0) explicitPolicy--;
    if (path[0]!.policyConstraints?.requireExplicitPolicy === 0) explicitPolicy = 0;
  }
  if (explicitPolicy === 0 && row === null) {
    return {
      index: emptiedAt ?? 0,
      message: "an explicit policy is required, and from this certificate on none is acceptable",
    };
  }
  return undefined;
}

/** §6.1.3 (d), (e): the row below `row` for `cert`'s certificatePolicies. */
function nextRow(row: PolicyRow, cert: Certificate, anyPolicyAllowed: boolean): PolicyRow {
  const policies = cert.certificatePolicies;
  if (!row || !policies) return null;
  const nodes = new Map<string, Set<string>>();
  const expected = new Set([...row.nodes.values()].flatMap((set) => [...set]));
  for (const policy of policies) {
    if (policy === Oid.anyPolicy) continue;
    // (d)(1): a child of each node expecting it, or of the anyPolicy node.
    if (expected.has(policy) || row.any) nodes.set(policy, new Set([policy]));
  }
  const certAny = policies.includes(Oid.anyPolicy) && anyPolicyAllowed;
  if (certAny) {
    // (d)(2): anyPolicy here stands for every expected policy not matched yet.
    for (const policy of expected) if (!nodes.has(policy)) nodes.set(policy, new Set([policy]));
  }
  const any = certAny && row.any;
  return nodes.size > 0 || any ? { nodes, any } : null;
}

/** §6.1.4 (b): a CA's policyMappings, applied to the row its certificate produced. */
function mapPolicies(
  row: NonNullable<PolicyRow>,
  cert: Certificate,
  mappingAllowed: boolean,
): PolicyRow {
  const nodes = new Map(row.nodes);
  const bySource = new Map<string, string[]>();
  for (const { issuerDomainPolicy, subjectDomainPolicy } of cert.policyMappings ?? []) {
    bySource.set(issuerDomainPolicy, [
      ...(bySource.get(issuerDomainPolicy) ?? []),
      subjectDomainPolicy,
    ]);
  }
  for (const [source, targets] of bySource) {
    if (!mappingAllowed) {
      nodes.delete(source);
    } else if (nodes.has(source) || row.any) {
      nodes.set(source, new Set(targets));
    }
  }
  return nodes.size > 0 || row.any ? { nodes, any: row.any } : null;
}
