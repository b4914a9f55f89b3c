/**
 * The module graph of `lib/`, as `deno info --json` reports it (type-only imports included), has
 * no cycle between files and none between the stage folders (`lib/data/`, `lib/io/`, …): each
 * stage imports only those below it (docs/architecture.md).
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const LIB = `${ROOT}lib/`;

/** Every `.ts` file under `lib/`, relative to it. */
async function libFiles(directory = LIB, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isDirectory) {
      files.push(...await libFiles(`${directory}${entry.name}/`, `${prefix}${entry.name}/`));
    } else if (entry.name.endsWith(".ts")) files.push(`${prefix}${entry.name}`);
  }
  return files;
}

/** lib-relative file → the lib-relative files it imports. */
async function importGraph(): Promise<Map<string, string[]>> {
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const files = await libFiles();
    await Deno.writeTextFile(entry, files.map((file) => `import "${LIB}${file}";`).join("\n"));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", `${ROOT}deno.json`, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const inLib = (specifier: string | undefined) =>
      specifier?.startsWith(`file://${LIB}`)
        ? decodeURIComponent(specifier.slice(7 + LIB.length))
        : null;
    const graph = new Map<string, string[]>();
    for (const module of info.modules) {
      const file = inLib(module.specifier);
      if (file === null) continue;
      const targets = (module.dependencies ?? []).flatMap((
        dependency,
      ) => [inLib(dependency.code?.specifier), inLib(dependency.type?.specifier)]).filter((
        target,
      ): target is string => target !== null);
      graph.set(file, [...new Set(targets)]);
    }
    assert.equal(graph.size, files.length, "every lib/ file is in the graph");
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

/** The strongly connected components of more than one node (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

Deno.test("lib/ has no import cycle between files, nor between stage folders", async () => {
  const graph = await importGraph();
  assert.deepEqual(cycles(graph), [], "file cycles");
  const folderOf = (file: string) => file.includes("/") ? file.split("/")[0] : file;
  const folders = new Map<string, string[]>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const into = targets.map(folderOf).filter((folder) => folder !== from);
    folders.set(from, [...new Set([...(folders.get(from) ?? []), ...into])]);
  }
  assert.deepEqual(cycles(folders), [], "folder cycles");
  // The lowest layer stays the lowest.
  assert.deepEqual(folders.get("fs") ?? [], [], "lib/fs/ imports no other stage");
});
