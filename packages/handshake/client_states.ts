/**
 * The states of the client handshake, one class per expected message. Each carries only what
 * its step needs and returns the next state; the chain check yields a
 * {@linkcode VerifiedServer} that the key exchange requires, so no path reaches
 * ClientKeyExchange with an unchecked certificate.
 *
 * @module
 */

import {
  AlertDescription,
  type CipherSuite,
  constantTimeEqual,
  ContentType,
  ProtocolVersion,
  Reader,
  type RecordProtector,
  TlsAlertError,
} from "@anchortls/record";
import {
  type Certificate,
  parseCertificateChain,
  type PublicKeyInfo,
  verifyChain,
} from "@anchortls/x509";
import type {
  KeyAgreement,
  MasterSecretHandle,
  PremasterHandle,
  RecordKeys,
} from "./crypto_provider.ts";
import {
  decodePskServerKeyExchange,
  encodePskClientKeyExchange,
  isPskSuite,
  pskIdentityBytes,
} from "./psk.ts";
import type { MasterSecretContext } from "./key_schedule.ts";
import { keyLogLine } from "./key_log.ts";
import type { ClientHandshakeConfig, HandshakeAction, HandshakeInfo } from "./handshake_types.ts";
import { decodeCertificate, encodeCertificate } from "./messages/certificate.ts";
import {
  type CertificateRequest,
  decodeCertificateRequest,
} from "./messages/certificate_request.ts";
import { decodeAlpnSelection } from "./messages/alpn.ts";
import { ExtensionType } from "./messages/extensions.ts";
import {
  type FragmentLimits,
  type FragmentOffer,
  negotiateFragmentLimits,
} from "./fragment_limits.ts";
import type { HandshakeFraming, HandshakeMessage } from "./messages/framing.ts";
import { HandshakeType, handshakeTypeName } from "./messages/handshake_type.ts";
import { type ClientHello, encodeClientHello } from "./messages/client_hello.ts";
import { decodeHelloVerifyRequest } from "./messages/hello_verify_request.ts";
import { decodeServerHello, type ServerHello } from "./messages/server_hello.ts";
import {
  decodeEmptyMessage,
  decodeFinished,
  decodeNewSessionTicket,
  encodeCertificateVerify,
  encodeClientKeyExchange,
} from "./messages/simple_messages.ts";
import { encodeEcdhClientKeyExchange } from "./messages/server_key_exchange.ts";
import { checkKeyShare, checkServerKeyExchange, type ServerKeyShare } from "./server_key_share.ts";
import type { TlsSession } from "./session_cache.ts";
import { Transcript } from "./transcript.ts";
import type { ServerName } from "./server_name.ts";

/** What every state may read and append to. */
export interface HandshakeContext {
  readonly config: ClientHandshakeConfig;
  readonly suites: readonly CipherSuite[];
  /** The groups our supported_groups offered; empty when no ECDHE suite was offered. */
  readonly groups: readonly number[];
  readonly offeredExtensions: ReadonlySet<number>;
  readonly fragmentOffer: FragmentOffer;
  /** The configured server name, parsed once: SNI and the certificate check both use it. */
  readonly serverName: ServerName | undefined;
  /** Digest of the trust anchors, recorded in the session this handshake makes. */
  readonly trustDigest: string;
  readonly clientRandom: Uint8Array;
  readonly offeredSession: TlsSession | undefined;
  readonly framing: HandshakeFraming;
  /** client_version of our ClientHello, which the server must echo: TLS 1.2 or DTLS 1.2. */
  readonly version: number;
  /** Our ClientHello; a DTLS HelloVerifyRequest gives it a cookie. */
  hello: ClientHello;
  /** Replaced when a DTLS HelloVerifyRequest restarts it (RFC 6347 §4.2.6). */
  transcript: Transcript;
  /** Actions produced while handling the current record. */
  actions: HandshakeAction[];
  /** Time of the current event, ms since the epoch. */
  now: number;
  /** Secrets to release if the handshake fails. */
  readonly handles: Set<PremasterHandle | MasterSecretHandle>;
  /**
   * Why our answer to a CertificateRequest was an empty Certificate, for explaining the
   * server's refusal: we hold no certificate, or none of its schemes fits our key.
   */
  certificateWithheld?: "no certificate" | "no common scheme";
  /** The session this connection runs on: the one being resumed, or the one it made. */
  activeSession?: TlsSession;
}

/** One step of the handshake. */
export interface State {
  /** Names what this state waits for, for error messages. */
  readonly expecting: string;
  /**
   * Consumes a handshake message.
   *
   * @returns The next state, or `undefined` once the handshake is complete.
   */
  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State | undefined>;
  /** Present only in states where the peer's ChangeCipherSpec is due. */
  changeCipherSpec?(context: HandshakeContext): Promise<State>;
}

