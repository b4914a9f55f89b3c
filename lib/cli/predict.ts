/**
 * `deno run -A lib/cli/predict.ts [--model DIR] [--json | --jsonl] [--offsets utf16|codepoints]
 * [--backend wasm|cpu] [--workers N|auto] [TEXT...]`: tags raw text with a model folder and
 * lists the entities it finds.
 *
 * Input: the positional arguments joined by spaces form one text; without them, stdin is read
 * as a stream (UTF-8; a line that is not valid UTF-8 is an error naming it) and every line is one
 * document. Lines are tagged in batches (256 lines, or 64 KiB of text) as they arrive and each
 * batch is written before the next is read, so memory stays bounded however long the input is,
 * and a pause in the input flushes the lines read so far. A line may hold up to 64 KiB of UTF-8
 * ({@linkcode MAX_LINE_BYTES}, about 10,000 words); a longer one is not tagged and not held (its
 * bytes are dropped as they arrive): its output is `{"line": N, "error": "line longer than
 * 64 KiB: … bytes; not tagged"}` (an `error:` line in the table), the lines after it are
 * tagged, and the command exits 1 naming the first such line.
 *
 * Memory: with `--workers auto` (the default) stdin is tagged within 500 MB of resident memory
 * ({@linkcode STREAM_MEMORY_BUDGET}) whatever its size: a long input (a full first batch) is
 * tagged on a prediction pool (lib/predict/pool.ts) only with as many workers as fit in that
 * budget beside the loaded model, at most one per core; with the shipped model none fits (a
 * worker holds its own copy of the model, about 350 MB when busy), so it is tagged on this
 * thread, whose projection tables are capped at {@linkcode STREAM_TABLE_BYTES} per tagger.
 * `--workers N` asks for N workers whatever the memory (faster on several cores), `--workers 1`
 * tags on this thread. The results are the same either way. `--threads auto` means one wasm
 * thread for stdin (more threads speed up the matMuls only, about 4%, for about 40 MB more).
 *
 * Output: a Word | Tag | p table and an entity table per document. With `--json`, stdout holds
 * one JSON object: `{"tokens": [...], "entities": [...]}` for a text given as arguments, or
 * `{"documents": [{"line", "text", "tokens", "entities"}, ...]}` for stdin (always, even for a
 * single line, so the shape depends only on where the text came from). With `--jsonl`, stdout
 * holds one JSON object per input line, `{"line", "text", "tokens", "entities"}` (one element of
 * `--json`'s `documents`), in input order, written as each batch completes; an empty line gives
 * a document without tokens. Tokens are `{text, start, end, tag, probability}`, entities
 * `{text, type, start, end, score}`. Offsets index the document in UTF-16 code units (JavaScript
 * string indices) by default, or in code points (Python string indices) with
 * `--offsets codepoints`. Emoji and other symbols are tagged `O` and are never in an entity;
 * words are looked up in Unicode NFC (see `lib/data/text.ts`).
 *
 * On an error part-way through stdin the documents before it have been written (for `--json`
 * the object is left unterminated, never silently cut short) and the exit code is 1.
 *
 * Exit codes: 0 ok, 1 runtime error (missing model, bad input), 2 usage error.
 *
 * @module
 */
// Registers the custom FastBiLSTM layer class so saved BiLSTM models load.
import { SHIPPED_MODEL } from "../io/runs.ts";
import type { CheckpointChoice } from "../io/model_folder.ts";
import "../model/bilstm/mod.ts";
import {
  type BackendInfo,
  type BackendName,
  describeBackend,
  initBackend,
} from "../backend/backend.ts";
import { type LoadedModel, loadModelFolder, type LoadModelOptions } from "../io/ensemble_folder.ts";
import { OFFSET_UNITS, type OffsetUnit } from "../predict/predict.ts";
import { predictTexts, prepareTexts, type TextPrediction } from "../predict/predict_text.ts";
import { isCaseless } from "../data/recase.ts";
import { formatBytes, LongLine, MAX_LINE_BYTES, readLineBatches } from "../predict/stream.ts";
import { setMaxTableBytes } from "../model/_projection_cache.ts";
import { poolForJob, type PredictPool } from "../predict/pool.ts";
import { formatTable } from "../plot/table.ts";
import {
  BACKEND_FLAG,
  CHECKPOINT_FLAG,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseCheckpoint,
  parseChoice,
  parseFlags,
  parseThreads,
  parseWorkers,
  runCommand,
  THREADS_FLAG,
  UsageError,
  WORKERS_FLAG,
} from "./_args.ts";
import { scopedReadError } from "./_scoped_read.ts";

