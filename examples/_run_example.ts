/**
 * Runs an example as a user would, in its own process, for the examples' tests.
 *
 * @module
 */

/** How an example run ended. */
export interface Outcome {
  /** The exit code. */
  readonly code: number;
  /** What it printed on stdout. */
  readonly stdout: string;
  /** What it printed on stderr. */
  readonly stderr: string;
}

/**
 * Runs `examples/<example>.ts` with `args` (and `stdin`, when given) to its end.
 *
 * @param example The example's name, e.g. `https_get`.
 * @param args Its command line.
 * @param stdin What to write to its stdin, if anything.
 * @param env Its environment.
 * @returns How it ended.
 */
export async function runExample(
  example: string,
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
): Promise<Outcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`./${example}.ts`, import.meta.url).pathname, ...args],
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