/** What the ServerHello settled. */
interface Negotiated {
  readonly suite: CipherSuite;
  readonly serverRandom: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly encryptThenMac: boolean;
  readonly extendedMasterSecret: boolean;
  readonly secureRenegotiation: boolean;
  readonly fragmentLimits: FragmentLimits;
  readonly alpnProtocol: string | undefined;
  /** The server echoed session_ticket: a NewSessionTicket comes before its ChangeCipherSpec. */
  readonly newSessionTicket: boolean;
  /** RFC 9146: the CIDs both ways, when the server answered our connection_id. */
  readonly connectionId: { readonly ours: Uint8Array; readonly peer: Uint8Array } | undefined;
}

/**
 * Proof that the server's chain validated for the suite's key exchange; only
 * {@linkcode VerifiedServer.verify} makes one.
 */
class VerifiedServer {
  readonly path: readonly Certificate[];
  readonly key: PublicKeyInfo;

  private constructor(path: readonly Certificate[], key: PublicKeyInfo) {
    this.path = path;
    this.key = key;
  }

  static async verify(
    context: HandshakeContext,
    ders: Uint8Array[],
    suite: CipherSuite,
  ): Promise<VerifiedServer> {
    if (ders.length === 0) {
      throw new TlsAlertError(AlertDescription.bad_certificate, "server sent no certificate");
    }
    // Copies: the certificates outlive the connection's read buffers they arrived in.
    const [leaf, ...intermediates] = parseCertificateChain(ders.map((der) => der.slice()));
    const name = context.serverName;
    const target = name === undefined
      ? {}
      : name.kind === "ip"
      ? { ip: name.address }
      : { hostname: name.name };
    const path = await verifyChain({
      leaf: leaf!,
      intermediates,
      trustAnchors: [...context.config.trustAnchors],
      crls: context.config.crls ?? [],
      now: new Date(context.now),
      purpose: "serverAuth",
      // RFC 5246 §7.4.2, RFC 8422 §5.3: the RSA key transports the premaster; an ECDHE
      // suite's key signs the key exchange.
      keyUsage: suite.keyExchange === "rsa" ? "keyEncipherment" : "digitalSignature",
      ...target,
    });
    const key = leaf!.publicKey;
    const wanted = suite.keyExchange === "ecdhe_ecdsa" ? "ec" : "rsa";
    if (key.kind !== wanted) {
      throw new TlsAlertError(
        AlertDescription.unsupported_certificate,
        `${suite.name} needs an ${
          wanted === "ec" ? "ECDSA" : "RSA"
        } server certificate; the server's key is ${
          key.kind === "unsupported" ? key.algorithm : key.kind.toUpperCase()
        }`,
      );
    }
    return new VerifiedServer(path, key);
  }
}

function unexpected(state: State, message: HandshakeMessage): TlsAlertError {
  return new TlsAlertError(
    AlertDescription.unexpected_message,
    `expected ${state.expecting}, got ${handshakeTypeName(message.type)}`,
  );
}

/** Frames a message we send, adds it to the transcript and queues it. */
export function sendHandshake(context: HandshakeContext, type: number, body: Uint8Array): void {
  const messageSeq = context.framing.nextMessageSeq;
  const framed = context.framing.frame(type, body);
  context.transcript.add(framed);
  context.actions.push({
    kind: "send",
    contentType: ContentType.handshake,
    data: framed,
    message: { msgType: type, messageSeq, body },
  });
}

/** The key block of this handshake, full or resumed; first its key log line, when asked for. */
async function recordKeys(
  context: HandshakeContext,
  master: MasterSecretHandle,
  negotiated: Negotiated,
): Promise<RecordKeys> {
  const { provider, keyLog } = context.config;
  if (keyLog) keyLog(await keyLogLine(provider, master, context.clientRandom));
  return await provider.recordKeys(
    master,
    negotiated.suite,
    { clientRandom: context.clientRandom, serverRandom: negotiated.serverRandom },
    { encryptThenMac: negotiated.encryptThenMac },
  );
}

function sendChangeCipherSpec(context: HandshakeContext): void {
  context.actions.push({
    kind: "send",
    contentType: ContentType.change_cipher_spec,
    data: Uint8Array.of(1),
  });
}

function checkServerFinished(
  context: HandshakeContext,
  message: HandshakeMessage,
  expected: Uint8Array,
): void {
  const received = decodeFinished(message.body);
  if (!constantTimeEqual(received, expected)) {
    throw new TlsAlertError(AlertDescription.decrypt_error, "server Finished does not verify");
  }
  context.transcript.add(message.transcriptBytes);
}

