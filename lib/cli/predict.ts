/**
 * `deno run -A lib/cli/predict.ts [--model DIR] [--json] [--backend wasm|cpu] [TEXT...]`:
 * tags raw text with a model folder and lists the entities it finds.
 *
 * Input: the positional arguments joined by spaces form one text; without them, stdin is read
 * (UTF-8, invalid bytes are an error) and every line is one document.
 *
 * Output: a Word | Tag | p table and an entity table per document. With `--json`, stdout holds
 * one JSON object: `{"tokens": [...], "entities": [...]}` for a text given as arguments, or
 * `{"documents": [{"line", "text", "tokens", "entities"}, ...]}` for stdin (always, even for a
 * single line, so the shape depends only on where the text came from). Tokens are
 * `{text, start, end, tag, probability}`, entities `{text, type, start, end, score}`, offsets
 * being UTF-16 code unit indices into the document (JavaScript string indices).
 *
 * Exit codes: 0 ok, 1 runtime error (missing model, bad input), 2 usage error.
 *
 * @module
 */
// Registers the custom FastBiLSTM layer class so saved BiLSTM models load.
import "../model/bilstm.ts";
import {
  type BackendInfo,
  type BackendName,
  describeBackend,
  initBackend,
} from "../backend/backend.ts";
import { type LoadedModel, loadModelFolder } from "../io/ensemble_folder.ts";
import { predictTexts, type TextPrediction } from "../predict/predict.ts";
import { formatTable } from "../plot/table.ts";
import {
  BACKEND_FLAG,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseFlags,
  parseThreads,
  reportUsageErrors,
  THREADS_FLAG,
  UsageError,
} from "./_args.ts";

/** The shipped reference model folder, used when `--model` is not given. */
export const DEFAULT_MODEL_DIR: string = decodeURIComponent(
  new URL("../../data/model", import.meta.url).pathname,
);

const FLAGS = {
  model: {
    type: "string",
    value: "DIR",
    help: "model folder or run folder (default the shipped data/model)",
  },
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  ...BACKEND_FLAG,
  ...THREADS_FLAG,
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task predict",
  synopsis: "[options] [TEXT...]",
  flags: FLAGS,
  notes: ["TEXT: one document; without it, every line of stdin is one document"],
});

/**
 * Initialises the backend and loads a model folder, with the messages a CLI user needs: when
 * `--model` was not given and the shipped model is missing, says how to get one.
 *
 * @param model the `--model` value, or undefined for the default model
 * @param backend the backend options
 * @param defaultDirectory the default model folder, {@linkcode DEFAULT_MODEL_DIR}
 * @returns the loaded model and the backend that runs it
 * @throws {Error} with a message fit for the user
 */
export async function loadModelForCli(
  model: string | undefined,
  backend: { backend: BackendName; threads: number | "auto" },
  defaultDirectory: string = DEFAULT_MODEL_DIR,
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
  return { loaded: await loadModelFolder(directory), backend: info };
}

/**
 * Reads all of stdin as strict UTF-8.
 *
 * @returns the text
 * @throws {Error} when the bytes are not valid UTF-8
 */
export async function readStdinUtf8(): Promise<string> {
  const bytes = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("stdin is not valid UTF-8: convert the text to UTF-8 first (e.g. with iconv)");
  }
}

/** Splits stdin text into one document per line (a final newline does not add a document). */
export function documentsFromLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
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

/** What the command runs with. */
interface PredictCommand {
  model: string | undefined;
  json: boolean;
  backend: { backend: BackendName; threads: number | "auto" };
  /** The text given as arguments, or undefined to read stdin. */
  text: string | undefined;
}

/** Parses the command line; undefined for `--help`. */
function parsePredictCommand(args: string[]): PredictCommand | undefined {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return undefined;
  const backend = { backend: parseBackend(values.backend), threads: parseThreads(values.threads) };
  const text = positionals.length === 0 ? undefined : positionals.join(" ");
  if (text === undefined && Deno.stdin.isTerminal()) {
    throw new UsageError("no text given and stdin is a terminal");
  }
  return { model: values.model, json: values.json, backend, text };
}

/** Tags the text (or stdin's lines) and prints the result; returns the exit code. */
async function runPrediction(command: PredictCommand): Promise<number> {
  try {
    const fromStdin = command.text === undefined;
    const texts = command.text === undefined
      ? documentsFromLines(await readStdinUtf8())
      : [command.text];
    const { loaded, backend } = await loadModelForCli(command.model, command.backend);
    console.error(`model ${loaded.directory} · ${describeBackend(backend)}`);
    const predictions = predictTexts(loaded, texts);
    if (command.json) {
      const output = fromStdin
        ? {
          documents: predictions.map((prediction, index) => ({
            line: index + 1,
            text: texts[index],
            ...prediction,
          })),
        }
        : predictions[0];
      console.log(JSON.stringify(output));
    } else {
      predictions.forEach((prediction, index) => {
        if (fromStdin) console.log(`${index > 0 ? "\n" : ""}Line ${index + 1}:`);
        console.log(formatPrediction(prediction));
      });
    }
    return 0;
  } catch (error) {
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
  return await reportUsageErrors(USAGE, async () => {
    const command = parsePredictCommand(args);
    if (command === undefined) {
      console.log(USAGE);
      return 0;
    }
    return await runPrediction(command);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
