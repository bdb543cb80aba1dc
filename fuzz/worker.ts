/**
 * Runs one target's fuzz loop off the main thread, so `main.ts` can stop it when an input
 * hangs. Before each input it copies the bytes into the shared buffer it was given (length at
 * `Int32Array[1]`, bytes from offset 8) and bumps a counter (`Int32Array[0]`); the main thread
 * reads the in-flight input from there when the counter stops moving.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { fuzzTarget, loadCorpus, loadTargets, saveRegression } from "./engine.ts";

/** What the main thread sends to start a run. */
export interface WorkerRequest {
  /** Target name. */
  readonly target: string;
  /** Seed of the run. */
  readonly seed: number;
  /** Wall-clock budget. */
  readonly milliseconds: number;
  /** Counter, length and in-flight input. */
  readonly shared: SharedArrayBuffer;
}

/** What the worker sends back when its time is up. */
export interface WorkerReport {
  /** Inputs run. */
  readonly inputs: number;
  /** Distinct outcomes reached. */
  readonly outcomes: number;
  /** Corpus size. */
  readonly seeds: number;
  /** Saved crashes: file path and signature. */
  readonly crashes: { path: string; signature: string }[];
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { target: name, seed, milliseconds, shared } = event.data;
  const target = (await loadTargets()).find((t) => t.name === name)!;
  const corpus = await loadCorpus(target);
  const header = new Int32Array(shared, 0, 2);
  const bytes = new Uint8Array(shared, 8);
  const deadline = Date.now() + milliseconds;
  const report = fuzzTarget(target, corpus, {
    seed,
    stop: () => Date.now() >= deadline,
    beforeInput: (input) => {
      bytes.set(input.subarray(0, bytes.length));
      Atomics.store(header, 1, input.length);
      Atomics.add(header, 0, 1);
    },
  });
  const crashes = [];
  for (const crash of report.crashes) {
    crashes.push({ path: await saveRegression(target, crash.input), signature: crash.signature });
  }
  const done: WorkerReport = {
    inputs: report.inputs,
    outcomes: report.outcomes,
    seeds: corpus.length,
    crashes,
  };
  self.postMessage(done);
};
