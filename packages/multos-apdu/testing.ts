/**
 * Test support for hosts of the emulated chip: starts `emulator_cli.ts` as its own process, so a
 * test, bench or demo reaches it over a real tty or TCP link exactly as it would reach the chip.
 *
 * @module
 */

/** Where the emulator process serves: one end of a tty (e.g. a socat pty pair) or a TCP port. */
export type EmulatorEndpoint = { readonly tty: string } | { readonly tcp: number };

/** What {@linkcode startEmulatorProcess} starts the emulator with. */
export type EmulatorProcessOptions = EmulatorEndpoint & {
  /** The user PIN the chip expects. */
  readonly pin: string;
  /** Path of the device key (PKCS#8 PEM), stored as key 6100. */
  readonly key: string;
  /** Path of the device certificate (PEM), stored as file 5300. */
  readonly cert: string;
  /** Where the emulator's own diagnostics go (default `"inherit"`). */
  readonly stderr?: "inherit" | "null";
};

/** A running emulator process; stop it when done (also when a test fails). */
export interface EmulatorProcess extends AsyncDisposable {
  /** What the emulator said it serves: `tty:PATH` or `tcp:HOST:PORT`. */
  readonly address: string;
  /**
   * Ends the process and waits for it to exit; safe to call more than once.
   *
   * @returns When the process has exited.
   */
  stop(): Promise<void>;
}

const EMULATOR_CLI = new URL("./emulator_cli.ts", import.meta.url).pathname;

/**
 * Starts `emulator_cli.ts` in a new Deno process and waits for its `ready` line.
 *
 * @param options Endpoint, PIN and device identity files.
 * @returns The running process, once it serves.
 * @throws {Error} If the process exits or says something other than `ready` first; it is
 * stopped before the error is thrown.
 *
 * @example An emulated chip on a free TCP port
 * ```ts ignore
 * import { startEmulatorProcess } from "@anchortls/multos-apdu/testing";
 * import { CommandModeTransport, connectTcpLink } from "@anchortls/transport-serial";
 *
 * await using emulator = await startEmulatorProcess({
 *   tcp: 0,
 *   pin: "1234",
 *   key: "client.key",
 *   cert: "client.pem",
 * });
 * const transport = await CommandModeTransport.open(await connectTcpLink(emulator.address));
 * await transport.close();
 * ```
 */
export async function startEmulatorProcess(
  options: EmulatorProcessOptions,
): Promise<EmulatorProcess> {
  const endpoint = "tty" in options ? ["--tty", options.tty] : ["--tcp", String(options.tcp)];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ["run", "-A", EMULATOR_CLI, ...endpoint, "--pin", options.pin],
      ["--key", options.key, "--cert", options.cert],
    ].flat(),
    stdin: "null",
    stdout: "piped",
    stderr: options.stderr ?? "inherit",
  }).spawn();
  const stop = async (): Promise<void> => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
  };
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  try {
    while (!said.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`emulator exited before it was ready: ${said}`);
      said += value;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  lines.cancel().catch(() => undefined);
  const address = said.match(/^ready (\S+)/)?.[1];
  if (address === undefined) {
    await stop();
    throw new Error(`unexpected emulator output: ${said.trim()}`);
  }
  return { address, stop, [Symbol.asyncDispose]: stop };
}
