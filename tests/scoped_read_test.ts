/**
 * The launcher that scopes the reads of `deno task predict` and `deno task serve`
 * (lib/cli/_scoped_read.ts): which flag values it reads from a command line, the allow-list it
 * computes, the child command it builds, and the one-line error for a read Deno refused. The
 * tasks themselves, run through `deno task`, are checked in tests/e2e/permissions_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  flagValues,
  PATH_FLAGS,
  PROJECT_ROOT,
  readAllowList,
  scopedChild,
  scopedReadError,
} from "../lib/cli/_scoped_read.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

Deno.test("flagValues reads --NAME VALUE and --NAME=VALUE, every time, up to --", () => {
  assert.deepEqual(
    flagValues(["--json", "--model", "a", "text", "--model=b=c", "--", "--model", "d"], ["model"]),
    ["a", "b=c"],
  );
  // A value that looks like a flag is still the value (the CLI reports the mistake).
  assert.deepEqual(flagValues(["--model", "--json"], ["model"]), ["--json"]);
  assert.deepEqual(flagValues(["--model"], ["model"]), []);
  assert.deepEqual(flagValues(["--models", "x", "--modelx=y", "-m", "z"], ["model"]), []);
  assert.deepEqual(flagValues(["--model=", "--teacher", "t"], ["model", "teacher"]), ["", "t"]);
});

Deno.test("the project root is the folder holding deno.json", async () => {
  assert.ok((await Deno.stat(`${PROJECT_ROOT}/deno.json`)).isFile);
  assert.ok(!PROJECT_ROOT.endsWith("/"));
  for (const script of Object.keys(PATH_FLAGS)) {
    assert.ok((await Deno.stat(`${PROJECT_ROOT}/${script}`)).isFile, script);
  }
});

Deno.test("readAllowList: the root, the paths as given and real, nothing inside another twice", async () => {
  await withTempDir(async (tmp) => {
    const root = await Deno.realPath(tmp);
    await Deno.mkdir(`${root}/project/node_modules`, { recursive: true });
    await Deno.mkdir(`${root}/models/real`, { recursive: true });
    await Deno.symlink(`${root}/models/real`, `${root}/link`);
    const list = await readAllowList(
      ["../link", "data/model", "", `${root}/missing/./x/../y`],
      { root: `${root}/project`, cwd: `${root}/project` },
    );
    assert.deepEqual(list, [
      `${root}/project`,
      `${root}/link`,
      `${root}/models/real`,
      `${root}/missing/y`,
    ]);
    // node_modules elsewhere (a link out of the project) is listed by its real path.
    await Deno.remove(`${root}/project/node_modules`);
    await Deno.mkdir(`${root}/cache/node_modules`, { recursive: true });
    await Deno.symlink(`${root}/cache/node_modules`, `${root}/project/node_modules`);
    assert.deepEqual(await readAllowList([], { root: `${root}/project` }), [
      `${root}/project`,
      `${root}/cache/node_modules`,
    ]);
  });
});

Deno.test("readAllowList refuses a path with a comma, naming it", async () => {
  await assert.rejects(
    readAllowList(["/tmp/a,b"], { root: PROJECT_ROOT }),
    /^Error: \/tmp\/a,b: a path with a comma cannot be allowed/,
  );
});

Deno.test("scopedChild: run --no-prompt, the task's flags, the reads, the script, the arguments unchanged", async () => {
  const args = ["--model", "/nowhere/model", "--json", "Angela Merkel"];
  const child = await scopedChild(["--deny-net", "lib/cli/predict.ts", ...args]);
  assert.equal(child.script, `${PROJECT_ROOT}/lib/cli/predict.ts`);
  assert.deepEqual(child.args, [
    "run",
    "--no-prompt",
    "--deny-net",
    `--allow-read=${PROJECT_ROOT},/nowhere/model`,
    child.script,
    ...args,
  ]);
  const serve = await scopedChild(["--allow-net=127.0.0.1", "./lib/cli/serve.ts", "--help"]);
  assert.deepEqual(serve.args.slice(2), [
    "--allow-net=127.0.0.1",
    `--allow-read=${PROJECT_ROOT}`,
    `${PROJECT_ROOT}/lib/cli/serve.ts`,
    "--help",
  ]);
});

Deno.test("scopedChild refuses another script, or a read flag among the task's flags", async () => {
  await assert.rejects(scopedChild(["--deny-net", "lib/cli/train.ts"]), /runs one of .*train\.ts/);
  await assert.rejects(scopedChild(["--deny-net"]), /got none/);
  for (const flag of ["-A", "-R", "--allow-all", "--allow-read", "--allow-read=/", "--deny-read"]) {
    await assert.rejects(
      scopedChild([flag, "lib/cli/predict.ts"]),
      new RegExp(`sets the reads itself, got ${flag}`),
    );
  }
});

/** Runs `source` with `deno run FLAGS -` and returns its stdout, trimmed. */
async function runScript(flags: string[], source: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, "-"],
    cwd: PROJECT_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim();
}

Deno.test("scopedReadError: one line naming the path where reads are scoped, else nothing", async () => {
  await withTempDir(async (tmp) => {
    const outside = `${await Deno.realPath(tmp)}/secret.txt`;
    await Deno.writeTextFile(outside, "x");
    const source = `
      import { scopedReadError } from ${JSON.stringify(`${PROJECT_ROOT}/lib/cli/_scoped_read.ts`)};
      for (const read of [
        () => Deno.readTextFileSync(${JSON.stringify(outside)}),
        () => { try { Deno.statSync(${JSON.stringify(outside)}); } catch (error) {
          throw new Error("x: cannot read the model folder (" + error.message + ")"); } },
      ]) {
        try { read(); console.log("read"); }
        catch (error) { console.log(scopedReadError(error)?.message ?? "none: " + error.name); }
      }
      console.log(scopedReadError(new Deno.errors.NotFound("gone"))?.message ?? "none");
    `;
    const scoped = `${outside}: not readable: reads are limited to the project folder ` +
      `(${PROJECT_ROOT}) and the paths given on the command line`;
    // Scoped to the project: Deno's refusal, bare or quoted in a message, becomes one line.
    assert.equal(
      await runScript([`--allow-read=${PROJECT_ROOT}`], source),
      [scoped, scoped, "none"].join("\n"),
    );
    // Every read allowed (as in this test): nothing to rewrite.
    const refusal = 'Requires read access to "/x", run again with the --allow-read flag';
    assert.equal(scopedReadError(new Deno.errors.NotCapable(refusal)), undefined);
    assert.equal(await runScript(["--allow-read"], source), "read\nread\nnone");
    // The project not readable either: not the task's scope, Deno's own message stands.
    const flags = [`--allow-read=${PROJECT_ROOT}/lib/cli`];
    assert.equal(await runScript(flags, source), "none: NotCapable\nnone: Error\nnone");
  });
});
