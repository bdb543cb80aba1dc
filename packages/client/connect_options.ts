/**
 * The options `connectTls` and `connectDtls` share: where to connect, whom to trust, which
 * secrets to use and what to negotiate.
 *
 * @module
 */

import type {
  CryptoProvider,
  HandshakeTrace,
  MaxFragmentLength,
  SessionCache,
  TlsSession,
} from "@anchortls/handshake";
import type { CipherSuite } from "@anchortls/record";
import type { Certificate, CrlInput } from "@anchortls/x509";
import type { PskCredentials } from "@anchortls/handshake";

/** A client certificate for a software provider. */
export interface ClientCertificateOptions {
  /** The chain, leaf first: PEM text with one or more CERTIFICATE blocks, or DER certificates. */
  readonly certificateChain: string | readonly Uint8Array[];
  /** The private key: PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`) or PKCS#8 DER. */
  readonly privateKey: string | Uint8Array;
}

/** What {@linkcode ConnectTlsOptions} and {@linkcode ConnectDtlsOptions} have in common. */
export interface CommonConnectOptions {
  /** Host to connect to (name or address). */
  readonly hostname: string;
  /**
   * Trusted root certificates: PEM text (any number of CERTIFICATE blocks), DER, or parsed
   * certificates. Without it the system's trust store is used (`SSL_CERT_FILE`,
   * `SSL_CERT_DIR`, the distribution's bundle; read once per process), as `Deno.connectTls`
   * and Node use default roots; a `TrustStoreError` names the paths tried when there is none.
   * @default {the system trust store}
   */
  readonly caCerts?: readonly (string | Uint8Array | Certificate)[];
  /**
   * Certificate revocation lists (RFC 5280 §5) for the server's chain, as PEM text, DER or
   * parsed: a certificate one lists ends the handshake with certificate_revoked; a CRL of an
   * issuer in the chain that cannot be used (bad signature, stale, issuer without cRLSign)
   * with bad_certificate. Certificates no CRL is for are not checked. @default {[]}
   */
  readonly crls?: readonly CrlInput[];
  /**
   * A pre-shared key (RFC 4279) and its identity: the PSK suites are offered
   * (`TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256`, CoAP's `TLS_PSK_WITH_AES_128_CCM_8`, AES-GCM and
   * AES-CBC; `suites` may name others), the server is authenticated by the key and sends no
   * certificate, and `caCerts` is not needed. Software and hybrid providers only: the MULTOS
   * applet in `full` takes no pre-shared key.
   */
  readonly psk?: PskCredentials;
  /** The name to send as SNI and to check in the certificate. @default {hostname} */
  readonly serverName?: string;
  /**
   * A client certificate, used by the default software provider. Give it to your provider
   * instead when you pass `provider`.
   */
  readonly clientCertificate?: ClientCertificateOptions;
  /**
   * Where the secrets live. Sessions resume only with the provider that made them.
   * @default {a shared SoftwareCryptoProvider, or a new one holding `clientCertificate`}
   */
  readonly provider?: CryptoProvider;
  /**
   * Session resumption: a {@linkcode SessionCache} to look the server up in and store the new
   * session in (keyed by `serverName:port` for TLS and `serverName:port/udp` for DTLS), or one
   * {@linkcode TlsSession} to offer. A session made over TLS is never offered over DTLS, nor
   * the other way round.
   */
  readonly session?: SessionCache | TlsSession;
  /**
   * Offer session tickets (RFC 5077), so a server that keeps no session cache (nginx's
   * default) can still resume: its ticket is kept in the session, bound to the same provider,
   * trust anchors and CRLs as a session ID. `false` resumes by session ID only. @default {true}
   */
  readonly sessionTickets?: boolean;
  /**
   * Suites to offer, preferred first, as suite objects or code points; one the provider cannot
   * do is a `TypeError`. @default {what the provider can do: forward-secret AEAD suites first,
   *   then ECDHE with AES-CBC, then RSA key transport}
   */
  readonly suites?: readonly (CipherSuite | number)[];
  /**
   * ECDHE groups to offer (`NamedGroup` code points: x25519, secp256r1, secp384r1), preferred
   * first; one the provider cannot compute is a `TypeError`.
   * @default {x25519, secp256r1, secp384r1, as far as the provider computes them}
   */
  readonly groups?: readonly number[];
  /**
   * Offer Encrypt-then-MAC. A provider that requires it (the chip's `full` policy) refuses
   * `false`. @default {true}
   */
  readonly encryptThenMac?: boolean;
  /**
   * max_fragment_length to offer (RFC 6066): 512, 1024, 2048 or 4096 bytes per record both
   * ways, if the server takes it (OpenSSL and GnuTLS do); `false` offers none.
   * @default {2048 with a chip provider in `full`, whose records must fit one chip command;
   *   none otherwise}
   */
  readonly maxFragmentLength?: MaxFragmentLength | false;
  /**
   * record_size_limit to offer (RFC 8449): the most plaintext bytes per record we take,
   * 64..16384 (GnuTLS honours it); `false` offers none.
   * @default {2048 with a chip provider in `full`; none otherwise}
   */
  readonly recordSizeLimit?: number | false;
  /**
   * Application protocols to offer by ALPN (RFC 7301), most preferred first — e.g.
   * `["mqtt"]` for MQTT on port 443, `["http/1.1"]`, `["coap"]` over DTLS. The server's choice
   * is `HandshakeInfo.alpnProtocol`; a choice we did not offer ends the handshake with
   * `illegal_parameter`, and a server that supports none sends `no_application_protocol`.
   */
  readonly alpnProtocols?: readonly string[];
  /**
   * Told of every handshake message and ChangeCipherSpec sent and received: its type, size
   * and, in DTLS, message_seq, epoch and fragments — never its contents, so it is safe to log.
   * `describeTrace(message)` turns one into a line. It runs inside the connection and must
   * return quickly; what it throws fails the connection.
   */
  readonly onHandshakeMessage?: (message: HandshakeTrace) => void;
  /**
   * Receives the NSS key log line of each handshake (`CLIENT_RANDOM <client random> <master
   * secret>`, hex, no newline), as Node's `keylog` event: append it to the file
   * `SSLKEYLOGFILE` names and Wireshark decrypts a capture. The line is the session's secret;
   * use it only while debugging. A provider that keeps the master secret in the chip (policy
   * `full`) cannot give it: the connection is refused with a `TypeError` that says so.
   */
  readonly keyLog?: (line: string) => void;
}
