/**
 * The handshake summary the examples print: suite, extensions, the verified chain and name,
 * where each provider operation ran, chip traffic and timing.
 *
 * @module
 */

import type { HandshakeInfo } from "@anchortls/handshake";
import type { Certificate } from "@anchortls/x509";
import type { OperationRecord, ProviderMeter } from "./_provider.ts";

/** Everything one summary shows. */
export interface SummaryInput {
  /** What the handshake established. */
  readonly info: HandshakeInfo;
  /** The name the chain was checked for. */
  readonly serverName: string;
  /** Provider operations and where they ran. */
  readonly operations: readonly OperationRecord[];
  /** How the chip was reached (`host` without one). */
  readonly chip: string;
  /** APDUs during the handshake. */
  readonly apdus: number;
  /** Serial link bytes during the handshake, when there is a byte link. */
  readonly linkBytes?: { sent: number; received: number } | undefined;
  /** Network bytes during the handshake, when counted. */
  readonly wire?: { sent: number; received: number } | undefined;
  /** Handshake time in milliseconds. */
  readonly handshakeMs: number;
}

/**
 * A certificate's display name: its common name, or its subject.
 *
 * @param certificate The certificate.
 * @returns A short name.
 */
export function certificateName(certificate: Certificate): string {
  return certificate.subject.commonName ?? certificate.subject.toString();
}

const yesNo = (value: boolean) => value ? "yes" : "no";

function operationList(operations: readonly OperationRecord[], where: "host" | "chip"): string {
  const here = operations.filter((op) => op.where === where);
  if (here.length === 0) return "—";
  return here.map((op) => {
    const times = op.calls > 1 ? ` ×${op.calls}` : "";
    const apdus = where === "chip" ? ` (${op.apdus} APDU${op.apdus === 1 ? "" : "s"})` : "";
    return `${op.name}${times}${apdus}`;
  }).join(", ");
}

/**
 * How records are protected, in the summary's words: `AEAD` for an AEAD suite (Encrypt-then-MAC
 * does not apply), else whether Encrypt-then-MAC was agreed.
 *
 * @param info What the handshake established.
 * @returns `AEAD`, `EtM yes` or `EtM no`.
 */
export function recordProtection(info: HandshakeInfo): string {
  return info.suite.kind === "aead" ? "AEAD" : `EtM ${yesNo(info.encryptThenMac)}`;
}

/**
 * Formats the summary as indented lines.
 *
 * @param input What to show.
 * @returns The lines, without trailing newlines.
 */
export function formatSummary(input: SummaryInput): string[] {
  const { info } = input;
  const chain = info.peerCertificates.map(certificateName).join(" ← ");
  const lines = [
    `suite     ${info.suite.name}  ${recordProtection(info)}  EMS ${
      yesNo(info.extendedMasterSecret)
    }  resumed ${yesNo(info.resumed)}  client cert ${yesNo(info.clientCertificateSent)}`,
    info.peerCertificates.length > 0
      ? `chain     ${chain}  (verified for "${input.serverName}")`
      : "chain     none: the server proved the pre-shared key",
    ...(info.connectionId
      ? [
        `cid       ours ${info.connectionId.ours.toHex() || "(none)"}, the server's ${
          info.connectionId.peer.toHex() || "(none)"
        } (RFC 9146)`,
      ]
      : []),
    `on chip   ${operationList(input.operations, "chip")}`,
    `on host   ${operationList(input.operations, "host")}`,
  ];
  if (input.chip !== "host") {
    const link = input.linkBytes
      ? `, ${input.linkBytes.sent} bytes to the chip, ${input.linkBytes.received} back`
      : "";
    lines.push(`chip      ${input.chip}: ${input.apdus} APDUs${link}`);
  }
  if (input.wire) {
    lines.push(`network   ${input.wire.sent} bytes sent, ${input.wire.received} received`);
  }
  lines.push(`time      ${input.handshakeMs.toFixed(0)} ms handshake`);
  return lines.map((line) => `  ${line}`);
}

/** What {@linkcode reportHandshake} prints around the summary. */
export interface HandshakeReport {
  /** The handshake, for the error line, e.g. `DTLS handshake with host:5684`. */
  readonly what: string;
  /** The line before the summary, e.g. `DTLS 1.2 with host:5684`. */
  readonly title: string;
  /** The name the chain was checked for. */
  readonly serverName: string;
  /** Network bytes, when counted. */
  readonly wire?: { sent: number; received: number } | undefined;
  /** Whether to show the bytes on the link to the chip. */
  readonly linkBytes: boolean;
}

/**
 * Waits for a handshake, then prints the title and the summary; a failure becomes one line
 * that names the peer.
 *
 * @param handshake The connection's handshake promise.
 * @param meter The provider's meter.
 * @param report What to call the handshake and what to show.
 * @returns What the handshake established.
 * @throws {Error} `WHAT failed: reason`, with the original as cause.
 */
export async function reportHandshake(
  handshake: Promise<HandshakeInfo>,
  meter: ProviderMeter,
  report: HandshakeReport,
): Promise<HandshakeInfo> {
  const info = await handshake.catch((error: Error) => {
    throw new Error(`${report.what} failed: ${error.message}`, { cause: error });
  });
  const summary = meter.summary(info, report.serverName, report.wire, report.linkBytes);
  // deno-lint-ignore no-console
  console.log(report.title);
  // deno-lint-ignore no-console
  for (const line of formatSummary(summary)) console.log(line);
  return info;
}