async function sendClientFinished(
  context: HandshakeContext,
  master: MasterSecretHandle,
  { prfHash }: CipherSuite,
): Promise<void> {
  const verifyData = await context.config.provider.finished(
    master,
    "client finished",
    context.transcript.hash(prfHash),
    prfHash,
  );
  sendHandshake(context, HandshakeType.finished, verifyData);
}

/** Waits for ServerHello and decides between a full and an abbreviated handshake. */
/**
 * DTLS's first server message: a ServerHello, or a HelloVerifyRequest asking for the
 * ClientHello again with its cookie (RFC 6347 §4.2.1). The first ClientHello and the
 * HelloVerifyRequest stay out of the transcript (§4.2.6), so it starts over; the state stays
 * until a ServerHello comes, as a server may ask again.
 */
export class ExpectServerHelloOrHelloVerifyRequest implements State {
  readonly expecting = "ServerHello or HelloVerifyRequest";

  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.hello_verify_request) {
      return new ExpectServerHello().handle(context, message);
    }
    return Promise.try(() => {
      const { cookie } = decodeHelloVerifyRequest(message.body);
      context.hello = { ...context.hello, cookie };
      context.transcript = new Transcript();
      sendHandshake(context, HandshakeType.client_hello, encodeClientHello(context.hello));
      return this;
    });
  }
}

export class ExpectServerHello implements State {
  readonly expecting = "ServerHello";

  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    return Promise.try(() => this.#handle(context, message));
  }

  #handle(context: HandshakeContext, message: HandshakeMessage): State {
    if (message.type !== HandshakeType.server_hello) throw unexpected(this, message);
    const hello = decodeServerHello(message.body);
    const negotiated = negotiate(context, hello);
    context.transcript.add(message.transcriptBytes);
    const session = context.offeredSession;
    // Resumed when the server echoes the session ID we sent: the session's own, or with a
    // ticket the fresh one RFC 5077 §3.4 has us send.
    const sentId = context.hello.sessionId;
    if (
      session && hello.sessionId.length > 0 && hello.sessionId.length === sentId.length &&
      constantTimeEqual(hello.sessionId, sentId)
    ) {
      if (negotiated.suite.id !== session.suite.id) {
        throw new TlsAlertError(
          AlertDescription.illegal_parameter,
          "server resumed the session with another suite",
        );
      }
      if (!negotiated.extendedMasterSecret) {
        throw new TlsAlertError(
          AlertDescription.handshake_failure,
          "server resumed an EMS session without extended_master_secret (RFC 7627 §5.3)",
        );
      }
      context.activeSession = session;
      const resumed = new ExpectResumedChangeCipherSpec(negotiated, session);
      return negotiated.newSessionTicket ? new ExpectResumedNewSessionTicket(resumed) : resumed;
    }
    return isPskSuite(negotiated.suite)
      ? new ExpectPskServerKeyExchangeOrDone(negotiated)
      : new ExpectCertificate(negotiated);
  }
}