const FLAGS = {
  model: {
    type: "string",
    value: "DIR",
    help: "model folder or run folder (default the shipped data/model)",
  },
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  jsonl: {
    type: "boolean",
    default: false,
    help: "print one JSON object per input line, as each batch of lines is tagged",
  },
  offsets: {
    type: "string",
    default: "utf16",
    value: "utf16|codepoints",
    help: "what start/end count: UTF-16 code units (JavaScript, default) or\n" +
      "code points (Python)",
  },
  ...CHECKPOINT_FLAG,
  ...BACKEND_FLAG,
  threads: {
    ...THREADS_FLAG.threads,
    help: "WASM threads (default auto: one per core for TEXT; 1 for stdin,\n" +
      "where more save little time and cost about 40 MB)",
  },
  workers: {
    ...WORKERS_FLAG.workers,
    help: "prediction workers for a long stdin, one thread each (default auto:\n" +
      "as many as fit in 500 MB, one per core at most; with the shipped\n" +
      "model none, so this thread; N: N workers whatever the memory;\n" +
      "1: this thread)",
  },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task predict",
  synopsis: "[options] [TEXT...]",
  flags: FLAGS,
  notes: [
    "TEXT: one document; without it, every line of stdin is one document (read as a stream)",
    `A stdin line may hold up to ${formatBytes(MAX_LINE_BYTES)} of UTF-8: a longer one is not ` +
    "tagged (its\n" +
    `  output is {"line": N, "error": "line longer than ${formatBytes(MAX_LINE_BYTES)}: ..."}, ` +
    "or an error line\n  in the table), the other lines are, and the command exits 1 naming it",
  ],
});

/**
 * Initialises the backend and loads a model folder, with the messages a CLI user needs: when
 * `--model` was not given and the shipped model is missing, says how to get one.
 *
 * @param model the `--model` value, or undefined for the default model
 * @param backend the backend options
 * @param defaultDirectory the default model folder, {@linkcode SHIPPED_MODEL}
 * @returns the loaded model and the backend that runs it
 * @throws {Error} with a message fit for the user (a read refused by the task's scope names the
 *   path and what may be read)
 */
export async function loadModelForCli(
  model: string | undefined,
  backend: { backend: BackendName; threads: number | "auto" },
  defaultDirectory: string = SHIPPED_MODEL,
  load: LoadModelOptions = {},
): Promise<{ loaded: LoadedModel; backend: BackendInfo }> {
  const directory = model ?? defaultDirectory;
  if (model === undefined) {
    try {
      await Deno.stat(directory);
    } catch {
      throw new Error(
        `no model at ${directory}: train one with deno task train or pass --model`,
      );
    }
  }
  const info = await initBackend(backend);
  try {
    return { loaded: await loadModelFolder(directory, load), backend: info };
  } catch (error) {
    // A read refused by `deno task`'s scope (lib/cli/_scoped_read.ts) says what may be read.
    throw scopedReadError(error) ?? error;
  }
}

/** Formats one document's prediction as a token table and an entity table. */
export function formatPrediction(prediction: TextPrediction): string {
  if (prediction.tokens.length === 0) return "(no tokens)";
  const tokens = formatTable(
    ["Word", "Tag", "p"],
    prediction.tokens.map((token) => [token.text, token.tag, token.probability.toFixed(3)]),
  );
  const entities = prediction.entities.length === 0 ? "Entities: none" : "Entities:\n" +
    formatTable(
      ["entity", "type", "start", "end", "score"],
      prediction.entities.map((e) => [e.text, e.type, e.start, e.end, e.score.toFixed(3)]),
    );
  return `${tokens}\n\n${entities}`;
}

/**
 * Rows (sentence windows) per forward pass. The WebAssembly heap grows to the largest pass and
 * never shrinks: with the shipped 4-member ensemble, passes of 256 rows peak near 620 MB, passes
 * of 64 near 400 MB, at about the same speed.
 */
