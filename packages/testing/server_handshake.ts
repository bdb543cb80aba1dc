/**
 * The one sans-IO server side of a TLS 1.2 / DTLS 1.2 handshake (RSA key transport, or ECDHE
 * signed with the leaf's RSA or ECDSA key) that every test peer of the repository runs: the handshake package's in-memory servers, the hostile scripted
 * servers on TCP, UDP and in memory. It frames its messages (4-byte headers for TLS, 12-byte
 * numbered ones for DTLS), keeps the transcript, decrypts the premaster honestly with the test
 * PKI's leaf key (or agrees it by ECDH with a signed ephemeral key), decodes what the client sent (its certificate, its CertificateVerify
 * scheme, its Finished, which must verify), and keeps sessions for resumption. Each step is
 * its own method and every message can be bent by a hook, so a test can stop or bend the
 * handshake anywhere; the record layer and the I/O are the caller's.
 *
 * @module
 */

import {
  type ClientHello,
  decodeCertificate,
  decodeCertificateVerify,
  decodeClientHello,
  decodeClientKeyExchange,
  decodeEcdhClientKeyExchange,
  deriveKeyBlock,
  deriveMasterSecret,
  type EcdheServerKeyExchange,
  encodeAlpnProtocols,
  encodeCertificate,
  encodeCertificateRequest,
  encodeEcdhParams,
  encodeNewSessionTicket,
  encodeServerHello,
  encodeServerKeyExchange,
  encodeTlsHandshake,
  type Extension,
  ExtensionType,
  finishedVerifyData,
  type HandshakeMessage,
  HandshakeType,
  isPskSuite,
  type KeyBlock,
  NamedGroup,
  pskPremasterBytes,
  type ServerHello,
  SignatureScheme,
  SigningKey,
  TlsHandshakeDeframer,
} from "@anchortls/handshake";
import { encodeDtlsHandshakeMessage } from "@anchortls/handshake/dtls";
import {
  type CipherSuite,
  cipherSuiteById,
  concatBytes,
  protectorForSuite,
  Reader,
  type RecordProtector,
  Writer,
} from "@anchortls/record";
import { parsePem } from "@anchortls/x509";
import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { fixedPkiFile } from "./peers.ts";
import { rsaDecrypt } from "./rsa_decrypt.ts";

