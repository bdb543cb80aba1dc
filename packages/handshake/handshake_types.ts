/**
 * The types a client handshake is configured with and speaks in: its configuration, the events
 * it takes, the actions it returns and what a completed handshake established. Kept apart from
 * the state machine so its states and its driver can both use them without an import circle.
 *
 * @module
 */

import type { CipherSuite, ContentType, ProtocolVersion, RecordProtector } from "@anchortls/record";
import type { Certificate, Crl } from "@anchortls/x509";
import type { CryptoProvider } from "./crypto_provider.ts";
import type { FragmentLimits, MaxFragmentLength } from "./fragment_limits.ts";
import type { HandshakeFraming } from "./messages/framing.ts";
import type { TlsSession } from "./session_cache.ts";
import type { PskCredentials } from "./psk.ts";

/** Configuration of one client handshake. */
export interface ClientHandshakeConfig {
  /** Holds the secrets and the client key. */
  readonly provider: CryptoProvider;
  /** Trusted roots for the server's chain. */
  readonly trustAnchors: readonly Certificate[];
  /**
   * Revocation lists for the server's chain (see `verifyChain`'s `crls`): a certificate a CRL
   * lists fails with certificate_revoked. A session resumes only under the same CRLs, so a
   * new CRL takes effect at the next handshake. @default {[]}
   */
  readonly crls?: readonly Crl[];
  /**
   * A pre-shared key (RFC 4279): offers {@linkcode DEFAULT_PSK_SUITES} (unless `suites` says
   * otherwise), where the server proves it holds the key by its Finished and sends no
   * certificate. The provider must do PSK key exchange (`pskPremaster`). Sessions made with it
   * resume only with the same identity and key.
   */
  readonly psk?: PskCredentials;
  /**
   * The server's name: sent as server_name (unless it is an IP literal) and checked against
   * the certificate. Without it, only the chain is checked.
   */
  readonly serverName?: string;
  /**
   * Suites to offer, preferred first; each must be one the provider can key.
   * @default {DEFAULT_CIPHER_SUITES, narrowed to the provider's `cipherSuites`}
   */
  readonly suites?: readonly CipherSuite[];
  /**
   * ECDHE groups to offer in supported_groups (RFC 8422 §5.1.1), preferred first, as
   * `NamedGroup` code points; each must be one the provider computes on.
   * @default {DEFAULT_GROUPS: x25519, secp256r1, secp384r1}
   */
  readonly groups?: readonly number[];
  /**
   * Application protocols to offer by ALPN (RFC 7301), most preferred first, e.g.
   * `["mqtt"]` or `["h2", "http/1.1"]`; none offered when absent.
   */
  readonly alpnProtocols?: readonly string[];
  /**
   * Offer Encrypt-then-MAC. A provider whose `recordRequirements` demand it refuses `false`.
   * @default {true}
   */
  readonly encryptThenMac?: boolean;
  /**
   * max_fragment_length to offer (RFC 6066): 512, 1024, 2048 or 4096 bytes of plaintext per
   * record both ways, if the server takes it; `false` offers none.
   * @default {the largest within the provider's `recordRequirements`; none without them}
   */
  readonly maxFragmentLength?: MaxFragmentLength | false;
  /**
   * record_size_limit to offer (RFC 8449): the most plaintext bytes per record we accept,
   * 64..16384; `false` offers none.
   * @default {the provider's `recordRequirements.maxPlaintext`; none without them}
   */
  readonly recordSizeLimit?: number | false;
  /**
   * Receives the NSS key log line of each handshake, `CLIENT_RANDOM <client random> <master
   * secret>` in hex without a newline (as Node's `keylog` event; append it to the file
   * `SSLKEYLOGFILE` names and Wireshark decrypts the capture). The line is the session's
   * secret: log it only while debugging. Refused with a `TypeError` when the provider keeps the
   * master secret in the chip.
   */
  readonly keyLog?: (line: string) => void;
  /** A session to offer for resumption; ignored unless it belongs to `provider`. */
  readonly session?: TlsSession;
  /**
   * Offer session tickets (RFC 5077): the server may hand the session's state to us as a
   * ticket, which resumes it where the server keeps no session cache (nginx's default). A
   * session with a ticket is offered by its ticket; without tickets only by its session ID.
   * @default {true}
   */
  readonly sessionTickets?: boolean;
  /**
   * DTLS only: ask for a Connection ID (RFC 9146), the CID the server is to put in the
   * records it sends us (empty: we take none, but send the server's). When the server agrees,
   * the records of the new epochs carry CIDs both ways, so the association survives a change
   * of our address or port (NAT rebinding). None is asked for when absent.
   */
  readonly connectionId?: Uint8Array;
  /** How handshake messages are framed. @default {new TlsHandshakeFraming()} */
  readonly framing?: HandshakeFraming;
  /**
   * The protocol: DTLS 1.2 (0xfefd) puts a cookie field in the ClientHello and answers a
   * HelloVerifyRequest; pair it with a DTLS framing. @default {ProtocolVersion.tls12}
   */
  readonly version?: typeof ProtocolVersion.tls12 | typeof ProtocolVersion.dtls12;
}

