/**
 * Where the example clients keep their secrets: the software provider, or a MULTOS Trust Anchor
 * (the in-process emulator, a serial device, or a TCP bridge) through `MultosCryptoProvider`;
 * and a wrapper that records which provider operations ran and how many APDUs each sent.
 *
 * @module
 */

import {
  type CryptoProvider,
  type EncryptedPremaster,
  type HandshakeInfo,
  type MasterSecretHandle,
  type PortableMasterSecret,
  type PremasterHandle,
  type ProviderOperation,
  type RecordKeys,
  SoftwareCryptoProvider,
} from "@anchortls/handshake";
import type { RecordContext, RecordProtector } from "@anchortls/record";
import { parsePem } from "@anchortls/x509";
import { MultosCryptoProvider, TrustCoreEmulator } from "@anchortls/multos-apdu";
import { type ByteLink, CommandModeTransport, openByteLink } from "@anchortls/transport-serial";
import type { PolicyName } from "./_args.ts";
import type { SummaryInput } from "./_report.ts";

/** Byte counts of a serial (or TCP-bridged) link to the chip. */
export interface LinkCounters {
  /** Bytes written to the chip. */
  sent: number;
  /** Bytes read from the chip. */
  received: number;
}

/** A provider ready for a handshake, and what it needs to be closed. */
export interface OpenedProvider {
  /** The provider to pass to the handshake. */
  readonly provider: CryptoProvider;
  /** How the chip is reached, e.g. `emulator (in-process)`, or `host` without a chip. */
  readonly where: string;
  /** APDUs sent so far (0 without a chip). */
  apdus(): number;
  /** Link bytes so far, or undefined when there is no byte link (in-process emulator). */
  linkBytes(): LinkCounters | undefined;
  /** Erases the chip's session keys and closes its link. */
  close(): Promise<void>;
}

/** What {@linkcode openProvider} needs. */
export interface ProviderChoice {
  /** Where the secrets live. */
  readonly policy: PolicyName;
  /** `emulator`, a serial device path, or `tcp:HOST:PORT`; required unless `software`. */
  readonly trustAnchor?: string | undefined;
  /** The chip's user PIN. @default {"0000"} */
  readonly pin?: string;
  /** Client certificate chain, PEM text (software provider, or loaded into the emulator). */
  readonly certPem?: string | undefined;
  /** Client key, PEM text. */
  readonly keyPem?: string | undefined;
  /** `full`: keep the chip's TLS keys across runs, for a saved session (`--session`). */
  readonly keepSessionKeys?: boolean;
}

/**
 * Counts the bytes crossing a link in each direction.
 *
 * @param link The link to the chip.
 * @param counters Incremented as bytes pass.
 * @returns A link with the same behaviour.
 */
export function countingLink(link: ByteLink, counters: LinkCounters): ByteLink {
  const writer = link.writable.getWriter();
  return {
    readable: link.readable.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          counters.received += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    ),
    writable: new WritableStream<Uint8Array>({
      async write(chunk) {
        counters.sent += chunk.length;
        await writer.write(chunk);
      },
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    }),
    close: () => link.close(),
    ...(link.setBaudRate ? { setBaudRate: (rate: number) => link.setBaudRate!(rate) } : {}),
  };
}

/**
 * Opens the provider a command line asks for.
 *
 * @param choice Policy, chip address, PIN and client identity.
 * @returns The provider and its counters.
 */