/** How the honest handshake goes, and where it bends. */
export interface ServerHandshakeOptions {
  /**
   * Speak DTLS 1.2: 12-byte handshake headers numbered from `messageSeq`, version 0xfefd, the
   * ClientHello's cookie field.
   */
  readonly dtls?: { readonly messageSeq: number };
  /**
   * The chain to send, DER, leaf first.
   * @default {chain.pem of the fixed test PKI; ec-chain.pem for an ECDHE_ECDSA suite}
   */
  readonly chain?: readonly Uint8Array[];
  /**
   * The leaf's private key, PEM: it decrypts the premaster, or signs the ServerKeyExchange.
   * @default {leaf.key of the fixed PKI; ec-leaf.key for an ECDHE_ECDSA suite}
   */
  readonly keyPem?: string;
  /** ECDHE: the group to answer with. @default {the client's first supported group} */
  readonly group?: number;
  /**
   * ECDHE: the scheme signing the ServerKeyExchange.
   * @default {ecdsa_secp256r1_sha256 or rsa_pss_rsae_sha256, as the suite says}
   */
  readonly signatureScheme?: number;
  /**
   * ECDHE: sends and signs this public key instead of its own (a key the client must refuse
   * whatever the signature says, e.g. a small-order X25519 point).
   */
  readonly serverPublicKey?: Uint8Array;
  /** ECDHE: bends the signed ServerKeyExchange (its key, group, scheme or signature). */
  readonly serverKeyExchange?: (message: EcdheServerKeyExchange) => EcdheServerKeyExchange;
  /** The suite to answer with, offered or not. @default {the client's first suite} */
  readonly suite?: number;
  /** Echo encrypt_then_mac when offered. @default {true} */
  readonly encryptThenMac?: boolean;
  /** Echo extended_master_secret when offered. @default {true} */
  readonly extendedMasterSecret?: boolean;
  /** The session ID of a full handshake; empty for none. @default {32 bytes of 0x51} */
  readonly sessionId?: Uint8Array;
  /** The server random. @default {fresh random bytes} */
  readonly random?: Uint8Array;
  /**
   * Application protocols it speaks, preferred first: it answers ALPN with the first of these
   * the client offered (RFC 7301 server preference), or with none.
   */
  readonly alpnProtocols?: readonly string[];
  /** Ask for a client certificate with these signature schemes. */
  readonly certificateRequest?: { readonly schemes: readonly number[] };
  /** Bends the ServerHello before it is encoded. */
  readonly serverHello?: (hello: ServerHello) => ServerHello;
  /** Replaces the first flight's framed messages (ServerHello first) before they are sent. */
  readonly firstFlight?: (messages: Uint8Array[]) => Uint8Array[];
  /** Flips a bit of every server Finished. */
  readonly badFinished?: boolean;
  /**
   * DTLS: answer a client's connection_id (RFC 9146) with this CID, the one the client is to
   * put in its records; a client that offered none gets none.
   */
  readonly connectionId?: Uint8Array;
  /**
   * PSK suites (RFC 4279, RFC 5489): the key the server holds, the identity it expects (any
   * when absent) and the hint its ServerKeyExchange carries (none for plain PSK when absent;
   * ECDHE_PSK always sends one, empty by default).
   */
  readonly psk?: {
    readonly key: Uint8Array;
    readonly identity?: string;
    readonly hint?: Uint8Array;
  };
  /**
   * Issue session tickets (RFC 5077) to a client that offers the extension, as OpenSSL does:
   * a full handshake gets an empty session ID and a NewSessionTicket before the server's
   * ChangeCipherSpec, and a known ticket resumes (its renewal with `renew`).
   */
  readonly sessionTickets?: {
    /** The lifetime hint sent, in seconds. @default {300} */
    readonly lifetimeHint?: number;
    /** Issue a new ticket when resuming by one. @default {false} */
    readonly renew?: boolean;
    /** Send an empty ticket: the server changed its mind (RFC 5077 §3.3). */
    readonly empty?: boolean;
  };
}

/** A session the server can resume. */
export interface ServerSession {
  /** Its master secret. */
  readonly master: Uint8Array;
  /** Its suite. */
  readonly suite: CipherSuite;
}

/** What the server sends for a ClientHello. */
export interface ServerFlight {
  /** The framed messages, in order. */
  readonly messages: Uint8Array[];
  /** True for an abbreviated handshake (ServerHello and Finished). */
  readonly resumed: boolean;
}

/**
 * The server side of one handshake at a time; `sessions` persists across handshakes, and
 * `options` may be changed between them.
 */
