/**
 * The sans-IO TLS 1.2 client handshake (RFC 5246 §7.3; RSA key transport, and ECDHE with
 * ECDSA or RSA signatures, RFC 8422), with
 * Encrypt-then-MAC (RFC 7366), the extended master secret (RFC 7627), secure renegotiation
 * signalling (RFC 5746, renegotiation itself refused), session-ID resumption and client
 * authentication.
 *
 * It owns no socket and no clock: the driver feeds it record contents with the time, and
 * applies the actions it returns in order. Each expected message has its own state class
 * (as rustls's `client/tls12.rs`); a message that the current state does not expect is an
 * `unexpected_message`.
 *
 * @module
 */

import { DEFAULT_PSK_SUITES, isPskSuite, pskIdentityBytes } from "./psk.ts";
import {
  AlertDescription,
  AlertLevel,
  type CipherSuite,
  CipherSuites,
  ContentType,
  MAX_CID_LENGTH,
  ProtocolVersion,
  TlsAlertError,
} from "@anchortls/record";
import { encodeAlert } from "./messages/alert_message.ts";
import { type ClientHello, encodeClientHello } from "./messages/client_hello.ts";
import { encodeAlpnProtocols } from "./messages/alpn.ts";
import { type Extension, ExtensionType } from "./messages/extensions.ts";
import {
  type HandshakeFraming,
  type HandshakeMessage,
  TlsHandshakeFraming,
} from "./messages/framing.ts";
import { HandshakeType } from "./messages/handshake_type.ts";
import {
  fragmentExtensions,
  type FragmentOffer,
  maxFragmentLengthWithin,
} from "./fragment_limits.ts";
import { keyLogRefusal } from "./key_log.ts";
import { writeU16List } from "./messages/u16_list.ts";
import { OFFERED_SIGNATURE_SCHEMES } from "./signature_scheme.ts";
import { DEFAULT_GROUPS, namedGroupName } from "./named_group.ts";
import {
  isSessionResumable,
  ticketExpired,
  type TlsSession,
  trustAnchorDigest,
} from "./session_cache.ts";
import { Transcript } from "./transcript.ts";
import { parseServerName, type ServerName } from "./server_name.ts";
import {
  ExpectServerHello,
  ExpectServerHelloOrHelloVerifyRequest,
  type HandshakeContext,
  sendHandshake,
  type State,
} from "./client_states.ts";
import type { ClientHandshakeConfig, HandshakeAction } from "./handshake_types.ts";

export type {
  ClientHandshakeConfig,
  HandshakeAction,
  HandshakeInfo,
  OutboundHandshakeMessage,
} from "./handshake_types.ts";

/**
 * The suites we offer by default, preferred first: forward-secret AEAD suites, then ECDHE with
 * AES-CBC, then RSA key transport. A provider's `cipherSuites` narrow it to what it can key.
 */
export const DEFAULT_CIPHER_SUITES: readonly CipherSuite[] = [
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  CipherSuites.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
  CipherSuites.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_128_GCM_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_256_GCM_SHA384,
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA,
];

/** What a provider without `cipherSuites` keys: the RSA key transport AES-CBC suites. */
const RSA_CBC_SUITES: readonly CipherSuite[] = [
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA,
];

/** The suites and groups a handshake offers. */
interface Offer {
  readonly suites: readonly CipherSuite[];
  /** Empty when no ECDHE suite is offered. */
  readonly groups: readonly number[];
}

/**
 * Settles what to offer: the configured suites and groups (or the defaults), narrowed to what
 * the provider can do. A default quietly loses what the provider cannot do; a suite or group
 * the user named explicitly and the provider cannot do is an error, as `suites` picks exactly.
 */