function negotiate(context: HandshakeContext, hello: ServerHello): Negotiated {
  if (hello.version !== context.version) {
    const ours = context.version === ProtocolVersion.tls12 ? "TLS 1.2" : "DTLS 1.2";
    throw new TlsAlertError(
      AlertDescription.protocol_version,
      `server chose version 0x${hello.version.toString(16)}, we speak only ${ours}`,
    );
  }
  const suite = context.suites.find((s) => s.id === hello.cipherSuite);
  if (!suite) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `server chose suite 0x${
        hello.cipherSuite.toString(16).padStart(4, "0")
      }, which we did not offer`,
    );
  }
  if (hello.compressionMethod !== 0) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `server chose compression method ${hello.compressionMethod}`,
    );
  }
  let encryptThenMac = false;
  let extendedMasterSecret = false;
  let secureRenegotiation = false;
  let alpnProtocol: string | undefined;
  let newSessionTicket = false;
  let connectionId: Negotiated["connectionId"];
  for (const ext of hello.extensions) {
    // signature_algorithms and supported_groups are the client's alone in TLS 1.2.
    if (
      !context.offeredExtensions.has(ext.type) ||
      ext.type === ExtensionType.signature_algorithms ||
      ext.type === ExtensionType.supported_groups
    ) {
      throw new TlsAlertError(
        AlertDescription.unsupported_extension,
        `server sent extension ${ext.type}, which we did not offer`,
      );
    }
    switch (ext.type) {
      case ExtensionType.renegotiation_info:
        if (ext.data.length !== 1 || ext.data[0] !== 0) {
          throw new TlsAlertError(
            AlertDescription.handshake_failure,
            "renegotiation_info not empty in an initial handshake (RFC 5746 §3.4)",
          );
        }
        secureRenegotiation = true;
        break;
      case ExtensionType.max_fragment_length:
      case ExtensionType.record_size_limit:
        break;
      case ExtensionType.connection_id: {
        // RFC 9146 §3: the CID the server wants in our records, possibly empty.
        const r = new Reader(ext.data);
        const peer = r.vector8().slice();
        r.expectEnd("connection_id");
        connectionId = { ours: context.config.connectionId!.slice(), peer };
        break;
      }
      case ExtensionType.ec_point_formats:
        checkPointFormats(ext.data);
        break;
      case ExtensionType.application_layer_protocol_negotiation: {
        alpnProtocol = decodeAlpnSelection(ext.data);
        // RFC 7301 §3.2: the server picks from our list; anything else is not a choice we made.
        if (!context.config.alpnProtocols?.includes(alpnProtocol)) {
          throw new TlsAlertError(
            AlertDescription.illegal_parameter,
            `server chose application protocol "${alpnProtocol}", which we did not offer (offered: ${
              context.config.alpnProtocols?.join(", ")
            })`,
          );
        }
        break;
      }
      case ExtensionType.server_name:
      case ExtensionType.encrypt_then_mac:
      case ExtensionType.extended_master_secret:
      case ExtensionType.session_ticket:
        if (ext.data.length !== 0) {
          throw new TlsAlertError(AlertDescription.decode_error, `extension ${ext.type} not empty`);
        }
        if (ext.type === ExtensionType.encrypt_then_mac) encryptThenMac = true;
        if (ext.type === ExtensionType.extended_master_secret) extendedMasterSecret = true;
        if (ext.type === ExtensionType.session_ticket) newSessionTicket = true;
        break;
    }
  }
  // RFC 7366 §3: Encrypt-then-MAC is about CBC records; a server must not echo it for an AEAD
  // suite, and if one does, nothing changes.
  encryptThenMac &&= suite.kind === "cbc";
  const required = context.config.provider.recordRequirements;
  if (required?.encryptThenMac && suite.kind === "cbc" && !encryptThenMac) {
    throw new TlsAlertError(
      AlertDescription.handshake_failure,
      `server did not take Encrypt-then-MAC: ${
        required.encryptThenMacReason ?? "the provider requires it"
      }`,
    );
  }
  const negotiatedLimits = negotiateFragmentLimits(context.fragmentOffer, hello.extensions);
  // Our own records never exceed what the provider can seal, whatever the server settled.
  const fragmentLimits = required && negotiatedLimits.send > required.maxPlaintext
    ? { ...negotiatedLimits, send: required.maxPlaintext }
    : negotiatedLimits;
  return {
    suite,
    serverRandom: hello.random.slice(),
    sessionId: hello.sessionId.slice(),
    encryptThenMac,
    extendedMasterSecret,
    secureRenegotiation,
    fragmentLimits,
    alpnProtocol,
    newSessionTicket,
    connectionId,
  };
}

/** The CID an install action carries: ours for reading, the peer's for writing, if any. */
function cidFor(negotiated: Negotiated, direction: "read" | "write"): { cid?: Uint8Array } {
  const cid = direction === "read" ? negotiated.connectionId?.ours : negotiated.connectionId?.peer;
  return cid && cid.length > 0 ? { cid } : {};
}

/**
 * The server's ec_point_formats (RFC 8422 §5.2): a non-empty list that must hold uncompressed
 * (0), the only form we offered and the only one either side may then send.
 */
function checkPointFormats(data: Uint8Array): void {
  const r = new Reader(data);
  const formats = r.vector8(1);
  r.expectEnd("ec_point_formats");
  if (!formats.includes(0)) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      "server's ec_point_formats lacks uncompressed (0), the only point format we speak",
    );
  }
}

/** Waits for the server's Certificate and validates the chain. */
class ExpectCertificate implements State {
  readonly expecting = "Certificate";
  readonly #negotiated: Negotiated;

  constructor(negotiated: Negotiated) {
    this.#negotiated = negotiated;
  }

