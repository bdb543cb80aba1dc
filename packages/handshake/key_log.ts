/**
 * The NSS key log (the `SSLKEYLOGFILE` format Firefox, curl, OpenSSL and Node's `keylog` event
 * write, and Wireshark reads): one `CLIENT_RANDOM <client random> <master secret>` line per
 * TLS 1.2 handshake, so a capture can be decrypted while debugging.
 *
 * A line is the connection's secret. It exists only where the master secret is on the host: a
 * provider that derives it in a secure element cannot and must not reveal it, and a key log is
 * refused there at construction, with the reason.
 *
 * @module
 */

import type { CryptoProvider, MasterSecretHandle } from "./crypto_provider.ts";

/**
 * Why a provider cannot give a key log, or `undefined` when it can.
 *
 * @param provider The provider the handshake runs on.
 * @returns The reason, for the TypeError.
 */
export function keyLogRefusal(provider: CryptoProvider): string | undefined {
  if (provider.placement?.masterSecret === "chip") {
    return `the master secret is derived in the chip and never leaves it (policy ${provider.policy}); ` +
      "use the software provider or policy hybrid to log keys";
  }
  if (!provider.revealMasterSecret) {
    return `this provider (policy ${provider.policy}) does not reveal master secrets`;
  }
  return undefined;
}

/**
 * Writes the key log line of one handshake.
 *
 * @param provider The provider holding the master secret; it must pass
 *   {@linkcode keyLogRefusal}.
 * @param master The session's master secret.
 * @param clientRandom This handshake's client random (a resumption pairs the new random with
 *   the session's master secret).
 * @returns The line, without a newline.
 */
export async function keyLogLine(
  provider: CryptoProvider,
  master: MasterSecretHandle,
  clientRandom: Uint8Array,
): Promise<string> {
  const secret = await provider.revealMasterSecret!(master);
  try {
    return `CLIENT_RANDOM ${clientRandom.toHex()} ${secret.toHex()}`;
  } finally {
    secret.fill(0);
  }
}