const FORWARD_ROWS = 64;

/** Lines tagged (and written) together when stdin is read as a stream. */
const BATCH_LINES = 256;

/**
 * The resident memory that tagging stdin stays under with `--workers auto`: 500 MiB. The pool
 * gets only as many workers as fit beside the loaded model (lib/predict/pool.ts,
 * `workersWithinBudget`).
 */
export const STREAM_MEMORY_BUDGET = 500 * 2 ** 20;

/**
 * The cap of each tagger's projection table (lib/model/_projection_cache.ts) when stdin is
 * tagged on this thread: 8 MiB, about 1,300 distinct tokens of a 200-unit tagger (the table
 * keeps the most used ones when full). With the shipped model's four taggers, 32 MiB in all
 * rather than 256 MiB.
 */
export const STREAM_TABLE_BYTES = 8 * 2 ** 20;

/** How the documents are printed. */
type OutputFormat = "table" | "json" | "jsonl";

/** What the command runs with. */
interface PredictCommand {
  model: string | undefined;
  format: OutputFormat;
  offsets: OffsetUnit;
  backend: { backend: BackendName; threads: number | "auto" };
  /** Prediction workers for a long stdin (lib/predict/pool.ts). */
  workers: number | "auto";
  /** The text given as arguments, or undefined to read stdin. */
  text: string | undefined;
  /** Which checkpoint of a run folder. */
  checkpoint: CheckpointChoice;
}

/** Parses the command line; undefined for `--help`. */
function parsePredictCommand(args: string[]): PredictCommand | undefined {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return undefined;
  if (values.json && values.jsonl) throw new UsageError("--json and --jsonl exclude each other");
  const backend = { backend: parseBackend(values.backend), threads: parseThreads(values.threads) };
  const offsets = parseChoice("--offsets", values.offsets, OFFSET_UNITS);
  const text = positionals.length === 0 ? undefined : positionals.join(" ");
  if (text === undefined && Deno.stdin.isTerminal()) {
    throw new UsageError("no text given and stdin is a terminal");
  }
  const format = values.json ? "json" : values.jsonl ? "jsonl" : "table";
  const workers = parseWorkers(values.workers);
  const checkpoint = parseCheckpoint(values.checkpoint);
  return { model: values.model, format, offsets, backend, workers, text, checkpoint };
}

/** One input line's document, as `--jsonl` prints it and `--json` lists it. */
interface LineDocument extends TextPrediction {
  line: number;
  text: string;
}

/** An input line that was not tagged (longer than {@linkcode MAX_LINE_BYTES}), and why. */
interface LineError {
  line: number;
  error: string;
}

const encoder = new TextEncoder();

/** Writes text to stdout whole, waiting for the pipe (backpressure). */
async function writeStdout(text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += await Deno.stdout.write(bytes.subarray(written));
  }
}

/** Writes stdin's documents batch by batch in one of the three formats. */
function documentWriter(format: OutputFormat): {
  write(documents: readonly (LineDocument | LineError)[]): Promise<void>;
  end(): Promise<void>;
} {
  let started = false;
  return {
    async write(documents) {
      if (documents.length === 0) return;
      let out: string;
      if (format === "jsonl") {
        out = documents.map((document) => JSON.stringify(document) + "\n").join("");
      } else if (format === "json") {
        // Written piecewise, the object is byte for byte JSON.stringify({ documents }).
        out = (started ? "," : '{"documents":[') +
          documents.map((document) => JSON.stringify(document)).join(",");
      } else {
        out = documents.map((document) =>
          `${document.line > 1 ? "\n" : ""}Line ${document.line}:\n${
            "error" in document ? `error: ${document.error}` : formatPrediction(document)
          }\n`
        ).join("");
      }
      started = true;
      await writeStdout(out);
    },
    async end() {
      if (format === "json") await writeStdout(`${started ? "" : '{"documents":['}]}\n`);
    },
  };
}