export class ServerHandshake {
  /** Sessions of completed full handshakes, by session ID (hex). */
  readonly sessions: Map<string, ServerSession> = new Map();
  /** Sessions by the tickets issued for them (hex). */
  readonly tickets: Map<string, ServerSession> = new Map();
  /** Whether this handshake sends a NewSessionTicket. */
  issueTicket = false;
  /** The NewSessionTicket of this handshake, framed and added, once made. */
  ticketMessage: Uint8Array | undefined;
  /** The current options. */
  options: ServerHandshakeOptions;
  #transcript: Uint8Array[] = [];
  #messageSeq: number;
  /** This handshake's server random. */
  serverRandom: Uint8Array;
  /** The client's hello, once taken. */
  clientHello!: ClientHello;
  /** The suite the server settled on. */
  suite!: CipherSuite;
  /** Whether encrypt_then_mac was offered and is echoed. */
  encryptThenMac = false;
  /** Whether extended_master_secret was offered and is echoed. */
  extendedMasterSecret = false;
  /** Whether the client's session ID named a cached session. */
  resumed = false;
  /** The protocols the client offered by ALPN, in its order; `undefined` when it offered none. */
  clientAlpnProtocols: string[] | undefined;
  /** The protocol this server chose by ALPN. */
  alpnProtocol: string | undefined;
  /** The session ID of the ServerHello. */
  sessionId: Uint8Array = new Uint8Array(0);
  /** The premaster the client encrypted, once its ClientKeyExchange was taken. */
  premaster: Uint8Array | undefined;
  /** The master secret, once known. */
  master: Uint8Array | undefined;
  /** The client's certificate chain, when it sent one. */
  clientCertificate: Uint8Array[] | undefined;
  /** The scheme of the client's CertificateVerify, when it sent one. */
  clientSignatureScheme: number | undefined;
  /** ECDHE: the groups the client's supported_groups offered, in its order. */
  clientGroups: number[] = [];
  /** RFC 9146: the CID the client asked to receive, when it offered connection_id. */
  clientConnectionId: Uint8Array | undefined;
  /** PSK: the identity the client's ClientKeyExchange gave. */
  pskIdentity: string | undefined;
  /** ECDHE: the ServerKeyExchange as sent (after any bending). */
  serverKeyExchange: EcdheServerKeyExchange | undefined;
  #ephemeral: { group: number; secret: Uint8Array } | undefined;

  /**
   * Prepares the server side.
   *
   * @param options How the handshake goes.
   */
  constructor(options: ServerHandshakeOptions = {}) {
    this.options = options;
    this.#messageSeq = options.dtls?.messageSeq ?? 0;
    this.serverRandom = options.random ?? crypto.getRandomValues(new Uint8Array(32));
  }

  /** True when speaking DTLS. */
  get dtls(): boolean {
    return this.options.dtls !== undefined;
  }

  /**
   * Frames a message without adding it to the transcript; a DTLS message takes the next
   * message_seq unless `messageSeq` is given.
   */
  frame(type: number, body: Uint8Array, messageSeq?: number): Uint8Array {
    if (!this.dtls) return encodeTlsHandshake(type, body);
    return encodeDtlsHandshakeMessage({
      msgType: type,
      messageSeq: messageSeq ?? this.#messageSeq++,
      body,
    });
  }

  /** Adds framed bytes to the transcript and returns them. */
  add(message: Uint8Array): Uint8Array {
    this.#transcript.push(message);
    return message;
  }

  /** Frames a message and adds it to the transcript. */
  message(type: number, body: Uint8Array, messageSeq?: number): Uint8Array {
    return this.add(this.frame(type, body, messageSeq));
  }

