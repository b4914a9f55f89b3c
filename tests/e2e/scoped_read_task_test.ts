/**
 * `deno task predict` and `deno task serve` read only the project folder and the paths given on
 * the command line (lib/cli/_scoped_read.ts starts the CLI in a child with those reads), run as a
 * user runs them:
 *
 * - a `--model` outside the project, given as a symbolic link to a copy of `data/model-fast`,
 *   tags; the running child's own command line (read from `/proc`, so Linux only) allows reading
 *   the project, the link and the copy, nothing else, and a script run with exactly the child's
 *   flags cannot read an unrelated file while it can read the model;
 * - SIGINT (predict) and SIGTERM (serve, which drains) sent to the launcher reach the child;
 * - `--help` works, and every flag its usage shows with a path value is one the launcher scopes;
 * - a `--model` that does not exist gets the CLI's own message; a read outside the scope (the
 *   CLI run with reads limited to the project, a model folder elsewhere) is one line naming the
 *   path, without a stack trace.
 *
 * (Deno checks a read against the path as written, symbolic links not followed, so a link inside
 * an allowed folder is not what this scope stops: the model loaders refuse a link out of the
 * model folder themselves, see tests/model_files_safety_test.ts.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { PATH_FLAGS, PROJECT_ROOT } from "../../lib/cli/_scoped_read.ts";
import { runTask } from "../fixtures/task.ts";
import { withTempDir } from "../fixtures/temp_dir.ts";
import { waitFor, within } from "../fixtures/wait.ts";

const LINUX = Deno.build.os === "linux";

/** Copies a folder tree (plain files and folders). */
async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** A model folder outside the project: `link` (a symbolic link) to `copy` of data/model-fast. */
interface OutsideModel {
  link: string;
  copy: string;
  /** A file beside them that the task is not given. */
  unrelated: string;
}

/** Runs `body` with an {@linkcode OutsideModel} in a temporary folder. */
async function withOutsideModel(body: (model: OutsideModel) => Promise<void>): Promise<void> {
  await withTempDir(async (tmp) => {
    const root = await Deno.realPath(tmp);
    const model = { link: `${root}/link`, copy: `${root}/copy`, unrelated: `${root}/unrelated` };
    await copyFolder(`${PROJECT_ROOT}/data/model-fast`, model.copy);
    await Deno.symlink(model.copy, model.link);
    await Deno.writeTextFile(model.unrelated, "not the task's to read");
    await body(model);
  });
}

/** The parent of each process (Linux `/proc/PID/stat`). */
async function parents(): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // PID (COMMAND) STATE PPID …; the command may hold spaces and parentheses.
      found.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // It exited meanwhile.
    }
  }
  return found;
}

/** The command line of a process (Linux `/proc/PID/cmdline`). */
async function commandLine(pid: number): Promise<string[]> {
  return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").slice(0, -1);
}

/** The descendant of `ancestor` that runs `script`, once there is one. */
async function descendantRunning(ancestor: number, script: string): Promise<number> {
  let found = 0;
  await waitFor(`a process under ${ancestor} running ${script}`, async () => {
    const parentOf = await parents();
    for (const pid of parentOf.keys()) {
      let up = parentOf.get(pid);
      while (up !== undefined && up !== ancestor && up > 1) up = parentOf.get(up);
      if (up !== ancestor) continue;
      const words = await commandLine(pid).catch((): string[] => []);
      if (words.includes(script) && words.includes("run")) found = pid;
    }
    return found !== 0;
  });
  return found;
}

/**
 * Checks a running child of the launcher: its reads are the project, the model's link and the
 * model's copy, and a script run with exactly its flags may read the model but not `unrelated`.
 *
 * @returns the child's permission flags
 */
