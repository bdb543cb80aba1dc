/**
 * The e2e tests' chip behind a socat pseudo-terminal pair: `emulator_cli` on one end with a
 * device key and certificate, the host's command-mode transport on the other, and a provider
 * over it for the duration of a callback. Everything is stopped afterwards, also on failure.
 *
 * @module
 */

import { CommandModeTransport, openSerialPort } from "@anchortls/transport-serial";
import { spawnPtyPair } from "@anchortls/transport-serial/testing";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import { startEmulatorProcess } from "../testing.ts";
import { PIN } from "../_test_support.ts";

/** What the chip is provisioned with, and how the provider runs. */
export interface PtyChipOptions {
  /** The device key (PKCS#8 PEM file). */
  readonly key: string;
  /** The device certificate (PEM file). */
  readonly cert: string;
  /** The provider's policy. */
  readonly policy: "full" | "hybrid";
}

/**
 * Runs `use` with a provider whose chip sits behind a fresh pty pair.
 *
 * @param options Device identity and policy.
 * @param use The test body.
 * @returns What `use` returns.
 */
export async function withPtyChip<T>(
  options: PtyChipOptions,
  use: (provider: MultosCryptoProvider) => Promise<T>,
): Promise<T> {
  const pair = await spawnPtyPair();
  try {
    await using _emulator = await startEmulatorProcess({
      tty: pair.paths[0],
      pin: PIN,
      key: options.key,
      cert: options.cert,
    });
    // Comms Parameters first: the chip's mode is set, not assumed.
    const transport = await CommandModeTransport.open(await openSerialPort(pair.paths[1]));
    try {
      const provider = await MultosCryptoProvider.open(transport, {
        policy: options.policy,
        pin: PIN,
      });
      try {
        return await use(provider);
      } finally {
        await provider.close();
      }
    } finally {
      await transport.close();
    }
  } finally {
    await pair.close();
  }
}