/** What a finished handshake established. */
export interface HandshakeInfo {
  /** Always `"TLSv1.2"`. */
  readonly version: "TLSv1.2";
  /** The negotiated suite. */
  readonly suite: CipherSuite;
  /** True when the server echoed encrypt_then_mac. */
  readonly encryptThenMac: boolean;
  /** True when the master secret is bound to the handshake (RFC 7627). */
  readonly extendedMasterSecret: boolean;
  /** True when this was an abbreviated handshake resuming a session. */
  readonly resumed: boolean;
  /** True when the server signalled RFC 5746 support. */
  readonly secureRenegotiation: boolean;
  /** The validated server chain, leaf first, anchor last. */
  readonly peerCertificates: readonly Certificate[];
  /** True when we sent a non-empty client certificate chain. */
  readonly clientCertificateSent: boolean;
  /** Plaintext bytes per record each way, and the extension that set them. */
  readonly fragmentLimits: FragmentLimits;
  /** The application protocol the server chose by ALPN, if we offered any and it chose. */
  readonly alpnProtocol: string | undefined;
  /** A session to resume later; present only with EMS and a non-empty session ID. */
  readonly session: TlsSession | undefined;
  /**
   * The Connection IDs (RFC 9146) when the server took our request: `ours` in the records it
   * sends, `peer` in the records we send (either may be empty: no CID that way).
   */
  readonly connectionId?: { readonly ours: Uint8Array; readonly peer: Uint8Array };
}

/** A handshake message we send, as its parts. */
export interface OutboundHandshakeMessage {
  /** The handshake type. */
  readonly msgType: number;
  /** Its number among the messages we sent, from 0 (DTLS's message_seq). */
  readonly messageSeq: number;
  /** The body, without a header. */
  readonly body: Uint8Array;
}

/** One thing the driver must do, in the order given. */
export type HandshakeAction =
  | {
    /** Send `data` as one or more records of `contentType` under the current write keys. */
    readonly kind: "send";
    readonly contentType: ContentType;
    /** The content; a handshake message comes framed by the configured `HandshakeFraming`. */
    readonly data: Uint8Array;
    /**
     * A handshake message unframed, for a driver that frames and fragments it itself (DTLS):
     * then `data` need not be parsed back.
     */
    readonly message?: OutboundHandshakeMessage;
  }
  | {
    /**
     * Protect everything sent from now on with this protector, in records of at most
     * `maxPlaintext` bytes; sequence numbers restart.
     */
    readonly kind: "install_write";
    readonly protector: RecordProtector;
    readonly maxPlaintext: number;
    /** The peer's Connection ID to send tls12_cid records with (RFC 9146), when negotiated. */
    readonly cid?: Uint8Array;
  }
  | {
    /**
     * Unprotect everything received from now on with this one; a record of more than
     * `maxPlaintext` bytes is a `record_overflow`. Sequence numbers restart.
     */
    readonly kind: "install_read";
    readonly protector: RecordProtector;
    readonly maxPlaintext: number;
    /** Our Connection ID, which every record of this epoch must carry (RFC 9146). */
    readonly cid?: Uint8Array;
  }
  | {
    /** The handshake is finished; application data may flow. */
    readonly kind: "complete";
    readonly info: HandshakeInfo;
  };
