/**
 * Option conversions shared by `connectTls` and `connectDtls`.
 *
 * @module
 */

import {
  type CryptoProvider,
  type HandshakeInfo,
  type HandshakeTrace,
  type MaxFragmentLength,
  type PskCredentials,
  SessionCache,
  SoftwareCryptoProvider,
  type TlsSession,
} from "@anchortls/handshake";
import { type CipherSuite, cipherSuiteById } from "@anchortls/record";
import { type Certificate, type Crl, parseCertificate, parseCrls, parsePem } from "@anchortls/x509";
import type { ClientCertificateOptions, CommonConnectOptions } from "./connect_options.ts";
import { systemTrustStore } from "./trust_store.ts";

/**
 * Reads trust anchors given as PEM text, DER or parsed certificates.
 *
 * @param input One `caCerts` entry.
 * @returns The certificates it holds.
 */
export function toCertificates(input: string | Uint8Array | Certificate): Certificate[] {
  if (typeof input === "string") return parsePem(input).map((der) => parseCertificate(der));
  if (input instanceof Uint8Array) return [parseCertificate(input)];
  return [input];
}

/**
 * Resolves a suite given as an object or a code point.
 *
 * @param suite One `suites` entry.
 * @returns The suite.
 * @throws {TypeError} For a code point we do not implement.
 */
export function toSuite(suite: CipherSuite | number): CipherSuite {
  if (typeof suite !== "number") return suite;
  const found = cipherSuiteById(suite);
  if (!found) throw new TypeError(`unsupported cipher suite 0x${suite.toString(16)}`);
  return found;
}

/** The session to offer, and where the new one goes. */
export interface SessionChoice {
  /** The session to offer, if any. */
  readonly session: TlsSession | undefined;
  /** Stores the handshake's session in the cache the option named (if any). */
  readonly remember: (info: HandshakeInfo) => void;
}

/**
 * Reads the `session` option: a cache is looked up under `key` and given the new session.
 *
 * @param option The `session` option.
 * @param key The cache key of this server (name, port, transport).
 * @returns The session to offer and the hook that keeps the new one.
 */
export function chooseSession(
  option: SessionCache | TlsSession | undefined,
  key: string,
): SessionChoice {
  if (!(option instanceof SessionCache)) return { session: option, remember: () => {} };
  return {
    session: option.get(key, Date.now()),
    remember: (info) => {
      if (info.session) option.set(key, info.session);
    },
  };
}

// One software provider for every connection without a client certificate, so sessions it
// made can be resumed by later connections (a session's master secret lives in its provider).
let sharedProvider: SoftwareCryptoProvider | undefined;

/**
 * The default provider: one shared software provider, or a new one holding a client
 * certificate.
 *
 * @param clientCertificate The `clientCertificate` option.
 * @returns The provider.
 */
export async function softwareProvider(
  clientCertificate: ClientCertificateOptions | undefined,
): Promise<CryptoProvider> {
  if (!clientCertificate) return sharedProvider ??= new SoftwareCryptoProvider();
  const chain = typeof clientCertificate.certificateChain === "string"
    ? parsePem(clientCertificate.certificateChain)
    : clientCertificate.certificateChain;
  return await SoftwareCryptoProvider.create({
    clientCertificate: { chain, privateKey: clientCertificate.privateKey },
  });
}

/** The options `connectTls` and `connectDtls` both take. */
export type SharedConnectOptions = CommonConnectOptions & { readonly signal?: AbortSignal };

/** The shared options checked and resolved into the settings both handshakes take. */
export interface SharedSettings {
  /** The given provider, or the default software one. */
  readonly provider: CryptoProvider;
  /** Every certificate `caCerts` held; never empty. */
  readonly trustAnchors: Certificate[];
  /** The parsed `crls`, when given. */
  readonly crls?: readonly Crl[];
  /** `serverName`, or the hostname when none was given. */
  readonly serverName: string;
  /** The offered suites, when given. */
  readonly suites?: CipherSuite[];
  /** The offered ECDHE groups, when given. */
  readonly groups?: readonly number[];
  /** Whether to offer Encrypt-then-MAC, when given. */
  readonly encryptThenMac?: boolean;
  /** max_fragment_length to offer, when given. */
  readonly maxFragmentLength?: MaxFragmentLength | false;
  /** record_size_limit to offer, when given. */
  readonly recordSizeLimit?: number | false;
  /** ALPN protocols to offer, when given. */
  readonly alpnProtocols?: readonly string[];
  /** Whether to offer session tickets, when given. */
  readonly sessionTickets?: boolean;
  /** The pre-shared key, when given. */
  readonly psk?: PskCredentials;
  /** The trace hook, when given. */
  readonly onHandshakeMessage?: (message: HandshakeTrace) => void;
  /** The key log, when given. */
  readonly keyLog?: (line: string) => void;
  /** The cancelling signal, when given. */
  readonly signal?: AbortSignal;
}

/**
 * Checks the options both connect functions share and resolves them.
 *
 * @param options The caller's options.
 * @returns The settings for `startTls` / `startDtls`.
 * @throws {TypeError} For a provider next to a client certificate, or no trust anchor.
 * @throws {CertificateError} `bad_crl` for a CRL that does not parse.
 */
export async function resolveSharedOptions(
  options: SharedConnectOptions,
): Promise<SharedSettings> {
  if (options.provider && options.clientCertificate) {
    throw new TypeError("pass clientCertificate to your provider, not next to it");
  }
  options.signal?.throwIfAborted();
  // A PSK alone authenticates the server: the system store is read only for certificates.
  const trustAnchors = options.caCerts
    ? options.caCerts.flatMap(toCertificates)
    : options.psk
    ? []
    : await systemTrustStore();
  if (trustAnchors.length === 0 && !options.psk) {
    throw new TypeError("caCerts holds no certificate");
  }
  const suites = options.suites?.map(toSuite);
  const provider = options.provider ?? await softwareProvider(options.clientCertificate);
  return {
    provider,
    trustAnchors,
    ...(options.crls ? { crls: parseCrls(options.crls) } : {}),
    serverName: options.serverName ?? options.hostname,
    ...(suites ? { suites } : {}),
    ...(options.groups ? { groups: options.groups } : {}),
    ...(options.encryptThenMac !== undefined ? { encryptThenMac: options.encryptThenMac } : {}),
    ...(options.maxFragmentLength !== undefined
      ? { maxFragmentLength: options.maxFragmentLength }
      : {}),
    ...(options.recordSizeLimit !== undefined ? { recordSizeLimit: options.recordSizeLimit } : {}),
    ...(options.alpnProtocols !== undefined ? { alpnProtocols: options.alpnProtocols } : {}),
    ...(options.sessionTickets !== undefined ? { sessionTickets: options.sessionTickets } : {}),
    ...(options.psk ? { psk: options.psk } : {}),
    ...(options.onHandshakeMessage ? { onHandshakeMessage: options.onHandshakeMessage } : {}),
    ...(options.keyLog ? { keyLog: options.keyLog } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}
