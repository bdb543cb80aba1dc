/**
 * The mutation fuzzing loop and its files: targets from `fuzz/targets/`, seed inputs from
 * `fuzz/corpus/<corpus>/`, crashing inputs saved to `fuzz/regressions/<target>/<sha256>.bin`.
 *
 * The loop is deterministic: for a given corpus, seed and number of inputs it tries the same
 * inputs in the same order. An input whose outcome label was not seen before joins the working
 * set, so later mutations start from inputs that reached new outcomes.
 *
 * @module
 */

import { mutate } from "./mutate.ts";
import { SeededRandom } from "./random.ts";
import type { FuzzTarget } from "./target.ts";

const root = new URL("./", import.meta.url);
const targetsDir = new URL("targets/", root);
const corpusRoot = new URL("corpus/", root);
const regressionsRoot = new URL("regressions/", root);

/** What one input did. */
export type Outcome =
  | { readonly kind: "pass"; readonly label: string }
  | { readonly kind: "refused"; readonly label: string }
  | { readonly kind: "crash"; readonly signature: string; readonly error: unknown };

/** A crashing input found by {@linkcode fuzzTarget}. */
export interface Crash {
  /** The (shrunk) input. */
  readonly input: Uint8Array;
  /** Error name, message without numbers, and the first stack line: one per distinct bug. */
  readonly signature: string;
  /** The error as thrown. */
  readonly error: unknown;
}

/** Options for {@linkcode fuzzTarget}. */
export interface FuzzOptions {
  /** Seed of every choice. */
  readonly seed: number;
  /** Stop after this many mutated inputs. @default {Infinity} */
  readonly iterations?: number;
  /** Stop once this returns true (checked every 64 inputs). @default {never} */
  readonly stop?: () => boolean;
  /** Called with each input just before it runs (a hang watchdog keeps it). */
  readonly beforeInput?: (input: Uint8Array) => void;
}

/** What a {@linkcode fuzzTarget} run did. */
export interface FuzzReport {
  /** Inputs run, the seeds included. */
  readonly inputs: number;
  /** Distinct outcome labels reached. */
  readonly outcomes: number;
  /** Size of the working set at the end. */
  readonly workingSet: number;
  /** One crash per signature. */
  readonly crashes: Crash[];
}

/**
 * Loads every target in `fuzz/targets/`, sorted by name.
 *
 * @returns The targets.
 */
export async function loadTargets(): Promise<FuzzTarget[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(targetsDir)) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(entry.name);
  }
  const targets: FuzzTarget[] = [];
  for (const file of files.sort()) {
    const module = await import(new URL(file, targetsDir).href) as { default: FuzzTarget };
    targets.push(module.default);
  }
  return targets;
}

async function readBinFiles(dir: URL): Promise<Uint8Array[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".bin")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return await Promise.all(names.sort().map((n) => Deno.readFile(new URL(n, dir))));
}

/**
 * The seed inputs of a target, in file name order.
 *
 * @param target The target.
 * @returns The inputs (possibly none).
 */
export function loadCorpus(target: FuzzTarget): Promise<Uint8Array[]> {
  return readBinFiles(new URL(`${target.corpus}/`, corpusRoot));
}

/**
 * The saved crashing inputs of a target.
 *
 * @param target The target.
 * @returns The inputs with their file names.
 */
export async function loadRegressions(
  target: FuzzTarget,
): Promise<{ name: string; input: Uint8Array }[]> {
  const dir = new URL(`${target.name}/`, regressionsRoot);
  const inputs = await readBinFiles(dir);
  return await Promise.all(inputs.map(async (input) => ({ name: await sha256Hex(input), input })));
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))
    .toHex();
}

/**
 * Saves a crashing input as `fuzz/regressions/<target>/<sha256>.bin`.
 *
 * @param target The target it crashed.
 * @param input The input.
 * @returns The path written.
 */
export async function saveRegression(target: FuzzTarget, input: Uint8Array): Promise<string> {
  const dir = new URL(`${target.name}/`, regressionsRoot);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`${await sha256Hex(input)}.bin`, dir);
  await Deno.writeFile(file, input);
  return file.pathname;
}

