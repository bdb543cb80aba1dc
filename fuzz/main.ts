/**
 * The mutation fuzzer's command line.
 *
 * ```sh
 * deno run -A fuzz/main.ts [--seconds N] [--seed S] [--target NAME]... [--hang-ms M]
 * ```
 *
 * `--seconds` (default 60) is shared evenly by the targets chosen (default: all in
 * `fuzz/targets/`). `--seed` defaults to one drawn from the clock and printed, so any run can
 * be repeated. Each target runs in a worker; one that stops making progress for `--hang-ms`
 * (default 5000) is stopped and its in-flight input saved as a hang. Crashing inputs are
 * shrunk and saved to `fuzz/regressions/<target>/<sha256>.bin`. Exits 1 when anything was
 * saved.
 *
 * @module
 */

import { loadTargets, saveRegression } from "./engine.ts";
import type { WorkerReport, WorkerRequest } from "./worker.ts";

const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

interface Arguments {
  seconds: number;
  seed: number;
  targets: string[];
  hangMs: number;
}

function parseArguments(args: string[]): Arguments {
  const parsed: Arguments = {
    seconds: 60,
    seed: Date.now() % 0x7fffffff,
    targets: [],
    hangMs: 5000,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[++i];
    if (value === undefined) throw new TypeError(`${flag} needs a value`);
    if (flag === "--seconds") parsed.seconds = Number(value);
    else if (flag === "--seed") parsed.seed = Number(value);
    else if (flag === "--target") parsed.targets.push(...value.split(","));
    else if (flag === "--hang-ms") parsed.hangMs = Number(value);
    else throw new TypeError(`unknown option ${flag}`);
  }
  for (const [name, n] of [["--seconds", parsed.seconds], ["--hang-ms", parsed.hangMs]] as const) {
    if (!(n > 0)) throw new TypeError(`${name} must be a positive number`);
  }
  if (!Number.isInteger(parsed.seed)) throw new TypeError("--seed must be an integer");
  return parsed;
}

/** Runs one target in a worker, watching for hangs. */
async function runTarget(
  name: string,
  seed: number,
  milliseconds: number,
  maxInputLength: number,
  hangMs: number,
): Promise<{ report?: WorkerReport; hang?: Uint8Array }> {
  const shared = new SharedArrayBuffer(8 + maxInputLength);
  const header = new Int32Array(shared, 0, 2);
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  const finished = new Promise<WorkerReport>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerReport>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`worker for ${name} failed: ${event.message}`));
    };
  });
  const request: WorkerRequest = { target: name, seed, milliseconds, shared };
  worker.postMessage(request);
  let lastCount = -1;
  let lastChange = Date.now();
  let timer: ReturnType<typeof setInterval> | undefined;
  const hung = new Promise<"hang">((resolve) => {
    timer = setInterval(() => {
      const count = Atomics.load(header, 0);
      if (count !== lastCount) {
        lastCount = count;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > hangMs) {
        resolve("hang");
      }
    }, 100);
  });
  try {
    const first = await Promise.race([finished, hung]);
    if (first !== "hang") return { report: first };
    const length = Math.min(Atomics.load(header, 1), maxInputLength);
    return { hang: new Uint8Array(shared, 8, length).slice() };
  } finally {
    clearInterval(timer);
    worker.terminate();
  }
}

const options = parseArguments(Deno.args);
const all = await loadTargets();
const chosen = options.targets.length
  ? options.targets.map((name) => {
    const target = all.find((t) => t.name === name);
    if (!target) {
      throw new TypeError(`no target ${name}; have ${all.map((t) => t.name).join(", ")}`);
    }
    return target;
  })
  : all;
const share = options.seconds * 1000 / chosen.length;
say(`fuzz: seed ${options.seed}, ${chosen.length} targets, ${Math.round(share)} ms each`);
let saved = 0;
for (const target of chosen) {
  const result = await runTarget(
    target.name,
    options.seed,
    share,
    target.maxInputLength ?? 4096,
    options.hangMs,
  );
  if (result.hang) {
    const path = await saveRegression(target, result.hang);
    say(`${target.name}: HANG (no progress for ${options.hangMs} ms), saved ${path}`);
    saved++;
    continue;
  }
  const report = result.report!;
  say(
    `${target.name}: ${report.inputs} inputs from ${report.seeds} seeds, ` +
      `${report.outcomes} distinct outcomes, ${report.crashes.length} crashes`,
  );
  for (const crash of report.crashes) say(`  CRASH ${crash.signature}\n    saved ${crash.path}`);
  saved += report.crashes.length;
}
if (saved) Deno.exit(1);