  async handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.certificate) throw unexpected(this, message);
    const chain = decodeCertificate(message.body);
    context.transcript.add(message.transcriptBytes);
    const server = await VerifiedServer.verify(context, chain, this.#negotiated.suite);
    return this.#negotiated.suite.keyExchange === "rsa"
      ? new ExpectCertificateRequestOrDone(this.#negotiated, server, undefined)
      : new ExpectServerKeyExchange(this.#negotiated, server);
  }
}

/** ECDHE: the server's signed ephemeral key, checked before anything is computed with it. */
class ExpectServerKeyExchange implements State {
  readonly expecting = "ServerKeyExchange";
  readonly #negotiated: Negotiated;
  readonly #server: VerifiedServer;

  constructor(negotiated: Negotiated, server: VerifiedServer) {
    this.#negotiated = negotiated;
    this.#server = server;
  }

  async handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.server_key_exchange) throw unexpected(this, message);
    const share = await checkServerKeyExchange(message.body, {
      suite: this.#negotiated.suite,
      offeredGroups: context.groups,
      clientRandom: context.clientRandom,
      serverRandom: this.#negotiated.serverRandom,
      serverKey: this.#server.key,
    });
    context.transcript.add(message.transcriptBytes);
    return new ExpectCertificateRequestOrDone(this.#negotiated, this.#server, share);
  }
}

/**
 * PSK (RFC 4279 §2): no Certificate and no CertificateRequest, a ServerKeyExchange with the
 * identity hint (optional, but required for ECDHE_PSK, where it carries the server's unsigned
 * key share, RFC 5489 §2), then ServerHelloDone.
 */
class ExpectPskServerKeyExchangeOrDone implements State {
  readonly expecting: string;
  readonly #negotiated: Negotiated;
  readonly #ecdhe: boolean;

  constructor(negotiated: Negotiated) {
    this.#negotiated = negotiated;
    this.#ecdhe = negotiated.suite.keyExchange === "ecdhe_psk";
    this.expecting = this.#ecdhe ? "ServerKeyExchange" : "ServerKeyExchange or ServerHelloDone";
  }

  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    const negotiated = this.#negotiated;
    if (message.type === HandshakeType.server_key_exchange) {
      const { share } = decodePskServerKeyExchange(message.body, this.#ecdhe);
      if (share) checkKeyShare(context.groups, share.group, share.publicKey);
      context.transcript.add(message.transcriptBytes);
      return Promise.resolve(new ExpectPskServerHelloDone(negotiated, share));
    }
    if (message.type === HandshakeType.server_hello_done && !this.#ecdhe) {
      return clientFlight(context, message, {
        negotiated,
        server: undefined,
        share: undefined,
        request: undefined,
      });
    }
    throw unexpected(this, message);
  }
}

/** PSK: ServerHelloDone after the ServerKeyExchange. */
class ExpectPskServerHelloDone implements State {
  readonly expecting = "ServerHelloDone";
  readonly #flight: ServerFlight;

  constructor(negotiated: Negotiated, share: ServerKeyShare | undefined) {
    this.#flight = { negotiated, server: undefined, share, request: undefined };
  }

  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.server_hello_done) throw unexpected(this, message);
    return clientFlight(context, message, this.#flight);
  }
}

/**
 * After the Certificate (and the ServerKeyExchange of ECDHE): an optional CertificateRequest,
 * then ServerHelloDone.
 */
class ExpectCertificateRequestOrDone implements State {
  readonly expecting = "CertificateRequest or ServerHelloDone";
  readonly #negotiated: Negotiated;
  readonly #server: VerifiedServer;
  readonly #share: ServerKeyShare | undefined;

  constructor(negotiated: Negotiated, server: VerifiedServer, share: ServerKeyShare | undefined) {
    this.#negotiated = negotiated;
    this.#server = server;
    this.#share = share;
  }

  async handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type === HandshakeType.certificate_request) {
      const request = decodeCertificateRequest(message.body);
      context.transcript.add(message.transcriptBytes);
      return new ExpectServerHelloDone(this.#negotiated, this.#server, this.#share, request);
    }
    if (message.type === HandshakeType.server_hello_done) {
      return await clientFlight(context, message, {
        negotiated: this.#negotiated,
        server: this.#server,
        share: this.#share,
        request: undefined,
      });
    }
    throw unexpected(this, message);
  }
}

/** After a CertificateRequest: ServerHelloDone. */
class ExpectServerHelloDone implements State {
  readonly expecting = "ServerHelloDone";
  readonly #flight: ServerFlight;

  constructor(
    negotiated: Negotiated,
    server: VerifiedServer,
    share: ServerKeyShare | undefined,
    request: CertificateRequest,
  ) {
    this.#flight = { negotiated, server, share, request };
  }

  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.server_hello_done) throw unexpected(this, message);
    return clientFlight(context, message, this.#flight);
  }
}

/** What the server's first flight established, up to ServerHelloDone. */
interface ServerFlight {
  readonly negotiated: Negotiated;
  /** The validated chain; none with PSK. */
  readonly server: VerifiedServer | undefined;
  /** The server's checked ECDHE key share; absent for RSA key exchange. */
  readonly share: ServerKeyShare | undefined;
  readonly request: CertificateRequest | undefined;
}