  /** The suite's PRF hash (SHA-256 or SHA-384) of the transcript so far. */
  transcriptHash(): Uint8Array {
    const all = concatBytes(this.#transcript);
    return this.suite?.prfHash === "sha384" ? sha384(all) : sha256(all);
  }

  /**
   * Takes a ClientHello: starts a new transcript with it and settles suite, EtM, EMS and
   * whether its session ID resumes a cached session.
   */
  takeClientHello(message: HandshakeMessage): ClientHello {
    if (message.type !== HandshakeType.client_hello) {
      throw new Error(`expected ClientHello, got handshake type ${message.type}`);
    }
    this.#transcript = [message.transcriptBytes];
    const o = this.options;
    this.clientHello = decodeClientHello(message.body, { dtls: this.dtls });
    const offered = new Set(this.clientHello.extensions.map((e) => e.type));
    this.suite = cipherSuiteById(o.suite ?? this.clientHello.cipherSuites[0]!) ??
      cipherSuiteById(0x002f)!;
    // RFC 7366 §3: never echoed for an AEAD suite (a test may still bend the ServerHello).
    this.encryptThenMac = (o.encryptThenMac ?? true) &&
      offered.has(ExtensionType.encrypt_then_mac) && this.suite.kind === "cbc";
    this.extendedMasterSecret = (o.extendedMasterSecret ?? true) &&
      offered.has(ExtensionType.extended_master_secret);
    const alpn = this.clientHello.extensions.find((e) =>
      e.type === ExtensionType.application_layer_protocol_negotiation
    );
    this.clientAlpnProtocols = alpn && decodeAlpnList(alpn.data);
    this.alpnProtocol = o.alpnProtocols?.find((p) => this.clientAlpnProtocols?.includes(p));
    const groups = this.clientHello.extensions.find((e) =>
      e.type === ExtensionType.supported_groups
    );
    this.clientGroups = groups ? decodeU16List(groups.data) : [];
    const cid = this.clientHello.extensions.find((e) => e.type === ExtensionType.connection_id);
    this.clientConnectionId = cid ? cid.data.slice(1, 1 + cid.data[0]!) : undefined;
    const ticket = o.sessionTickets &&
      this.clientHello.extensions.find((e) => e.type === ExtensionType.session_ticket);
    const byTicket = ticket ? this.tickets.get(ticket.data.toHex()) : undefined;
    const cached = byTicket ?? this.sessions.get(this.clientHello.sessionId.toHex());
    this.resumed = this.clientHello.sessionId.length > 0 && cached !== undefined;
    this.premaster = undefined;
    this.ticketMessage = undefined;
    this.master = cached?.master;
    if (cached) this.suite = cached.suite;
    this.issueTicket = !!ticket && (!this.resumed || (!!byTicket && !!o.sessionTickets?.renew));
    this.sessionId = this.resumed
      ? this.clientHello.sessionId
      : (o.sessionId ?? (ticket ? new Uint8Array(0) : new Uint8Array(32).fill(0x51)));
    return this.clientHello;
  }

  /** The ServerHello (renegotiation_info, EtM and EMS as settled; bent by the options). */
  serverHello(): Uint8Array {
    const extensions: Extension[] = [{
      type: ExtensionType.renegotiation_info,
      data: Uint8Array.of(0),
    }];
    if (this.encryptThenMac) {
      extensions.push({ type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) });
    }
    if (this.extendedMasterSecret) {
      extensions.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
    }
    if (this.alpnProtocol !== undefined) {
      extensions.push({
        type: ExtensionType.application_layer_protocol_negotiation,
        data: encodeAlpnProtocols([this.alpnProtocol]),
      });
    }
    if (this.issueTicket) {
      extensions.push({ type: ExtensionType.session_ticket, data: new Uint8Array(0) });
    }
    const cid = this.options.connectionId;
    if (cid && this.clientConnectionId) {
      extensions.push({
        type: ExtensionType.connection_id,
        data: Uint8Array.of(cid.length, ...cid),
      });
    }
    let hello: ServerHello = {
      version: this.dtls ? 0xfefd : 0x0303,
      random: this.serverRandom,
      sessionId: this.sessionId,
      cipherSuite: this.options.suite ?? this.suite.id,
      compressionMethod: 0,
      extensions,
    };
    if (this.options.serverHello) hello = this.options.serverHello(hello);
    return this.message(HandshakeType.server_hello, encodeServerHello(hello));
  }