async function checkChildReads(pid: number, model: OutsideModel): Promise<string[]> {
  const words = await commandLine(pid);
  const script = words.findIndex((word) => word.startsWith(`${PROJECT_ROOT}/lib/cli/`));
  const flags = words.slice(words.indexOf("run") + 1, script);
  const reads = flags.filter((flag) => /^(--allow-read|-R|--allow-all|-A)\b/.test(flag));
  assert.deepEqual(reads, [`--allow-read=${PROJECT_ROOT},${model.link},${model.copy}`]);
  assert.ok(flags.includes("--no-prompt"), "a refused read is an error, never a prompt");
  const probe = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "-"],
    cwd: PROJECT_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = probe.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`
    const report = {};
    for (const path of ${JSON.stringify([model.unrelated, `${model.link}/ensemble.json`])}) {
      try { Deno.readTextFileSync(path); report[path] = "ok"; }
      catch (error) { report[path] = error.name; }
    }
    console.log(JSON.stringify(report));
  `));
  await writer.close();
  const output = await probe.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), {
    [model.unrelated]: "NotCapable",
    [`${model.link}/ensemble.json`]: "ok",
  });
  return flags;
}

/** Reads a stream to its end into a string, calling `onText` with the text so far. */
async function collect(stream: ReadableStream<Uint8Array>, onText: (text: string) => void) {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) onText(text += chunk);
  return text;
}

/** Whether a process is still there (a zombie counts as gone). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Kills what is left of a failed check: a task and every process under it. */
async function killTree(root: number): Promise<void> {
  const parentOf = await parents();
  const under = (pid: number): boolean => {
    const up = parentOf.get(pid);
    return up === root || (up !== undefined && up > 1 && under(up));
  };
  for (const pid of [...[...parentOf.keys()].filter(under), root]) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
}

Deno.test({
  name:
    "deno task predict tags with a --model outside the project, and its child reads nothing else",
  ignore: !LINUX,
  fn: () =>
    withOutsideModel(async (model) => {
      const task = new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "predict", "--model", model.link, "--jsonl"],
        cwd: PROJECT_ROOT,
        env: { NO_COLOR: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const { promise: tagged, resolve } = Promise.withResolvers<void>();
      const stdout = collect(task.stdout, (text) => text.includes("\n") && resolve());
      const stderr = collect(task.stderr, () => {});
      const writer = task.stdin.getWriter();
      let child = 0;
      try {
        child = await descendantRunning(task.pid, `${PROJECT_ROOT}/lib/cli/predict.ts`);
        assert.deepEqual((await checkChildReads(child, model)).slice(0, 2), [
          "--no-prompt",
          "--deny-net",
        ]);
        // stdin stays open: the line is tagged when its batch pauses.
        await writer.write(new TextEncoder().encode("Angela Merkel visited Paris.\n"));
        await within(Promise.race([tagged, task.status]), "the line's document");
        const launcher = (await parents()).get(child)!;
        assert.notEqual(launcher, task.pid, "the child runs under the launcher");
        Deno.kill(launcher, "SIGINT");
        const status = await within(task.status, "deno task predict to exit after SIGINT");
        assert.equal(status.code, 130, `the child's SIGINT exit (128 + 2)\n${await stderr}`);
        assert.ok(!(await alive(child)), "the launcher passed SIGINT on to its child");
        const document = JSON.parse(await stdout) as { entities: { text: string }[] };
        assert.deepEqual(document.entities.map((e) => e.text), ["Angela Merkel", "Paris"]);
        assert.match(await stderr, new RegExp(`^model ${model.link} · `, "m"));
        assert.doesNotMatch(await stderr, /NotCapable|Requires read access|error/);
        await writer.close().catch(() => {});
      } catch (error) {
        await killTree(task.pid);
        await writer.close().catch(() => {});
        await task.status;
        await Promise.allSettled([stdout, stderr]);
        throw error;
      }
    }),
});