/**
 * Sends [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished.
 */
async function clientFlight(
  context: HandshakeContext,
  done: HandshakeMessage,
  { negotiated, server, share, request }: ServerFlight,
): Promise<State> {
  decodeEmptyMessage(done.body, "ServerHelloDone");
  context.transcript.add(done.transcriptBytes);
  const provider = context.config.provider;

  let signScheme: number | undefined;
  if (request) {
    const chain = await provider.certificateChain();
    signScheme = chain.length === 0
      ? undefined
      : provider.signatureSchemes.find((s) => request.signatureSchemes.includes(s));
    if (signScheme === undefined) {
      context.certificateWithheld = chain.length === 0 ? "no certificate" : "no common scheme";
    }
    sendHandshake(
      context,
      HandshakeType.certificate,
      encodeCertificate(signScheme === undefined ? [] : chain),
    );
  }

  const premaster = isPskSuite(negotiated.suite)
    ? await pskKeyExchange(context, share)
    : await keyExchange(context, server!, share);

  const { prfHash } = negotiated.suite;
  const masterContext: MasterSecretContext = negotiated.extendedMasterSecret
    ? { extendedMasterSecret: true, sessionHash: context.transcript.hash(prfHash), prfHash }
    : {
      extendedMasterSecret: false,
      clientRandom: context.clientRandom,
      serverRandom: negotiated.serverRandom,
      prfHash,
    };
  const master = await provider.masterSecret(premaster, masterContext);
  context.handles.add(master);
  context.handles.delete(premaster);
  await provider.release(premaster);

  if (signScheme !== undefined) {
    const signature = await provider.sign(signScheme, context.transcript.messages());
    sendHandshake(
      context,
      HandshakeType.certificate_verify,
      encodeCertificateVerify({ scheme: signScheme, signature }),
    );
  }

  sendChangeCipherSpec(context);
  const keys = await recordKeys(context, master, negotiated);
  context.actions.push({
    kind: "install_write",
    protector: keys.client,
    maxPlaintext: negotiated.fragmentLimits.send,
    ...cidFor(negotiated, "write"),
  });
  await sendClientFinished(context, master, negotiated.suite);
  const keysSoFar = {
    negotiated,
    server,
    master,
    serverProtector: keys.server,
    clientCertificateSent: signScheme !== undefined,
  };
  // A NewSessionTicket goes into the transcript the server's Finished covers: that waits.
  if (negotiated.newSessionTicket) return new ExpectNewSessionTicket(keysSoFar);
  // Otherwise the server's verify_data covers the transcript up to our Finished, all known
  // now: asking for it right after ours lets a chip keep the master secret selected for both.
  return new ExpectChangeCipherSpec({
    ...keysSoFar,
    expectedServerFinished: await serverFinished(context, master, prfHash),
  });
}

function serverFinished(
  context: HandshakeContext,
  master: MasterSecretHandle,
  prfHash: CipherSuite["prfHash"],
): Promise<Uint8Array> {
  return context.config.provider.finished(
    master,
    "server finished",
    context.transcript.hash(prfHash),
    prfHash,
  );
}

/** A ticket the server issued, as a session keeps it. */
interface IssuedTicket {
  readonly ticket: Uint8Array;
  readonly ticketExpiresAt: number | undefined;
}

/**
 * Reads a NewSessionTicket into the transcript; an empty ticket is a server that changed its
 * mind (RFC 5077 §3.3) and leaves none.
 */
function takeTicket(
  context: HandshakeContext,
  message: HandshakeMessage,
): IssuedTicket | undefined {
  const { lifetimeHint, ticket } = decodeNewSessionTicket(message.body);
  context.transcript.add(message.transcriptBytes);
  if (ticket.length === 0) return undefined;
  return {
    ticket: ticket.slice(),
    ticketExpiresAt: lifetimeHint > 0 ? context.now + lifetimeHint * 1000 : undefined,
  };
}

/** A session with a newly issued ticket in place of its old one. */
function withTicket(session: TlsSession, issued: IssuedTicket): TlsSession {
  const { ticketExpiresAt: _, ...rest } = session;
  return {
    ...rest,
    ticket: issued.ticket,
    ...(issued.ticketExpiresAt !== undefined ? { ticketExpiresAt: issued.ticketExpiresAt } : {}),
  };
}

/** Full handshake: the NewSessionTicket the server's session_ticket promised. */
class ExpectNewSessionTicket implements State {
  readonly expecting = "NewSessionTicket";
  readonly #keys: Omit<FullHandshakeKeys, "expectedServerFinished">;