export async function openProvider(choice: ProviderChoice): Promise<OpenedProvider> {
  if (choice.policy === "software") {
    const provider = choice.certPem !== undefined && choice.keyPem !== undefined
      ? await SoftwareCryptoProvider.create({
        clientCertificate: { chain: parsePem(choice.certPem), privateKey: choice.keyPem },
      })
      : new SoftwareCryptoProvider();
    return {
      provider,
      where: "host",
      apdus: () => 0,
      linkBytes: () => undefined,
      close: () => Promise.resolve(),
    };
  }
  const pin = choice.pin ?? "0000";
  const anchor = choice.trustAnchor;
  if (anchor === undefined) throw new TypeError(`policy ${choice.policy} needs a trust anchor`);
  if (anchor === "emulator") {
    const chip = choice.certPem !== undefined && choice.keyPem !== undefined
      ? await TrustCoreEmulator.fromPem({
        pin,
        keyPem: choice.keyPem,
        certificatePem: choice.certPem,
      })
      : new TrustCoreEmulator({ pin });
    const provider = await MultosCryptoProvider.open(
      { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
      { policy: choice.policy, pin, keepSessionKeys: choice.keepSessionKeys ?? false },
    );
    return {
      provider,
      where: "emulator (in-process)",
      apdus: () => provider.trustCore.stats.apdus,
      linkBytes: () => undefined,
      close: () => provider.close(),
    };
  }
  const counters: LinkCounters = { sent: 0, received: 0 };
  const transport = await CommandModeTransport.open(
    countingLink(await openByteLink(anchor), counters),
  );
  try {
    const provider = await MultosCryptoProvider.open(transport, {
      policy: choice.policy,
      pin,
      keepSessionKeys: choice.keepSessionKeys ?? false,
    });
    return {
      provider,
      where: anchor,
      apdus: () => provider.trustCore.stats.apdus,
      linkBytes: () => ({ ...counters }),
      async close() {
        await provider.close().catch(() => {});
        await transport.close();
      },
    };
  } catch (error) {
    await transport.close().catch(() => {});
    throw error;
  }
}

/** Provider operations, in handshake order, with readable names. */
export const OPERATION_NAMES: Readonly<Record<ProviderOperation, string>> = {
  random: "randoms",
  encryptPremaster: "premaster",
  keyAgreement: "ECDHE",
  masterSecret: "master secret",
  recordKeys: "key block",
  finished: "Finished",
  certificateChain: "client chain",
  sign: "CertificateVerify",
  seal: "record seal",
  open: "record open",
};

/** One kind of provider operation and where it ran. */
export interface OperationRecord {
  /** Readable name, e.g. `premaster`. */
  readonly name: string;
  /** How often it ran. */
  calls: number;
  /** APDUs it sent. */
  apdus: number;
  /** `chip` when the policy puts it there, else `host`. */
  readonly where: "host" | "chip";
}

/** A provider that records its operations. */
export interface InstrumentedProvider {
  /** Pass this one to the handshake. */
  readonly provider: CryptoProvider;
  /** The operations seen so far, in first-use order. */
  operations(): OperationRecord[];
}

/**
 * Wraps a provider (and the record protectors it makes) to record each operation and the APDUs
 * it took. Only names and counts are kept: no argument or result is looked at.
 *
 * @param inner The real provider.
 * @param apdus The chip's APDU counter (0 for software).
 * @returns The wrapper and its record.
 */
export function instrumentProvider(
  inner: CryptoProvider,
  apdus: () => number,
): InstrumentedProvider {
  const records = new Map<keyof typeof OPERATION_NAMES, OperationRecord>();
  // What runs where is the provider's own data, not a table kept here.
  const placement = inner.placement;
  const timed = async <T>(op: keyof typeof OPERATION_NAMES, run: () => Promise<T>): Promise<T> => {
    const before = apdus();
    try {
      return await run();
    } finally {
      let record = records.get(op);
      if (!record) {
        record = {
          name: OPERATION_NAMES[op],
          calls: 0,
          apdus: 0,
          where: placement?.[op] ?? "host",
        };
        records.set(op, record);
      }
      record.calls++;
      record.apdus += apdus() - before;
    }
  };
  const wrapProtector = (protector: RecordProtector): RecordProtector => ({
    get maxExpansion() {
      return protector.maxExpansion;
    },
    seal: (context: RecordContext, plaintext: Uint8Array) =>
      timed("seal", async () => await protector.seal(context, plaintext)),
    open: (context: RecordContext, fragment: Uint8Array) =>
      timed("open", async () => await protector.open(context, fragment)),
  });
  const provider: CryptoProvider = {
    get policy() {
      return inner.policy;
    },
    get signatureSchemes() {
      return inner.signatureSchemes;
    },
    get recordRequirements() {
      return inner.recordRequirements;
    },
    get placement() {
      return inner.placement;
    },
    get cipherSuites() {
      return inner.cipherSuites;
    },
    get groups() {
      return inner.groups;
    },
    // Every argument is passed on as given, so parameters added to the interface later
    // (like encryptPremaster's DTLS client_version) keep reaching the provider.
    random: (...args) => timed("random", () => inner.random(...args)),
    encryptPremaster: (...args): Promise<EncryptedPremaster> =>
      timed("encryptPremaster", () => inner.encryptPremaster(...args)),
    masterSecret: (...args): Promise<MasterSecretHandle> =>
      timed("masterSecret", () => inner.masterSecret(...args)),
    recordKeys: async (...args): Promise<RecordKeys> => {
      const keys = await timed("recordKeys", () => inner.recordKeys(...args));
      return { client: wrapProtector(keys.client), server: wrapProtector(keys.server) };
    },
    finished: (...args) => timed("finished", () => inner.finished(...args)),
    certificateChain: () => timed("certificateChain", () => inner.certificateChain()),
    sign: (...args) => timed("sign", () => inner.sign(...args)),
    release: (...args: [PremasterHandle | MasterSecretHandle]) => inner.release(...args),
    // Only where the inner provider has it: without it the handshake offers no ECDHE suite.
    ...(inner.keyAgreement
      ? {
        keyAgreement: (...args: Parameters<NonNullable<CryptoProvider["keyAgreement"]>>) =>
          timed("keyAgreement", () => inner.keyAgreement!(...args)),
      }
      : {}),
    // Only where the inner provider has it: its absence is what refuses a key log.
    ...(inner.revealMasterSecret
      ? { revealMasterSecret: (master: MasterSecretHandle) => inner.revealMasterSecret!(master) }
      : {}),
    // Only where the inner provider has it: PSK key exchange (host work, not metered: the
    // applet in full takes no pre-shared key).
    ...(inner.pskPremaster
      ? {
        pskPremaster: (...args: Parameters<NonNullable<CryptoProvider["pskPremaster"]>>) =>
          inner.pskPremaster!(...args),
      }
      : {}),
    // Only where the inner provider has them: sessions saved between runs (`--session`).
    ...(inner.exportMasterSecret && inner.importMasterSecret
      ? {
        exportMasterSecret: (master: MasterSecretHandle) => inner.exportMasterSecret!(master),
        importMasterSecret: (portable: PortableMasterSecret) => inner.importMasterSecret!(portable),
      }
      : {}),
  };
  return { provider, operations: () => [...records.values()] };
}

/** An instrumented provider and what it has cost since it was opened. */
export interface ProviderMeter {
  /** Pass this one to the handshake. */
  readonly provider: CryptoProvider;
  /**
   * What the handshake cost: operations, APDUs, time, and (with `linkBytes`) serial bytes.
   *
   * @param info What the handshake established.
   * @param serverName The name the chain was checked for.
   * @param wire Network bytes, when counted.
   * @param linkBytes Whether to show the bytes on the link to the chip.
   * @returns The input for `formatSummary`.
   */
  summary(
    info: HandshakeInfo,
    serverName: string,
    wire: { sent: number; received: number } | undefined,
    linkBytes: boolean,
  ): SummaryInput;
}

/**
 * Instruments an opened provider and starts measuring: APDUs, link bytes and time count from
 * this call.
 *
 * @param opened The provider.
 * @returns The instrumented provider and its meter.
 */
export function meterProvider(opened: OpenedProvider): ProviderMeter {
  const instrumented = instrumentProvider(opened.provider, opened.apdus);
  const apdusBefore = opened.apdus();
  const linkBefore = opened.linkBytes();
  const started = performance.now();
  return {
    provider: instrumented.provider,
    summary(info, serverName, wire, linkBytes) {
      const handshakeMs = performance.now() - started;
      const link = opened.linkBytes();
      return {
        info,
        serverName,
        // Copies: the records keep counting while the connection is used afterwards.
        operations: instrumented.operations().map((op) => ({ ...op })),
        chip: opened.where,
        apdus: opened.apdus() - apdusBefore,
        linkBytes: linkBytes && link && linkBefore
          ? { sent: link.sent - linkBefore.sent, received: link.received - linkBefore.received }
          : undefined,
        wire: wire ? { ...wire } : undefined,
        handshakeMs,
      };
    },
  };
}

/**
 * Opens a provider, runs `use` with it metered from now, and closes it.
 *
 * @param choice Where the secrets live.
 * @param use The work done with the provider.
 * @returns What `use` returns.
 */
export async function withMeteredProvider<T>(
  choice: ProviderChoice,
  use: (meter: ProviderMeter) => Promise<T>,
): Promise<T> {
  const opened = await openProvider(choice);
  try {
    return await use(meterProvider(opened));
  } finally {
    await opened.close();
  }
}