function offerFor(config: ClientHandshakeConfig): Offer {
  const provider = config.provider;
  const keyable = new Set((provider.cipherSuites ?? RSA_CBC_SUITES).map((s) => s.id));
  const providerGroups = provider.keyAgreement ? provider.groups ?? [] : [];
  const groups = (config.groups ?? DEFAULT_GROUPS).filter((g) => providerGroups.includes(g));
  if (config.groups) {
    const missing = config.groups.filter((g) => !providerGroups.includes(g));
    if (missing.length > 0) {
      throw new TypeError(
        `the provider cannot do ECDHE on ${missing.map(namedGroupName).join(", ")}`,
      );
    }
  }
  if (config.psk) {
    pskIdentityBytes(config.psk);
    if (!provider.pskPremaster) {
      throw new TypeError("psk: this provider cannot do PSK key exchange");
    }
  }
  const ecdhe = (s: CipherSuite): boolean => s.keyExchange.startsWith("ecdhe");
  const can = (s: CipherSuite): boolean =>
    keyable.has(s.id) && (!ecdhe(s) || groups.length > 0) &&
    (!isPskSuite(s) || config.psk !== undefined);
  if (config.suites) {
    const missing = config.suites.filter((s) => !can(s));
    if (missing.length > 0) {
      throw new TypeError(
        `the provider cannot do ${missing.map((s) => s.name).join(", ")}${
          groups.length === 0 && missing.some(ecdhe)
            ? " (it has no ECDHE group in common with `groups`)"
            : ""
        }${!config.psk && missing.some(isPskSuite) ? " (a PSK suite needs the `psk` option)" : ""}`,
      );
    }
  }
  const defaults = config.psk ? DEFAULT_PSK_SUITES : DEFAULT_CIPHER_SUITES;
  const suites = (config.suites ?? defaults).filter(can);
  if (suites.length === 0) throw new TypeError("at least one cipher suite must be offered");
  return { suites, groups: suites.some(ecdhe) ? groups : [] };
}

/**
 * A TLS 1.2 client handshake as a state machine.
 *
 * It speaks messages, not records: call {@linkcode ClientHandshake.start} once and send what it
 * returns, then pass every whole handshake message to {@linkcode ClientHandshake.handleMessage}
 * and every ChangeCipherSpec to {@linkcode ClientHandshake.handleChangeCipherSpec}, one at a
 * time, applying the returned actions in order before the next (a key change takes effect
 * between records). Deframing (TLS) and reassembly (DTLS) are the cores' own. After `complete`,
 * keep passing handshake messages: a HelloRequest is answered with a `no_renegotiation`
 * warning, anything else is an error.
 *
 * Errors are thrown as `TlsAlertError` or x509 `CertificateError`; `alertForError` names the
 * alert to send.
 *
 * @example Driving a handshake
 * ```ts ignore
 * import { ClientHandshake, SoftwareCryptoProvider } from "@anchortls/handshake";
 * const hs = new ClientHandshake({ provider: new SoftwareCryptoProvider(), trustAnchors, serverName: "localhost" });
 * for (const action of await hs.start(Date.now())) apply(action);
 * for await (const message of messagesFromTheCore) {
 *   for (const action of await hs.handleMessage(message, Date.now())) apply(action);
 * }
 * ```
 */
export class ClientHandshake {
  readonly #config: ClientHandshakeConfig;
  readonly #framing: HandshakeFraming;
  readonly #alpn: Uint8Array | undefined;
  readonly #offer: Offer;
  #state: State | undefined;
  #context: HandshakeContext | undefined;
  #complete = false;
  #versionSettled = false;
  #failed = false;
  #aborted = false;

  /**
   * Prepares a handshake; nothing is sent until {@linkcode ClientHandshake.start}.
   *
   * @param config Provider, trust anchors, name, suites and options.
   */
  constructor(config: ClientHandshakeConfig) {
    this.#offer = offerFor(config);
    const required = config.provider.recordRequirements;
    if (required?.encryptThenMac && config.encryptThenMac === false) {
      throw new TypeError(
        `encryptThenMac: false is refused: ${
          required.encryptThenMacReason ?? "the provider requires Encrypt-then-MAC"
        }`,
      );
    }
    if (config.connectionId) {
      if ((config.version ?? ProtocolVersion.tls12) !== ProtocolVersion.dtls12) {
        throw new TypeError("connectionId is for DTLS 1.2 only (RFC 9146)");
      }
      if (config.connectionId.length > MAX_CID_LENGTH) {
        throw new TypeError(`a Connection ID is at most ${MAX_CID_LENGTH} bytes`);
      }
    }
    const keyLogRefused = config.keyLog && keyLogRefusal(config.provider);
    if (keyLogRefused) throw new TypeError(`keyLog is refused: ${keyLogRefused}`);
    // Checked here, so a bad name is a TypeError at construction, not a failed handshake.
    this.#alpn = config.alpnProtocols && encodeAlpnProtocols(config.alpnProtocols);
    this.#config = config;
    this.#framing = config.framing ?? new TlsHandshakeFraming();
  }

  /**
   * True once a ServerHello was accepted: from the next record on, every record must carry the
   * negotiated version in its header (RFC 5246 Appendix E.1 tolerates others only before).
   */
  get versionSettled(): boolean {
    return this.#versionSettled;
  }

  /**
   * The session this connection runs on: the one the server resumed, or the one the full
   * handshake made; a driver invalidates it when a fatal alert ends the connection.
   */
  get activeSession(): TlsSession | undefined {
    return this.#context?.activeSession;
  }

