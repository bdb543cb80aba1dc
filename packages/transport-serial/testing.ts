/**
 * Test helpers: a real pseudo-terminal pair made by `socat`, for putting an emulated chip and
 * a host on two ends of a tty. Needs `socat` on the PATH and `--allow-run`.
 *
 * @example A pair, always stopped
 * ```ts ignore
 * import { spawnPtyPair } from "@anchortls/transport-serial/testing";
 * const pair = await spawnPtyPair();
 * try {
 *   console.log(pair.paths); // ["/dev/pts/3", "/dev/pts/4"]
 * } finally {
 *   await pair.close();
 * }
 * ```
 *
 * @module
 */

/** A running socat joining two pseudo-terminals. */
export interface PtyPair {
  /** The two tty paths; bytes written to one are read from the other. */
  readonly paths: readonly [string, string];
  /** Stops socat and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Whether `socat` can be run here.
 *
 * @returns True when `socat -V` runs.
 */
export async function socatAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("socat", {
      args: ["-V"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * Starts `socat -d -d pty,raw,echo=0 pty,raw,echo=0` and waits until it reports both tty
 * paths and its transfer loop, reading its log rather than sleeping.
 *
 * @param timeoutMs How long to wait for socat to come up.
 * @returns The pair; close it in a `finally`.
 * @throws {Error} When socat fails or does not report two ttys in time.
 */
export async function spawnPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const child = new Deno.Command("socat", {
    args: ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const paths: string[] = [];
  const timer = setTimeout(() => lines.cancel().catch(() => undefined), timeoutMs);
  let drained: Promise<void> = Promise.resolve();
  const stop = async (): Promise<void> => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await drained;
    await child.status;
  };
  try {
    while (paths.length < 2 || !log.includes("starting data transfer loop")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`socat did not report two ptys: ${log.trim()}`);
      log += value;
      paths.splice(0, paths.length, ...[...log.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!));
    }
  } catch (error) {
    clearTimeout(timer);
    await lines.cancel().catch(() => undefined);
    await stop();
    throw error;
  }
  clearTimeout(timer);
  drained = (async () => {
    while (!(await lines.read()).done) {
      // socat's later notices are of no use; keep the pipe empty so it never blocks.
    }
  })().catch(() => undefined);
  return { paths: [paths[0]!, paths[1]!], close: stop };
}