/** Numbers and hex bytes vary with the input; without them, a message names a code path. */
const withoutValues = (message: string): string =>
  message.replace(/\b[0-9A-Fa-f]{2,4}\b|\d+/g, "#");

function signatureOf(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error ${typeof error}: ${String(error)}`;
  const frame = error.stack?.split("\n").find((line) => line.trimStart().startsWith("at ")) ?? "";
  return `${error.name}: ${withoutValues(error.message)} ${frame.trim()}`;
}

/**
 * Runs one input and classifies what happened.
 *
 * @param target The target.
 * @param input The bytes.
 * @returns A pass or expected refusal with its label, or a crash.
 */
export function runInput(target: FuzzTarget, input: Uint8Array): Outcome {
  try {
    return { kind: "pass", label: target.run(input) };
  } catch (error) {
    if (target.expected(error)) {
      const e = error as Error;
      return { kind: "refused", label: `${e.name}: ${withoutValues(e.message)}` };
    }
    return { kind: "crash", signature: signatureOf(error), error };
  }
}

/**
 * Makes a crashing input smaller while it still crashes the same way: drops ever smaller
 * ranges, then zeroes bytes.
 *
 * @param target The target.
 * @param input The crashing input.
 * @param signature The crash signature to keep.
 * @returns The smallest input found.
 */
export function shrink(target: FuzzTarget, input: Uint8Array, signature: string): Uint8Array {
  const same = (candidate: Uint8Array): boolean => {
    const outcome = runInput(target, candidate);
    return outcome.kind === "crash" && outcome.signature === signature;
  };
  let best = input;
  for (let size = best.length >> 1; size >= 1; size >>= 1) {
    for (let at = 0; at + size <= best.length;) {
      const candidate = Uint8Array.of(...best.subarray(0, at), ...best.subarray(at + size));
      if (same(candidate)) best = candidate;
      else at += size;
    }
  }
  return best;
}

/**
 * Fuzzes one target: runs every seed input, then seeded mutations of the working set.
 *
 * @example A short fixed-seed pass
 * ```ts ignore
 * import { fuzzTarget, loadCorpus, loadTargets } from "./engine.ts";
 * const [target] = await loadTargets();
 * const report = fuzzTarget(target!, await loadCorpus(target!), { seed: 1, iterations: 1000 });
 * report.crashes.length; // 0
 * ```
 *
 * @param target The target.
 * @param corpus Its seed inputs; an empty corpus starts from one empty input.
 * @param options Seed and when to stop.
 * @returns Counts and one shrunk crash per signature.
 */
export function fuzzTarget(
  target: FuzzTarget,
  corpus: readonly Uint8Array[],
  options: FuzzOptions,
): FuzzReport {
  const random = new SeededRandom(options.seed);
  const maxLength = target.maxInputLength ?? 4096;
  const working: Uint8Array[] = corpus.length ? [...corpus] : [new Uint8Array(0)];
  const labels = new Set<string>();
  const crashes = new Map<string, Crash>();
  const iterations = options.iterations ?? Infinity;
  let inputs = 0;

  const attempt = (input: Uint8Array): void => {
    inputs++;
    options.beforeInput?.(input);
    const outcome = runInput(target, input);
    if (outcome.kind === "crash") {
      if (!crashes.has(outcome.signature)) {
        const small = shrink(target, input, outcome.signature);
        crashes.set(outcome.signature, { ...outcome, input: small });
      }
      return;
    }
    const label = `${outcome.kind} ${outcome.label}`;
    if (!labels.has(label)) {
      labels.add(label);
      if (working.length < 4096) working.push(input);
    }
  };

  for (const seed of corpus) attempt(seed);
  for (let i = 0; i < iterations; i++) {
    if (i % 64 === 0 && options.stop?.()) break;
    attempt(mutate(random.pick(working), random, working, maxLength));
  }
  return {
    inputs,
    outcomes: labels.size,
    workingSet: working.length,
    crashes: [...crashes.values()],
  };
}
