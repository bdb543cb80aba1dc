/**
 * The pieces of the server side of an RSA key exchange that the scripted TLS and DTLS servers
 * share: the ServerHello they answer with, the master secret, the record keys, the chain.
 *
 * @module
 */

import {
  type ClientHello,
  deriveMasterSecret,
  type Extension,
  ExtensionType,
  type KeyBlock,
  type ServerHello,
} from "@anchortls/handshake";
import { CbcHmacProtector, type CipherSuite } from "@anchortls/record";
import { parsePem } from "@anchortls/x509";
import { fixedPkiFile } from "../testing.ts";

/** What a scripted server settled on after the ClientHello. */
export interface ServerChoice {
  /** The record-layer version to answer with. */
  readonly version: number;
  /** The server random. */
  readonly random: Uint8Array;
  /** The suite taken. */
  readonly suite: CipherSuite;
  /** Whether encrypt_then_mac is echoed. */
  readonly encryptThenMac: boolean;
  /** Whether extended_master_secret is echoed. */
  readonly extendedMasterSecret: boolean;
}

/**
 * The ServerHello for `choice` (renegotiation_info, then EtM and EMS when echoed), bent by
 * `bend` when given.
 *
 * @param choice What the server settled on.
 * @param bend Rewrites the hello before it is encoded.
 * @returns The hello.
 */
export function serverHelloFor(
  choice: ServerChoice,
  bend?: (hello: ServerHello) => ServerHello,
): ServerHello {
  const extensions: Extension[] = [{
    type: ExtensionType.renegotiation_info,
    data: Uint8Array.of(0),
  }];
  if (choice.encryptThenMac) {
    extensions.push({ type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) });
  }
  if (choice.extendedMasterSecret) {
    extensions.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
  }
  const hello: ServerHello = {
    version: choice.version,
    random: choice.random,
    sessionId: new Uint8Array(0),
    cipherSuite: choice.suite.id,
    compressionMethod: 0,
    extensions,
  };
  return bend ? bend(hello) : hello;
}

/**
 * The master secret from the decrypted premaster.
 *
 * @param premaster The premaster the client sent.
 * @param clientHello The client's hello (for its random).
 * @param serverRandom The server random.
 * @param sessionHash The transcript hash up to ClientKeyExchange with EMS; `undefined` without.
 * @returns The master secret.
 */
export function masterSecretFor(
  premaster: Uint8Array,
  clientHello: ClientHello,
  serverRandom: Uint8Array,
  sessionHash: Uint8Array | undefined,
): Uint8Array {
  return deriveMasterSecret(
    premaster,
    sessionHash ? { extendedMasterSecret: true, sessionHash } : {
      extendedMasterSecret: false,
      clientRandom: clientHello.random,
      serverRandom,
    },
  );
}

/**
 * The record protectors of both directions from a key block.
 *
 * @param keys The key block.
 * @param suite The negotiated suite.
 * @param encryptThenMac Whether EtM was negotiated.
 * @returns The client's and the server's protectors.
 */
export function protectorPair(
  keys: KeyBlock,
  suite: CipherSuite,
  encryptThenMac: boolean,
): { client: CbcHmacProtector; server: CbcHmacProtector } {
  const common = { suite, encryptThenMac };
  return {
    client: new CbcHmacProtector({
      ...common,
      encKey: keys.clientEncKey,
      macKey: keys.clientMacKey,
    }),
    server: new CbcHmacProtector({
      ...common,
      encKey: keys.serverEncKey,
      macKey: keys.serverMacKey,
    }),
  };
}

/**
 * The server's certificate chain: `chain` when given, else the fixed test PKI's.
 *
 * @param chain A chain to send instead.
 * @returns The chain, leaf first.
 */
export async function serverChain(
  chain: readonly Uint8Array[] | undefined,
): Promise<readonly Uint8Array[]> {
  return chain ?? parsePem(await Deno.readTextFile(fixedPkiFile("chain.pem")));
}
