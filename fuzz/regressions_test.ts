/**
 * Replays every saved crashing input (`fuzz/regressions/<target>/<sha256>.bin`): each must now
 * pass or be refused with the target's typed error. A case stays here after its fix, so the
 * bug cannot come back unnoticed.
 */
import assert from "node:assert/strict";
import { loadRegressions, loadTargets, runInput } from "./engine.ts";

const targets = await loadTargets();

Deno.test("fuzz regressions: every folder belongs to a target", async () => {
  const names = new Set(targets.map((t) => t.name));
  try {
    for await (const entry of Deno.readDir(new URL("./regressions/", import.meta.url))) {
      if (entry.isDirectory) assert.ok(names.has(entry.name), `no target ${entry.name}`);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
});

for (const target of targets) {
  for (const { name, input } of await loadRegressions(target)) {
    Deno.test(`fuzz regression ${target.name}/${name.slice(0, 16)}`, () => {
      const outcome = runInput(target, input);
      assert.notEqual(
        outcome.kind,
        "crash",
        outcome.kind === "crash" ? `${outcome.signature}\n  input ${input.toHex()}` : "",
      );
    });
  }
}