  constructor(keys: Omit<FullHandshakeKeys, "expectedServerFinished">) {
    this.#keys = keys;
  }

  async handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.new_session_ticket) throw unexpected(this, message);
    const issued = takeTicket(context, message);
    const { master, negotiated } = this.#keys;
    return new ExpectChangeCipherSpec({
      ...this.#keys,
      ...(issued ? { issued } : {}),
      expectedServerFinished: await serverFinished(context, master, negotiated.suite.prfHash),
    });
  }
}

/**
 * Agrees the premaster and sends ClientKeyExchange: the premaster encrypted under the server's
 * RSA key, or our ECDHE public key.
 */
async function keyExchange(
  context: HandshakeContext,
  server: VerifiedServer,
  share: ServerKeyShare | undefined,
): Promise<PremasterHandle> {
  const provider = context.config.provider;
  if (share) {
    if (!provider.keyAgreement) throw new TypeError("the provider cannot do ECDHE");
    const { publicKey, premaster } = await provider.keyAgreement(share.group, share.publicKey);
    context.handles.add(premaster);
    sendHandshake(
      context,
      HandshakeType.client_key_exchange,
      encodeEcdhClientKeyExchange(publicKey),
    );
    return premaster;
  }
  const { encrypted, premaster } = await provider.encryptPremaster(server.key, context.version);
  context.handles.add(premaster);
  sendHandshake(context, HandshakeType.client_key_exchange, encodeClientKeyExchange(encrypted));
  return premaster;
}

/**
 * PSK: the premaster from the pre-shared key (and for ECDHE_PSK our key share agreed with the
 * server's), and a ClientKeyExchange with our identity (and public key).
 */
async function pskKeyExchange(
  context: HandshakeContext,
  share: ServerKeyShare | undefined,
): Promise<PremasterHandle> {
  const provider = context.config.provider;
  // PSK suites are offered only with a PSK and a provider that takes one.
  const psk = context.config.psk!;
  const identity = pskIdentityBytes(psk);
  let agreed: KeyAgreement | undefined;
  if (share) {
    agreed = await provider.keyAgreement!(share.group, share.publicKey);
    context.handles.add(agreed.premaster);
  }
  const premaster = await provider.pskPremaster!(psk.key, agreed?.premaster);
  context.handles.add(premaster);
  if (agreed) {
    context.handles.delete(agreed.premaster);
    await provider.release(agreed.premaster);
  }
  sendHandshake(
    context,
    HandshakeType.client_key_exchange,
    encodePskClientKeyExchange(identity, agreed?.publicKey),
  );
  return premaster;
}

interface FullHandshakeKeys {
  readonly negotiated: Negotiated;
  readonly server: VerifiedServer | undefined;
  readonly master: MasterSecretHandle;
  readonly serverProtector: RecordProtector;
  readonly clientCertificateSent: boolean;
  /** The ticket a NewSessionTicket brought, if any. */
  readonly issued?: IssuedTicket;
  /** The server's verify_data, computed when ours was (or after the NewSessionTicket). */
  readonly expectedServerFinished: Uint8Array;
}

/** Waits for the server's ChangeCipherSpec of a full handshake. */
class ExpectChangeCipherSpec implements State {
  readonly expecting = "ChangeCipherSpec";
  readonly #keys: FullHandshakeKeys;

  constructor(keys: FullHandshakeKeys) {
    this.#keys = keys;
  }

  handle(_context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    throw unexpected(this, message);
  }