  /** Whether the ClientHello offers PSK suites. */
  get offersPsk(): boolean {
    return this.#offer.suites.some(isPskSuite);
  }

  /** What the handshake waits for from the server now, e.g. "ServerHello"; none when done. */
  get waitingFor(): string | undefined {
    return this.#complete || this.#failed ? undefined : this.#state?.expecting;
  }

  /**
   * True when a ChangeCipherSpec is what the handshake takes next. A DTLS core drops any other
   * (a retransmission's echo, or one reordered ahead of its ServerHello) instead of failing.
   */
  get awaitsChangeCipherSpec(): boolean {
    return !this.#complete && !this.#failed && this.#state?.changeCipherSpec !== undefined;
  }

  /** True once the handshake has completed. */
  get isComplete(): boolean {
    return this.#complete && !this.#aborted;
  }

  /**
   * Builds the ClientHello.
   *
   * @param now The current time in ms since the epoch.
   * @returns The actions: one `send`.
   */
  async start(now: number): Promise<HandshakeAction[]> {
    if (this.#context) throw new TypeError("handshake already started");
    const config = this.#config;
    const { suites, groups } = this.#offer;
    const encryptThenMac = config.encryptThenMac ?? true;
    const offered = config.session;
    const version = config.version ?? ProtocolVersion.tls12;
    const trustDigest = trustAnchorDigest(config.trustAnchors, config.crls, config.psk);
    const tickets = config.sessionTickets ?? true;
    // A session resumes only under what it was made under: the same protocol, provider, server
    // name and trust anchors (and CRLs), an offered suite, and no fatal alert since; and by
    // something the server can recognise, its ticket or its ID.
    const ticket = offered?.ticket && tickets && !ticketExpired(offered, now)
      ? offered.ticket
      : undefined;
    const session = offered && offered.version === version &&
        offered.provider === config.provider &&
        offered.serverName === config.serverName && suites.includes(offered.suite) &&
        offered.trustDigest === trustDigest && isSessionResumable(offered) &&
        (ticket !== undefined || offered.id.length > 0)
      ? offered
      : undefined;
    const clientRandom = await config.provider.random(32);
    // RFC 5077 §3.4: with a ticket, a fresh session ID; the server echoes it if it resumes.
    const sessionId = session && ticket
      ? await config.provider.random(32)
      : session?.id ?? new Uint8Array(0);
    const fragmentOffer = offeredFragments(config);
    const serverName = config.serverName === undefined
      ? undefined
      : parseServerName(config.serverName);
    const extensions = [
      ...clientHelloExtensions(serverName, encryptThenMac, groups),
      ...(this.#alpn
        ? [{ type: ExtensionType.application_layer_protocol_negotiation, data: this.#alpn }]
        : []),
      ...fragmentExtensions(fragmentOffer),
      ...(tickets
        ? [{ type: ExtensionType.session_ticket, data: (session && ticket) || new Uint8Array(0) }]
        : []),
      ...(config.connectionId
        ? [{
          type: ExtensionType.connection_id,
          data: Uint8Array.of(config.connectionId.length, ...config.connectionId),
        }]
        : []),
    ];
    const hello: ClientHello = {
      version,
      random: clientRandom,
      sessionId,
      ...(version === ProtocolVersion.dtls12 ? { cookie: new Uint8Array(0) } : {}),
      cipherSuites: suites.map((s) => s.id),
      compressionMethods: [0],
      extensions,
    };
    const context: HandshakeContext = {
      config,
      suites,
      groups,
      offeredExtensions: new Set(extensions.map((e) => e.type)),
      fragmentOffer,
      serverName,
      trustDigest,
      clientRandom,
      offeredSession: session,
      framing: this.#framing,
      version,
      hello,
      transcript: new Transcript(),
      actions: [],
      now,
      handles: new Set(),
    };
    this.#context = context;
    sendHandshake(context, HandshakeType.client_hello, encodeClientHello(hello));
    this.#state = version === ProtocolVersion.dtls12
      ? new ExpectServerHelloOrHelloVerifyRequest()
      : new ExpectServerHello();
    return context.actions;
  }

  /**
   * Feeds a ChangeCipherSpec.
   *
   * @param data Its content (one byte, 1).
   * @param now The current time in ms since the epoch.
   * @returns The actions to apply, in order.
   * @throws {TlsAlertError} When it is malformed or not expected now.
   */
  handleChangeCipherSpec(data: Uint8Array, now: number): Promise<HandshakeAction[]> {
    return this.#run(now, (context) => this.#changeCipherSpec(context, data));
  }

  /**
   * Feeds one whole handshake message, deframed (TLS) or reassembled (DTLS) by the core:
   * nothing is framed or parsed again.
   *
   * @param message The message, with the bytes its transcript takes (the 4-byte TLS header
   *   form, or for DTLS the 12-byte header form of RFC 6347 §4.2.6).
   * @param now The current time in ms since the epoch.
   * @returns The actions to apply, in order.
   * @throws {TlsAlertError} For protocol violations, with the alert to send.
   * @throws {CertificateError} When the server's chain does not validate.
   */
  handleMessage(message: HandshakeMessage, now: number): Promise<HandshakeAction[]> {
    return this.#run(now, (context) => this.#message(context, message));
  }

  async #run(
    now: number,
    step: (context: HandshakeContext) => Promise<void>,
  ): Promise<HandshakeAction[]> {
    const context = this.#context;
    if (!context) throw new TypeError("handshake not started");
    if (this.#aborted) throw abortedError();
    if (this.#failed) throw new TypeError("handshake already failed");
    context.now = now;
    context.actions = [];
    try {
      await step(context);
    } catch (error) {
      this.#failed = true;
      await this.#releaseAll(context);
      throw this.#aborted ? abortedError(error) : error;
    }
    if (this.#aborted) {
      // abort() ran while this record was being handled: what the provider issued since then,
      // and a session this record just completed, have no owner but us.
      await this.#releaseAll(context);
      const done = context.actions.find((a) => a.kind === "complete");
      const session = done?.kind === "complete" && !done.info.resumed
        ? done.info.session
        : undefined;
      if (session) await context.config.provider.release(session.master).catch(() => {});
      throw abortedError();
    }
    return context.actions;
  }

  /**
   * Ends a handshake that will not complete (cancelled, timed out, its transport gone) and
   * releases every secret handle it holds. Safe to call at any time, more than once, and while
   * {@linkcode ClientHandshake.handle} is still awaiting the provider: that call then releases
   * what it obtained and rejects with an `AbortError`. After completion it does nothing: the
   * session's master secret belongs to the session (and to a `SessionCache` that keeps it).
   *
   * @returns Once the handles held so far are released.
   */
  async abort(): Promise<void> {
    if (this.#complete || this.#aborted) return;
    this.#aborted = true;
    this.#failed = true;
    if (this.#context) await this.#releaseAll(this.#context);
  }

  async #changeCipherSpec(context: HandshakeContext, data: Uint8Array): Promise<void> {
    if (data.length !== 1 || data[0] !== 1) {
      throw new TlsAlertError(AlertDescription.decode_error, "ChangeCipherSpec must be one byte 1");
    }
    const state = this.#expectState();
    if (!state.changeCipherSpec) {
      throw new TlsAlertError(
        AlertDescription.unexpected_message,
        `ChangeCipherSpec while expecting ${state.expecting}`,
      );
    }
    this.#state = await state.changeCipherSpec(context);
  }

  async #message(context: HandshakeContext, message: HandshakeMessage): Promise<void> {
    if (this.#complete) {
      if (message.type === HandshakeType.hello_request && message.body.length === 0) {
        context.actions.push({
          kind: "send",
          contentType: ContentType.alert,
          data: encodeAlert({
            level: AlertLevel.warning,
            description: AlertDescription.no_renegotiation,
          }),
        });
        return;
      }
      throw new TlsAlertError(
        AlertDescription.unexpected_message,
        `handshake message type ${message.type} after the handshake`,
      );
    }
    // RFC 5246 §7.4.1.1: a HelloRequest arriving mid-handshake is ignored, and it is not part
    // of the transcript.
    if (message.type === HandshakeType.hello_request) {
      if (message.body.length !== 0) {
        throw new TlsAlertError(AlertDescription.decode_error, "HelloRequest with a body");
      }
      return;
    }
    const state = this.#expectState();
    const next = await state.handle(context, message);
    if (message.type === HandshakeType.server_hello) this.#versionSettled = true;
    this.#state = next;
    const done = context.actions.find((a) => a.kind === "complete");
    if (done) {
      this.#complete = true;
      this.#state = undefined;
      // A connection lives on long after its handshake: the transcript (every handshake
      // message, the server's chain included) is of no more use.
      context.transcript = new Transcript();
    }
  }

  /**
   * What the client knows about why the server sent this alert during the handshake, for an
   * error that says what to do (`handshake_failure` in answer to our hello or to an empty
   * client Certificate, `protocol_version`).
   *
   * @param description The alert the server sent.
   * @returns A hint, or `undefined` when the client knows nothing more.
   */
  peerAlertHint(description: number): string | undefined {
    const context = this.#context;
    if (!context || this.#complete) return undefined;
    if (description === AlertDescription.protocol_version) {
      return "the server refuses TLS 1.2 (it may speak only TLS 1.3, or only older versions)";
    }
    if (
      context.config.psk && this.#versionSettled &&
      (description === AlertDescription.unknown_psk_identity ||
        description === AlertDescription.decrypt_error ||
        description === AlertDescription.bad_record_mac)
    ) {
      const identity = context.config.psk.identity;
      return `the server refused our pre-shared key: it does not know the identity "${
        typeof identity === "string" ? identity : identity.toHex()
      }", or its key for it is another`;
    }
    if (
      description !== AlertDescription.handshake_failure &&
      description !== AlertDescription.insufficient_security
    ) return undefined;
    if (!this.#versionSettled) {
      const allRsa = context.suites.every((s) => s.keyExchange === "rsa");
      return `the server accepts none of the suites we offered (${
        context.suites.map((s) => s.name).join(", ")
      })${
        allRsa
          ? "; all use RSA key exchange, which servers that require ECDHE or TLS 1.3 refuse"
          : `, or none of the groups (${
            context.groups.map(namedGroupName).join(", ")
          }); a server may also speak only TLS 1.3`
      }`;
    }
    if (context.certificateWithheld === "no certificate") {
      return "the server asked for a client certificate and none is configured " +
        "(clientCertificate, or a provider that holds one)";
    }
    if (context.certificateWithheld === "no common scheme") {
      return "the server asked for a client certificate, but none of the signature schemes it " +
        "accepts fits our key, so we sent none";
    }
    return undefined;
  }

  #expectState(): State {
    if (!this.#state) {
      throw new TlsAlertError(AlertDescription.unexpected_message, "no handshake in progress");
    }
    return this.#state;
  }

  async #releaseAll(context: HandshakeContext): Promise<void> {
    for (const handle of context.handles) {
      await context.config.provider.release(handle).catch(() => {});
    }
    context.handles.clear();
  }
}

/** What to offer of RFC 6066 and RFC 8449: the config's choice, else the provider's limit. */
function offeredFragments(config: ClientHandshakeConfig): FragmentOffer {
  const limit = config.provider.recordRequirements?.maxPlaintext;
  const maxFragmentLength = config.maxFragmentLength === false
    ? undefined
    : config.maxFragmentLength ??
      (limit === undefined ? undefined : maxFragmentLengthWithin(limit));
  const recordSizeLimit = config.recordSizeLimit === false
    ? undefined
    : config.recordSizeLimit ?? (limit === undefined ? undefined : Math.min(limit, 1 << 14));
  return {
    ...(maxFragmentLength === undefined ? {} : { maxFragmentLength }),
    ...(recordSizeLimit === undefined ? {} : { recordSizeLimit }),
  };
}

function abortedError(cause?: unknown): DOMException {
  const error = new DOMException("handshake aborted", "AbortError");
  if (cause !== undefined) Object.defineProperty(error, "cause", { value: cause });
  return error;
}

function clientHelloExtensions(
  serverName: ServerName | undefined,
  encryptThenMac: boolean,
  groups: readonly number[],
): Extension[] {
  const encoder = new TextEncoder();
  const extensions: Extension[] = [];
  if (serverName?.kind === "dns" && serverName.name !== "") {
    const name = encoder.encode(serverName.name);
    const list = new Uint8Array(5 + name.length);
    new DataView(list.buffer).setUint16(0, 3 + name.length);
    list[2] = 0; // host_name
    new DataView(list.buffer).setUint16(3, name.length);
    list.set(name, 5);
    extensions.push({ type: ExtensionType.server_name, data: list });
  }
  extensions.push({
    type: ExtensionType.signature_algorithms,
    data: writeU16List(OFFERED_SIGNATURE_SCHEMES),
  });
  if (groups.length > 0) {
    // RFC 8422 §5.1: the curves we can agree on, and the one point format we speak.
    extensions.push({ type: ExtensionType.supported_groups, data: writeU16List(groups) });
    extensions.push({ type: ExtensionType.ec_point_formats, data: Uint8Array.of(1, 0) });
  }
  if (encryptThenMac) {
    extensions.push({ type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) });
  }
  extensions.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
  extensions.push({ type: ExtensionType.renegotiation_info, data: Uint8Array.of(0) });
  return extensions;
}