/** Loads the model (once) with the CLI's messages and reports it on stderr. */
function modelLoader(
  command: PredictCommand,
  load: LoadModelOptions = {},
): () => Promise<LoadedModel> {
  let loading: Promise<LoadedModel> | undefined;
  return () =>
    loading ??= loadModelForCli(command.model, command.backend, undefined, {
      checkpoint: command.checkpoint,
      ...load,
    }).then((
      { loaded, backend },
    ) => {
      console.error(`model ${loaded.directory} · ${describeBackend(backend)}`);
      return loaded;
    });
}

/**
 * Tags stdin line by line: each batch of lines is tagged and written before the next is read.
 * The model is loaded once the first batch has been read (so bad input is reported first). When
 * the first batch is full (a long input), the batches are tagged on a prediction pool if one
 * fits (`--workers`: see the module doc); else on this thread, its projection tables capped at
 * {@linkcode STREAM_TABLE_BYTES}. A line longer than {@linkcode MAX_LINE_BYTES} gets an error
 * object in its place, and once every line is written, the first one is reported as an error.
 */
async function predictStdin(command: PredictCommand): Promise<void> {
  setMaxTableBytes(STREAM_TABLE_BYTES);
  // One wasm thread unless asked for more: the recurrent sweep, most of the time, runs on
  // one thread whatever the count, and the threaded backend's memory is about 40 MB more.
  const threads = command.backend.threads === "auto" ? 1 : command.backend.threads;
  const load = modelLoader({ ...command, backend: { ...command.backend, threads } });
  const writer = documentWriter(command.format);
  let lines = 0;
  /** The first line over the cap and how many there were (not every one: memory stays bounded). */
  const long: { first: LongLine | null; count: number } = { first: null, count: 0 };
  let pool: PredictPool | null | undefined;
  const batches = readLineBatches(Deno.stdin.readable, {
    source: "stdin",
    batchLines: BATCH_LINES,
    maxLineBytes: MAX_LINE_BYTES,
  });
  try {
    for await (const batch of batches) {
      const loaded = await load();
      // Decided once, by the first batch (null: this thread; `??=` would ask again on null).
      if (pool === undefined) {
        pool = await poolForJob(loaded, {
          workers: command.workers,
          backend: command.backend.backend,
          items: batch.length,
          minItems: BATCH_LINES,
          memoryBudget: STREAM_MEMORY_BUDGET,
        });
      }
      const texts = batch.filter((item): item is string => typeof item === "string");
      const options = { offsets: command.offsets, batchSize: FORWARD_ROWS };
      const predictions = texts.length === 0
        ? []
        : pool
        ? await pool.predictTexts(texts, options)
        : predictTexts(loaded, texts, options);
      let next = 0;
      await writer.write(batch.map((item, index): LineDocument | LineError => {
        const line = lines + index + 1;
        if (item instanceof LongLine) {
          long.first ??= item;
          long.count++;
          return { line, error: item.message };
        }
        return { line, text: item, ...predictions[next++] };
      }));
      lines += batch.length;
    }
  } finally {
    await pool?.close();
  }
  await load();
  await writer.end();
  if (long.first !== null) {
    const more = long.count > 1 ? ` (${long.count} such lines)` : "";
    throw new Error(`stdin line ${long.first.line}: ${long.first.message}${more}`);
  }
}

/** Tags the text given as arguments and prints it. */
async function predictArguments(command: PredictCommand, text: string): Promise<void> {
  // A text without a caseless sentence needs no caseless members: not loading them saves about
  // a third of the default model's start-up.
  const caseless = prepareTexts([text]).sentences.some((words) => isCaseless(words));
  const loaded = await modelLoader(command, { caseless })();
  const [prediction] = predictTexts(loaded, [text], {
    offsets: command.offsets,
    batchSize: FORWARD_ROWS,
  });
  if (command.format === "json") console.log(JSON.stringify(prediction));
  else if (command.format === "jsonl") {
    console.log(JSON.stringify({ line: 1, text, ...prediction } satisfies LineDocument));
  } else console.log(formatPrediction(prediction));
}

/** Tags the text (or stdin's lines) and prints the result; returns the exit code. */
async function runPrediction(command: PredictCommand): Promise<number> {
  try {
    if (command.text === undefined) await predictStdin(command);
    else await predictArguments(command, command.text);
    return 0;
  } catch (error) {
    // A reader that closed stdout early (`| head`) wants no more: not an error.
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parsePredictCommand(args), runPrediction);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