  changeCipherSpec(context: HandshakeContext): Promise<State> {
    context.actions.push({
      kind: "install_read",
      protector: this.#keys.serverProtector,
      maxPlaintext: this.#keys.negotiated.fragmentLimits.receive,
      ...cidFor(this.#keys.negotiated, "read"),
    });
    return Promise.resolve(new ExpectFinished(this.#keys));
  }
}

/** Waits for the server's Finished of a full handshake. */
class ExpectFinished implements State {
  readonly expecting = "Finished";
  readonly #keys: FullHandshakeKeys;

  constructor(keys: FullHandshakeKeys) {
    this.#keys = keys;
  }

  async handle(context: HandshakeContext, message: HandshakeMessage): Promise<undefined> {
    if (message.type !== HandshakeType.finished) throw unexpected(this, message);
    const { negotiated, server, master, clientCertificateSent, expectedServerFinished, issued } =
      this.#keys;
    checkServerFinished(context, message, expectedServerFinished);
    context.handles.delete(master);
    let session: TlsSession | undefined;
    if (negotiated.extendedMasterSecret && (negotiated.sessionId.length > 0 || issued)) {
      session = {
        id: negotiated.sessionId,
        ...(issued ? { ticket: issued.ticket } : {}),
        ...(issued?.ticketExpiresAt !== undefined
          ? { ticketExpiresAt: issued.ticketExpiresAt }
          : {}),
        master,
        provider: context.config.provider,
        version: context.version,
        suite: negotiated.suite,
        extendedMasterSecret: true,
        peerCertificates: server?.path ?? [],
        serverName: context.config.serverName,
        createdAt: context.now,
        trustDigest: context.trustDigest,
      };
      context.activeSession = session;
    } else {
      await context.config.provider.release(master);
    }
    context.actions.push({
      kind: "complete",
      info: info(negotiated, server?.path ?? [], false, clientCertificateSent, session),
    });
    return undefined;
  }
}

/** Abbreviated handshake: the renewed ticket the server's session_ticket promised. */
class ExpectResumedNewSessionTicket implements State {
  readonly expecting = "NewSessionTicket (resumption)";
  readonly #next: ExpectResumedChangeCipherSpec;

  constructor(next: ExpectResumedChangeCipherSpec) {
    this.#next = next;
  }

  handle(context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    if (message.type !== HandshakeType.new_session_ticket) throw unexpected(this, message);
    const issued = takeTicket(context, message);
    if (issued) this.#next.session = context.activeSession = withTicket(this.#next.session, issued);
    return Promise.resolve(this.#next);
  }
}

/** Abbreviated handshake: waits for the server's ChangeCipherSpec right after ServerHello. */
class ExpectResumedChangeCipherSpec implements State {
  readonly expecting = "ChangeCipherSpec (resumption)";
  readonly #negotiated: Negotiated;
  /** The session resumed; a renewed ticket replaces it with one holding the new ticket. */
  session: TlsSession;

  constructor(negotiated: Negotiated, session: TlsSession) {
    this.#negotiated = negotiated;
    this.session = session;
  }

  handle(_context: HandshakeContext, message: HandshakeMessage): Promise<State> {
    throw unexpected(this, message);
  }

  async changeCipherSpec(context: HandshakeContext): Promise<State> {
    const keys = await recordKeys(context, this.session.master, this.#negotiated);
    context.actions.push({
      kind: "install_read",
      protector: keys.server,
      maxPlaintext: this.#negotiated.fragmentLimits.receive,
      ...cidFor(this.#negotiated, "read"),
    });
    return new ExpectResumedFinished(this.#negotiated, this.session, keys.client);
  }
}

/** Abbreviated handshake: the server's Finished, answered by ours. */
class ExpectResumedFinished implements State {
  readonly expecting = "Finished (resumption)";
  readonly #negotiated: Negotiated;
  readonly #session: TlsSession;
  readonly #clientProtector: RecordProtector;

  constructor(negotiated: Negotiated, session: TlsSession, clientProtector: RecordProtector) {
    this.#negotiated = negotiated;
    this.#session = session;
    this.#clientProtector = clientProtector;
  }

  async handle(context: HandshakeContext, message: HandshakeMessage): Promise<undefined> {
    if (message.type !== HandshakeType.finished) throw unexpected(this, message);
    const { prfHash } = this.#negotiated.suite;
    const expected = await context.config.provider.finished(
      this.#session.master,
      "server finished",
      context.transcript.hash(prfHash),
      prfHash,
    );
    checkServerFinished(context, message, expected);
    sendChangeCipherSpec(context);
    context.actions.push({
      kind: "install_write",
      protector: this.#clientProtector,
      maxPlaintext: this.#negotiated.fragmentLimits.send,
      ...cidFor(this.#negotiated, "write"),
    });
    await sendClientFinished(context, this.#session.master, this.#negotiated.suite);
    context.actions.push({
      kind: "complete",
      info: info(this.#negotiated, this.#session.peerCertificates, true, false, this.#session),
    });
    return undefined;
  }
}

function info(
  negotiated: Negotiated,
  peerCertificates: readonly Certificate[],
  resumed: boolean,
  clientCertificateSent: boolean,
  session: TlsSession | undefined,
): HandshakeInfo {
  return {
    version: "TLSv1.2",
    suite: negotiated.suite,
    encryptThenMac: negotiated.encryptThenMac,
    extendedMasterSecret: negotiated.extendedMasterSecret,
    resumed,
    secureRenegotiation: negotiated.secureRenegotiation,
    peerCertificates,
    clientCertificateSent,
    fragmentLimits: negotiated.fragmentLimits,
    alpnProtocol: negotiated.alpnProtocol,
    session,
    ...(negotiated.connectionId ? { connectionId: negotiated.connectionId } : {}),
  };
}
