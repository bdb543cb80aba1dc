/**
 * Checks that package layering stays one-way: each package's product code (everything but
 * tests and test support) imports only the packages below it, each declared in its deno.json
 * by JSR name and version range (what a published or linked package resolves it by), never a `/testing` entry nor the
 * never-published test house `@anchortls/testing`, never another package's files by a relative
 * path, and no module of it imports itself back through
 * others (no import circle). Run by `deno task check`.
 *
 * ```sh
 * deno run --allow-read tools/check_layering.ts
 * ```
 *
 * @module
 */

/** Which packages each package's product code may import (DESIGN.md, "Layers"). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  record: [],
  x509: [],
  "transport-serial": [],
  handshake: ["record", "x509"],
  "multos-apdu": ["handshake", "record", "x509", "transport-serial"],
  client: ["handshake", "record", "x509", "transport-serial"],
};

/** Files and folders that are tests or test support, allowed to import anything. */
const TEST_SUPPORT = [
  /_test\.ts$/,
  /(^|\/)_test_[a-z_]+\.ts$/,
  /(^|\/)testing\.ts$/,
  /(^|\/)(hostile|interop|e2e|testdata)\//,
];

const root = new URL("../packages/", import.meta.url);

async function* tsFiles(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) yield* tsFiles(new URL(entry.name + "/", dir), path + "/");
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g;

const problems: string[] = [];
/** Product modules and the product modules of the same package they import. */
const graph = new Map<string, string[]>();
for (const [pkg, allowed] of Object.entries(ALLOWED)) {
  const dir = new URL(pkg + "/", root);
  // What `deno publish` and a project linking the packages resolve a sibling through.
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", dir)));
  const declared: Record<string, string> = config.imports ?? {};
  const version = config.version as string;
  for await (const file of tsFiles(dir)) {
    if (TEST_SUPPORT.some((pattern) => pattern.test(file))) continue;
    // Doc comments hold examples, not imports of the module.
    const text = (await Deno.readTextFile(new URL(file, dir))).replace(/\/\*[\s\S]*?\*\//g, "");
    const here = new URL(file, dir).href;
    const edges: string[] = [];
    graph.set(here, edges);
    for (const [, specifier] of text.matchAll(IMPORT)) {
      const where = `packages/${pkg}/${file}`;
      if (specifier!.startsWith("@anchortls/")) {
        const [, target, ...subpath] = specifier!.split("/");
        if (target === "testing" || subpath.includes("testing")) {
          problems.push(`${where}: product code imports test support ${specifier}`);
        } else if (target !== pkg && !allowed.includes(target!)) {
          problems.push(`${where}: ${pkg} may not import ${specifier} (allowed: ${allowed})`);
        } else if (
          target !== pkg &&
          !declared[`@anchortls/${target}`]?.startsWith(`jsr:@anchortls/${target}@^`)
        ) {
          problems.push(
            `packages/${pkg}/deno.json: imports lacks "@anchortls/${target}": "jsr:@anchortls/${target}@^${version}" (${where} imports it)`,
          );
        }
      } else if (specifier!.startsWith(".")) {
        const resolved = new URL(specifier!, new URL(file, dir)).href;
        if (!resolved.startsWith(dir.href)) {
          problems.push(`${where}: relative import ${specifier} leaves the package`);
        } else {
          edges.push(resolved);
        }
      }
    }
  }
}

// Import circles, found by a depth-first walk (grey = on the current path).
const state = new Map<string, "grey" | "black">();
const short = (url: string) => url.slice(root.href.length);
function walk(node: string, path: string[]): void {
  state.set(node, "grey");
  for (const next of graph.get(node) ?? []) {
    if (!graph.has(next)) continue; // a test-support module, not walked
    if (state.get(next) === "grey") {
      const circle = [...path.slice(path.indexOf(next)), next].map(short);
      problems.push(`import circle: ${circle.join(" → ")}`);
    } else if (!state.has(next)) {
      walk(next, [...path, next]);
    }
  }
  state.set(node, "black");
}
for (const node of graph.keys()) if (!state.has(node)) walk(node, [node]);

const encoder = new TextEncoder();
if (problems.length) {
  Deno.stderr.writeSync(encoder.encode(problems.join("\n") + "\n"));
  Deno.exit(1);
}
Deno.stdout.writeSync(
  encoder.encode(`layering: ${Object.keys(ALLOWED).length} packages, imports one-way\n`),
);
