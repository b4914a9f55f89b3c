/**
 * Tests of the CLIs' shared flag parsing (lib/cli/_args.ts): value parsers, strict parsing,
 * the usage format, translating config errors into flag errors, and that every CLI answers a
 * bad `--backend` with exit code 2 and a message naming the flag.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  closestFlag,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseChoice,
  parseFlags,
  parseInteger,
  parseNumber,
  parseOptional,
  parsePositiveInteger,
  parsePositiveNumber,
  parseRate,
  parseThreads,
  reportUsageErrors,
  UsageError,
  usageErrorFromConfig,
} from "../lib/cli/_args.ts";
import { ConfigError } from "../lib/errors.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

/** Asserts that `run` throws a {@linkcode UsageError} whose message matches `message`. */
function assertUsageError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UsageError, `a UsageError, not ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseInteger takes digits with an optional minus sign, nothing else", () => {
  assert.equal(parseInteger("--seed", "42"), 42);
  assert.equal(parseInteger("--seed", "-7"), -7);
  assert.equal(parseInteger("--seed", "007"), 7);
  for (const bad of ["1e3", "1.5", "1.0", "", "abc", "0x10", " 3", "3 ", "+3", "-", "Infinity"]) {
    assert.throws(() => parseInteger("--seed", bad), {
      name: "UsageError",
      message: `--seed must be an integer, got ${JSON.stringify(bad)}`,
    });
  }
  assertUsageError(() => parseInteger("--seed", "9".repeat(20)), /--seed is too large/);
  assert.equal(parseInteger("--warmup", "0", 0), 0);
  assertUsageError(() => parseInteger("--warmup", "-1", 0), /--warmup must be an integer >= 0/);
});

Deno.test("parsePositiveInteger rejects 0, negatives and anything but digits", () => {
  assert.equal(parsePositiveInteger("--limit", "40"), 40);
  for (const bad of ["0", "-3", "1e3", "1.5", "", "ten"]) {
    assertUsageError(
      () => parsePositiveInteger("--limit", bad),
      /^--limit must be a positive integer, got ".*"$/,
    );
  }
  assertUsageError(() => parsePositiveInteger("--epochs", "abc"), /got "abc"/);
});

Deno.test("parseNumber takes finite decimals; parseRate only [0, 1); parsePositiveNumber > 0", () => {
  assert.equal(parseNumber("--learning-rate", "0.002"), 0.002);
  assert.equal(parseNumber("--learning-rate", ".5"), 0.5);
  assert.equal(parseNumber("--learning-rate", "3e-4"), 3e-4);
  assert.equal(parseNumber("--learning-rate", "-1"), -1);
  for (const bad of ["", "abc", "0x10", "Infinity", "NaN", "1e999", " 1", "1,5", "1e"]) {
    assertUsageError(() => parseNumber("--dropout", bad), /^--dropout must be a number, got/);
  }
  assert.equal(parseNumber("--dropout", "1."), 1);
  assert.equal(parseRate("--dropout", "0"), 0);
  assert.equal(parseRate("--dropout", "0.5"), 0.5);
  assertUsageError(() => parseRate("--dropout", "1"), /^--dropout must be in \[0, 1\), got "1"$/);
  assertUsageError(
    () => parseRate("--dropout", "-0.1"),
    /--dropout must be in \[0, 1\), got "-0.1"/,
  );
  assertUsageError(() => parseRate("--dropout", "x"), /--dropout must be a number/);
  assert.equal(parsePositiveNumber("--timeout", "1.5"), 1.5);
  assertUsageError(
    () => parsePositiveNumber("--timeout", "0"),
    /--timeout must be a positive number/,
  );
});

Deno.test("choices, --backend and --threads have one definition each", () => {
  assert.equal(parseChoice("--split", "validation", ["test", "validation"]), "validation");
  assertUsageError(
    () => parseChoice("--split", "train", ["test", "validation"]),
    /^--split must be test or validation, got "train"$/,
  );
  assertUsageError(() => parseChoice("--x", "d", ["a", "b", "c"]), /--x must be one of a, b, c/);
  assert.equal(parseBackend("cpu"), "cpu");
  assertUsageError(() => parseBackend("gpu"), /^--backend must be wasm or cpu, got "gpu"$/);
  assert.equal(parseThreads("auto"), "auto");
  assert.equal(parseThreads("2"), 2);
  for (const bad of ["0", "1e3", "-1", "two", ""]) {
    assertUsageError(() => parseThreads(bad), /^--threads must be a positive integer or auto/);
  }
  assert.equal(parseOptional("--limit", undefined, parsePositiveInteger), undefined);
  assert.equal(parseOptional("--limit", "3", parsePositiveInteger), 3);
});

const FLAGS = {
  epochs: { type: "string", value: "N", help: "epochs (default 5)" },
  json: { type: "boolean", default: false, help: "print one JSON object\non stdout" },
  ...HELP_FLAG,
} as const;

Deno.test("parseFlags is strict and names the flag in its errors", () => {
  const { values } = parseFlags(["--epochs", "3", "--json"], FLAGS);
  assert.deepEqual({ ...values }, { epochs: "3", json: true, help: false });
  assert.equal(parseFlags(["-h"], FLAGS).values.help, true);
  assert.deepEqual(parseFlags(["--json", "a", "b"], FLAGS, true).positionals, ["a", "b"]);
  assertUsageError(() => parseFlags(["--colour", "red"], FLAGS), /^unknown flag --colour$/);
  assertUsageError(() => parseFlags(["-x"], FLAGS), /^unknown flag -x$/);
  assertUsageError(() => parseFlags(["--epochs"], FLAGS), /^--epochs needs a value$/);
  assertUsageError(() => parseFlags(["--epochs", "--json"], FLAGS), /^--epochs needs a value/);
  assertUsageError(() => parseFlags(["--json=yes"], FLAGS), /^--json takes no value$/);
  assertUsageError(() => parseFlags(["stray"], FLAGS), /unexpected argument stray/);
});

Deno.test("formatUsage renders every CLI's usage the same way", () => {
  assert.equal(
    formatUsage({ command: "deno task x", flags: FLAGS, notes: ["a note"] }),
    [
      "usage: deno task x [options]",
      "  --epochs N  epochs (default 5)",
      "  --json      print one JSON object",
      "              on stdout",
      "  -h, --help  show this help",
      "a note",
    ].join("\n"),
  );
  assert.match(
    formatUsage({ command: "deno task y", synopsis: "[options] [TEXT...]", flags: {} }),
    /^usage: deno task y \[options\] \[TEXT\.\.\.\]$/,
  );
});

Deno.test("usageErrorFromConfig names the flag of a ConfigError's field", () => {
  const table = {
    epochs: "--epochs",
    learningRate: "--learning-rate",
    countPadding: "--count-padding",
    "model.units": "--units",
    "model.charFeatures": "--char-features",
    "model.charWidth": "--char-width",
  };
  const units = new ConfigError("model.units", "must be a positive integer", 0);
  assert.equal(
    usageErrorFromConfig(units, table, { units: "0" })?.message,
    '--units must be a positive integer, got "0"',
  );
  assert.ok(usageErrorFromConfig(units, table) instanceof UsageError);
  assert.equal(
    usageErrorFromConfig(units, table)?.message,
    "--units must be a positive integer, got 0",
  );
  const needs = new ConfigError("model.charWidth", "needs charFeatures", 5);
  assert.equal(
    usageErrorFromConfig(needs, table, { "char-width": "5" })?.message,
    '--char-width needs --char-features, got "5"',
  );
  const crf = new ConfigError("countPadding", "cannot be used with a bilstm-crf model", true);
  assert.equal(
    usageErrorFromConfig(crf, table, { "count-padding": true })?.message,
    "--count-padding cannot be used with a bilstm-crf model",
  );
  // A field without a flag keeps its name: still a usage error.
  assert.match(
    usageErrorFromConfig(new ConfigError("maxLen", "must be a positive integer", 0), table)!
      .message,
    /^maxLen must be a positive integer/,
  );
});

Deno.test("usageErrorFromConfig reads a plain RangeError that starts with a config key", () => {
  const table = { epochs: "--epochs", learningRate: "--learning-rate" };
  assert.equal(
    usageErrorFromConfig(
      new RangeError("learningRate must be a positive number, got 0"),
      table,
      { "learning-rate": "0" },
    )?.message,
    '--learning-rate must be a positive number, got "0"',
  );
  assert.equal(
    usageErrorFromConfig(new RangeError("epochs must be a positive integer, got 0"), table)
      ?.message,
    "--epochs must be a positive integer, got 0",
  );
  assert.equal(usageErrorFromConfig(new RangeError("offset out of bounds"), table), undefined);
  assert.equal(usageErrorFromConfig(new Error("epochs must be positive"), table), undefined);
  assert.equal(usageErrorFromConfig("epochs", table), undefined);
});

Deno.test("reportUsageErrors prints the message and where --help is, returns 2; other errors pass", async () => {
  const { result, errors } = await withCapturedConsole(() =>
    reportUsageErrors("usage: deno task x", () => {
      throw new UsageError("--x must be a number");
    })
  );
  assert.equal(result, 2);
  assert.deepEqual(errors, ["error: --x must be a number\n(deno task x --help lists the flags)"]);
  assert.equal(await reportUsageErrors("usage", () => 0), 0);
  assert.equal(await reportUsageErrors("usage", () => Promise.resolve(1)), 1);
  await assert.rejects(
    reportUsageErrors("usage", () => {
      throw new TypeError("a bug");
    }),
    TypeError,
  );
});

/** Every CLI, by file: each exports `main(args)` returning the exit code. */
const CLIS = {
  train: () => import("../lib/cli/train.ts"),
  evaluate: () => import("../lib/cli/evaluate.ts"),
  predict: () => import("../lib/cli/predict.ts"),
  export: () => import("../lib/cli/export.ts"),
  bench: () => import("../lib/cli/bench.ts"),
  env: () => import("../lib/cli/env.ts"),
  stats: () => import("../lib/cli/stats.ts"),
  notebooks: () => import("../lib/cli/notebooks.ts"),
};

/** The CLIs with a `--backend` flag; the others reject it as an unknown flag. */
const WITH_BACKEND = new Set(["train", "evaluate", "predict", "env"]);

for (const [name, load] of Object.entries(CLIS)) {
  Deno.test(`the ${name} CLI answers --backend nope with exit code 2, naming --backend`, async () => {
    const { main } = await load();
    const { result, logs, errors } = await withCapturedConsole(() =>
      main(["--backend", "nope", "--json"])
    );
    assert.equal(result, 2);
    assert.deepEqual(logs, []);
    assert.equal(errors.length, 1, errors.join("\n"));
    const expected = WITH_BACKEND.has(name)
      ? /^error: --backend must be wasm or cpu, got "nope"\n/
      : /^error: unknown flag --backend\n/;
    assert.match(errors[0], expected);
    assert.match(errors[0], new RegExp(`\\n\\(deno task ${name} --help lists the flags\\)$`));
    assert.equal(errors[0].split("\n").length, 2, "the error and the --help pointer only");
    assert.doesNotMatch(errors[0], /\n\s+at /, "no stack trace");
  });
}

Deno.test("a mistyped flag gets a 'did you mean' and no usage dump", async () => {
  assert.equal(closestFlag("--epoch", ["epochs", "limit", "seed"]), "--epochs");
  assert.equal(closestFlag("--trian", ["train", "dev"]), "--train");
  assert.equal(closestFlag("--jsnl", ["json", "jsonl"]), "--jsonl");
  assert.equal(closestFlag("--lr", ["learning-rate", "limit"]), undefined, "not close");
  assert.equal(closestFlag("--learning", ["learning-rate", "limit"]), "--learning-rate");
  const { main: trainMain } = await CLIS.train();
  const { result, errors } = await withCapturedConsole(() => trainMain(["--epoch", "1"]));
  assert.equal(result, 2);
  assert.deepEqual(errors, [
    "error: unknown flag --epoch (did you mean --epochs?)\n(deno task train --help lists the flags)",
  ]);
});
