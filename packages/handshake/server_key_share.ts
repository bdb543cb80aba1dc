/**
 * The checks a client makes of an ECDHE ServerKeyExchange before it computes anything with the
 * server's key (RFC 8422 §5.4, RFC 5246 §7.4.3): a group and a signature scheme we offered, a
 * scheme that fits the suite's authentication, a valid public key, and a signature by the
 * certificate's key over both randoms and the parameters.
 *
 * @module
 */

import { AlertDescription, type CipherSuite, concatBytes, TlsAlertError } from "@anchortls/record";
import { type PublicKeyInfo, signatureAlgorithmForScheme, verifySignature } from "@anchortls/x509";
import { decodeServerKeyExchange } from "./messages/server_key_exchange.ts";
import { checkPublicKey, namedGroupName } from "./named_group.ts";
import { OFFERED_SIGNATURE_SCHEMES, signatureSchemeName } from "./signature_scheme.ts";

/** The server's ephemeral key share, checked and authenticated. */
export interface ServerKeyShare {
  /** The named group. */
  readonly group: number;
  /** The server's public key on it. */
  readonly publicKey: Uint8Array;
}

/** What the check needs to know of the handshake so far. */
export interface ServerKeyExchangeContext {
  /** The negotiated suite: its key exchange fixes which signatures fit. */
  readonly suite: CipherSuite;
  /** The groups our supported_groups offered. */
  readonly offeredGroups: readonly number[];
  /** ClientHello.random. */
  readonly clientRandom: Uint8Array;
  /** ServerHello.random. */
  readonly serverRandom: Uint8Array;
  /** The validated leaf certificate's key. */
  readonly serverKey: PublicKeyInfo;
}

/**
 * Decodes and checks an ECDHE ServerKeyExchange.
 *
 * @param body The message body.
 * @param context The suite, what we offered, the randoms and the server's key.
 * @returns The server's key share.
 * @throws {TlsAlertError} `decode_error` for a malformed message; `illegal_parameter` for a
 *   group or signature scheme we did not offer, a scheme that does not fit the suite, or a bad
 *   public key; `decrypt_error` when the signature does not verify.
 */
export async function checkServerKeyExchange(
  body: Uint8Array,
  context: ServerKeyExchangeContext,
): Promise<ServerKeyShare> {
  const message = decodeServerKeyExchange(body);
  checkKeyShare(context.offeredGroups, message.group, message.publicKey);
  const algorithm = OFFERED_SIGNATURE_SCHEMES.includes(message.scheme)
    ? signatureAlgorithmForScheme(message.scheme)
    : undefined;
  if (!algorithm) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `server signed its key exchange with ${
        signatureSchemeName(message.scheme)
      }, which our signature_algorithms did not offer`,
    );
  }
  const ecdsaSuite = context.suite.keyExchange === "ecdhe_ecdsa";
  if ((algorithm.kind === "ecdsa") !== ecdsaSuite) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `${signatureSchemeName(message.scheme)} does not fit ${context.suite.name}, which is ` +
        `authenticated by ${ecdsaSuite ? "ECDSA" : "RSA"}`,
    );
  }
  const signed = concatBytes([context.clientRandom, context.serverRandom, message.params]);
  if (!await verifySignature(context.serverKey, algorithm, signed, message.signature)) {
    throw new TlsAlertError(
      AlertDescription.decrypt_error,
      `the ServerKeyExchange signature (${
        signatureSchemeName(message.scheme)
      }) does not verify with the server certificate's key`,
    );
  }
  return { group: message.group, publicKey: message.publicKey };
}

/**
 * Checks the server's key share before anything is computed with it: a group we offered, and a
 * public key valid on it.
 *
 * @param offeredGroups The groups our supported_groups offered.
 * @param group The server's group.
 * @param publicKey The server's public key.
 * @throws {TlsAlertError} `illegal_parameter` for a group we did not offer or a bad key.
 */
export function checkKeyShare(
  offeredGroups: readonly number[],
  group: number,
  publicKey: Uint8Array,
): void {
  if (!offeredGroups.includes(group)) {
    throw new TlsAlertError(
      AlertDescription.illegal_parameter,
      `server chose group ${namedGroupName(group)}, which we did not offer (offered: ${
        offeredGroups.map(namedGroupName).join(", ")
      })`,
    );
  }
  checkPublicKey(group, publicKey);
}