  /** True when the settled suite authenticates with ECDSA. */
  get #ecdsa(): boolean {
    return this.suite.keyExchange === "ecdhe_ecdsa";
  }

  /** The chain this server sends, DER, leaf first. */
  async chain(): Promise<readonly Uint8Array[]> {
    return this.options.chain ??
      parsePem(await Deno.readTextFile(fixedPkiFile(this.#ecdsa ? "ec-chain.pem" : "chain.pem")));
  }

  /** The leaf's private key, PEM. */
  async #keyPem(): Promise<string> {
    return this.options.keyPem ??
      await Deno.readTextFile(fixedPkiFile(this.#ecdsa ? "ec-leaf.key" : "leaf.key"));
  }

  /**
   * ECDHE: a fresh ephemeral key on the chosen group, signed with the leaf's key over both
   * randoms (RFC 8422 §5.4), bent by `serverKeyExchange`; framed, not yet added.
   */
  async #serverKeyExchange(): Promise<Uint8Array> {
    const group = this.options.group ?? this.clientGroups[0] ?? NamedGroup.x25519;
    const curve = ECDH[group] ?? ECDH[NamedGroup.x25519]!;
    const secret = curve.secret();
    this.#ephemeral = { group, secret };
    const publicKey = this.options.serverPublicKey ?? curve.publicKey(secret);
    const scheme = this.options.signatureScheme ??
      (this.#ecdsa ? SignatureScheme.ecdsa_secp256r1_sha256 : SignatureScheme.rsa_pss_rsae_sha256);
    const key = await SigningKey.import(await this.#keyPem());
    const signed = concatBytes([
      this.clientHello.random,
      this.serverRandom,
      encodeEcdhParams(group, publicKey),
    ]);
    let message: EcdheServerKeyExchange = {
      group,
      publicKey,
      scheme,
      signature: await key.sign(scheme, signed),
    };
    if (this.options.serverKeyExchange) message = this.options.serverKeyExchange(message);
    this.serverKeyExchange = message;
    return this.frame(HandshakeType.server_key_exchange, encodeServerKeyExchange(message));
  }

  /** PSK: the ServerKeyExchange (hint, and for ECDHE_PSK a fresh key share), framed. */
  #pskServerKeyExchange(): Uint8Array | undefined {
    const hint = this.options.psk?.hint;
    if (this.suite.keyExchange === "psk") {
      if (hint === undefined) return undefined;
      return this.frame(
        HandshakeType.server_key_exchange,
        new Writer().vector16((v) => v.bytes(hint)).finish(),
      );
    }
    const group = this.options.group ?? this.clientGroups[0] ?? NamedGroup.x25519;
    const curve = ECDH[group] ?? ECDH[NamedGroup.x25519]!;
    const secret = curve.secret();
    this.#ephemeral = { group, secret };
    const publicKey = this.options.serverPublicKey ?? curve.publicKey(secret);
    const body = new Writer().vector16((v) => v.bytes(hint ?? new Uint8Array(0)))
      .bytes(encodeEcdhParams(group, publicKey)).finish();
    return this.frame(HandshakeType.server_key_exchange, body);
  }

  /** PSK: the premaster from the client's identity (and key share). */
  #pskPremaster(body: Uint8Array): Uint8Array {
    const psk = this.options.psk;
    if (!psk) throw new Error("a PSK suite needs the psk option");
    const r = new Reader(body);
    const identity = new TextDecoder().decode(r.vector16());
    if (psk.identity !== undefined && identity !== psk.identity) {
      throw new Error(`unknown PSK identity "${identity}"`);
    }
    let other: Uint8Array | undefined;
    if (this.#ephemeral) {
      const { group, secret } = this.#ephemeral;
      other = ECDH[group]!.shared(secret, r.vector8(1));
      this.#ephemeral = undefined;
    }
    r.expectEnd("ClientKeyExchange");
    this.pskIdentity = identity;
    return pskPremasterBytes(psk.key, other);
  }

  /** The Certificate message, framed and added. */
  async certificate(): Promise<Uint8Array> {
    return this.message(HandshakeType.certificate, encodeCertificate(await this.chain()));
  }

  /** ServerHelloDone, framed and added. */
  serverHelloDone(): Uint8Array {
    return this.message(HandshakeType.server_hello_done, new Uint8Array(0));
  }

  /**
   * Answers a ClientHello: ServerHello, Certificate, CertificateRequest (when asked for) and
   * ServerHelloDone, bent by `firstFlight`; or ServerHello and Finished when it resumes.
   */
  async hello(message: HandshakeMessage): Promise<ServerFlight> {
    this.takeClientHello(message);
    const messages = [this.serverHello()];
    if (this.resumed) {
      const ticket = this.newSessionTicket();
      if (ticket) messages.push(ticket);
      messages.push(this.finished());
      return { messages, resumed: true };
    }
    const rest: Uint8Array[] = [];
    if (isPskSuite(this.suite)) {
      const ske = this.#pskServerKeyExchange();
      if (ske) rest.push(ske);
    } else {
      rest.push(this.frame(HandshakeType.certificate, encodeCertificate(await this.chain())));
      if (this.suite.keyExchange !== "rsa") rest.push(await this.#serverKeyExchange());
    }
    const request = this.options.certificateRequest;
    if (request) {
      rest.push(this.frame(
        HandshakeType.certificate_request,
        encodeCertificateRequest({
          certificateTypes: [1, 64],
          signatureSchemes: [...request.schemes],
          certificateAuthorities: [],
        }),
      ));
    }
    rest.push(this.frame(HandshakeType.server_hello_done, new Uint8Array(0)));
    // The hook sees the whole flight; the transcript takes what is really sent.
    const bend = this.options.firstFlight;
    const sent = bend ? bend([...messages, ...rest]) : [...messages, ...rest];
    for (const m of sent.slice(1)) this.add(m);
    return { messages: sent, resumed: false };
  }

  /**
   * Takes one message of the client's second flight: Certificate and CertificateVerify are
   * decoded, ClientKeyExchange is decrypted into the master secret, Finished must verify.
   */
  async clientMessage(m: HandshakeMessage): Promise<void> {
    if (m.type === HandshakeType.finished) {
      const expected = finishedVerifyData(
        this.master!,
        "client finished",
        this.transcriptHash(),
        this.suite.prfHash,
      );
      if (expected.toHex() !== m.body.toHex()) throw new Error("client Finished does not verify");
      this.add(m.transcriptBytes);
      return;
    }
    if (m.type === HandshakeType.certificate) this.clientCertificate = decodeCertificate(m.body);
    if (m.type === HandshakeType.certificate_verify) {
      this.clientSignatureScheme = decodeCertificateVerify(m.body).scheme;
    }
    this.add(m.transcriptBytes);
    if (m.type !== HandshakeType.client_key_exchange) return;
    if (isPskSuite(this.suite)) {
      this.premaster = this.#pskPremaster(m.body);
    } else if (this.#ephemeral) {
      const { group, secret } = this.#ephemeral;
      this.premaster = ECDH[group]!.shared(secret, decodeEcdhClientKeyExchange(m.body));
      this.#ephemeral = undefined;
    } else {
      this.premaster = await rsaDecrypt(await this.#keyPem(), decodeClientKeyExchange(m.body));
    }
    const prfHash = this.suite.prfHash;
    this.master = deriveMasterSecret(
      this.premaster,
      this.extendedMasterSecret
        ? { extendedMasterSecret: true, sessionHash: this.transcriptHash(), prfHash }
        : {
          extendedMasterSecret: false,
          clientRandom: this.clientHello.random,
          serverRandom: this.serverRandom,
          prfHash,
        },
    );
  }

  /**
   * Takes the client's second flight; returns the server Finished of a full handshake (empty
   * after a resumption, whose Finished went first).
   */
  async clientFlight(messages: readonly HandshakeMessage[]): Promise<Uint8Array> {
    for (const m of messages) await this.clientMessage(m);
    if (this.resumed) return new Uint8Array(0);
    this.newSessionTicket();
    return this.serverFinished();
  }

  /**
   * The NewSessionTicket, framed and added (kept in `ticketMessage`), when this handshake
   * issues one; its ticket resumes the session from then on.
   */
  newSessionTicket(): Uint8Array | undefined {
    if (!this.issueTicket) return undefined;
    const o = this.options.sessionTickets ?? {};
    const ticket = o.empty ? new Uint8Array(0) : crypto.getRandomValues(new Uint8Array(48));
    if (ticket.length > 0) {
      this.tickets.set(ticket.toHex(), { master: this.master!, suite: this.suite });
    }
    this.ticketMessage = this.message(
      HandshakeType.new_session_ticket,
      encodeNewSessionTicket({ lifetimeHint: o.lifetimeHint ?? 300, ticket }),
    );
    return this.ticketMessage;
  }

  /**
   * The server Finished, framed and added; `corrupt` (or the `badFinished` option) flips a bit
   * of its verify_data.
   */
  finished(corrupt = this.options.badFinished ?? false): Uint8Array {
    const verifyData = finishedVerifyData(
      this.master!,
      "server finished",
      this.transcriptHash(),
      this.suite.prfHash,
    );
    if (corrupt) verifyData[0]! ^= 1;
    return this.message(HandshakeType.finished, verifyData);
  }

  /**
   * The server Finished of a full handshake; the session is kept for resumption by ID (tickets
   * are kept by {@linkcode ServerHandshake.newSessionTicket}).
   */
  serverFinished(): Uint8Array {
    const finished = this.finished();
    if (this.sessionId.length > 0) {
      this.sessions.set(this.sessionId.toHex(), { master: this.master!, suite: this.suite });
    }
    return finished;
  }

  /** The key block of this handshake (needs the master secret). */
  keyBlock(): KeyBlock {
    return deriveKeyBlock(this.master!, this.clientHello.random, this.serverRandom, this.suite);
  }

  /** The record protectors of this handshake: `server` seals, `client` opens. */
  protectors(): { server: RecordProtector; client: RecordProtector } {
    const keys = this.keyBlock();
    const options = { encryptThenMac: this.encryptThenMac };
    return {
      server: protectorForSuite(this.suite, {
        encKey: keys.serverEncKey,
        macKey: keys.serverMacKey,
        iv: keys.serverIv,
      }, options),
      client: protectorForSuite(this.suite, {
        encKey: keys.clientEncKey,
        macKey: keys.clientMacKey,
        iv: keys.clientIv,
      }, options),
    };
  }
}

/** Cuts framed TLS handshake messages out of a byte string. */
export function splitMessages(bytes: Uint8Array): HandshakeMessage[] {
  const deframer = new TlsHandshakeDeframer();
  deframer.push(bytes);
  const out: HandshakeMessage[] = [];
  for (let m = deframer.next(); m; m = deframer.next()) out.push(m);
  return out;
}

/** The server's side of ECDH on each group, with @noble/curves. */
const ECDH: Readonly<
  Record<number, {
    secret(): Uint8Array;
    publicKey(secret: Uint8Array): Uint8Array;
    shared(secret: Uint8Array, peer: Uint8Array): Uint8Array;
  }>
> = {
  [NamedGroup.x25519]: {
    secret: () => x25519.utils.randomSecretKey(),
    publicKey: (secret) => x25519.getPublicKey(secret),
    shared: (secret, peer) => x25519.getSharedSecret(secret, peer),
  },
  [NamedGroup.secp256r1]: {
    secret: () => p256.utils.randomSecretKey(),
    publicKey: (secret) => p256.getPublicKey(secret, false),
    shared: (secret, peer) => p256.getSharedSecret(secret, peer, true).subarray(1),
  },
  [NamedGroup.secp384r1]: {
    secret: () => p384.utils.randomSecretKey(),
    publicKey: (secret) => p384.getPublicKey(secret, false),
    shared: (secret, peer) => p384.getSharedSecret(secret, peer, true).subarray(1),
  },
};

/** A u16-prefixed list of u16 values (supported_groups). */
function decodeU16List(data: Uint8Array): number[] {
  const list = new Reader(new Reader(data).vector16());
  const out: number[] = [];
  while (list.remaining > 0) out.push(list.u16());
  return out;
}

/** The protocol names of a ClientHello's ALPN extension. */
function decodeAlpnList(data: Uint8Array): string[] {
  const list = new Reader(new Reader(data).vector16());
  const names: string[] = [];
  while (list.remaining > 0) names.push(new TextDecoder().decode(list.vector8()));
  return names;
}