Deno.test({
  name:
    "deno task serve serves a --model outside the project, its child reads nothing else, and SIGTERM to the launcher drains it",
  ignore: !LINUX,
  fn: () =>
    withOutsideModel(async (model) => {
      const task = new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "serve", "--model", model.link, "--port", "0", "--workers", "1"],
        cwd: PROJECT_ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const { promise: urlSeen, resolve } = Promise.withResolvers<string>();
      const stdout = collect(task.stdout, (text) => {
        const url = /listening on (http:\/\/\S+)\n/.exec(text)?.[1];
        if (url) resolve(url);
      });
      let pid = 0;
      const stderr = collect(task.stderr, (text) => {
        pid ||= Number(/ · pid (\d+)\n/.exec(text)?.[1] ?? 0);
      });
      try {
        const url = await within(
          Promise.race([urlSeen, task.status.then(() => "")]),
          "deno task serve to listen",
        );
        if (url === "") assert.fail(`deno task serve exited early:\n${await stderr}`);
        const response = await fetch(`${url}v1/ner`, {
          method: "POST",
          body: JSON.stringify({ text: "Angela Merkel visited Paris." }),
        });
        assert.equal(response.status, 200);
        const body = await response.json() as { documents: { entities: { type: string }[] }[] };
        assert.deepEqual(body.documents[0].entities.map((e) => e.type), ["per", "geo"]);
        const flags = await checkChildReads(pid, model);
        assert.deepEqual(flags.slice(0, 2), [
          "--no-prompt",
          "--allow-net=127.0.0.1,[::1],localhost",
        ]);
        const launcher = (await parents()).get(pid)!;
        assert.notEqual(launcher, task.pid, "the server runs under the launcher");
        Deno.kill(launcher, "SIGTERM");
        const status = await within(task.status, "deno task serve to exit after SIGTERM");
        const errors = await stderr;
        assert.equal(status.code, 0, errors);
        assert.match(errors, /SIGTERM: stopping; finishing 0 request\(s\) in flight\nstopped\n/);
        assert.doesNotMatch(errors, /NotCapable|Requires read access|error/);
        await stdout;
      } catch (error) {
        await killTree(task.pid);
        await task.status;
        await Promise.allSettled([stdout, stderr]);
        throw error;
      }
    }),
});

Deno.test("--help works through the tasks, and every path flag it lists is scoped", async () => {
  for (const name of ["predict", "serve"]) {
    const help = await runTask(name, "--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: deno task ${name} `));
    const pathFlags = [...help.stdout.matchAll(/^\s+--([\w-]+) (?:DIR|FILE|PATH)\b/gm)]
      .map((match) => match[1]);
    assert.ok(pathFlags.includes("model"), `${name} --help lists --model DIR`);
    assert.deepEqual(pathFlags, PATH_FLAGS[`lib/cli/${name}.ts`], `${name}: path flags`);
  }
});

Deno.test("a --model that does not exist gets the CLI's own message through the task", async () => {
  await withTempDir(async (tmp) => {
    const missing = `${await Deno.realPath(tmp)}/no-such-model`;
    for (const name of ["predict", "serve"]) {
      const args = name === "predict" ? ["Angela Merkel"] : ["--port", "0"];
      const run = await runTask(name, "--model", missing, ...args);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, `error: ${missing}: model folder not found\n`, name);
    }
  });
});

Deno.test("a read outside the scope is one line naming the path, no stack trace", async () => {
  await withOutsideModel(async (model) => {
    const scripts = {
      predict: ["--deny-net", "lib/cli/predict.ts", "--model", model.copy, "Angela Merkel"],
      serve: ["--allow-net=127.0.0.1", "lib/cli/serve.ts", "--model", model.copy, "--port", "0"],
    };
    for (const [name, args] of Object.entries(scripts)) {
      // The CLI run with the task's reads, but without the path: what a path the launcher did
      // not list would meet.
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", `--allow-read=${PROJECT_ROOT}`, ...args],
        cwd: PROJECT_ROOT,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 1, `${name}: ${stderr}`);
      assert.equal(
        stderr,
        `error: ${model.copy}: not readable: reads are limited to the project folder ` +
          `(${PROJECT_ROOT}) and the paths given on the command line\n`,
        name,
      );
    }
  });
});
