/**
 * `deno run --allow-read --allow-write=docs --allow-run=deno lib/cli/_results_page.ts [--check]`:
 * writes `docs/results.md` from `data/ablation.json` and the shipped model folders' committed
 * `evaluation.json`, `robustness.json` and `ensemble.json` (the weights' size from their
 * `weights.bin`). Every number in the page's tables comes from those files; the prose is
 * `_results_text.ts`, its scores read from the same JSON. The output goes through `deno fmt`
 * (markdown, line width 100), so it is byte for byte what the formatter keeps.
 *
 * `--check` writes nothing: it exits 1 and lists the lines that differ when `docs/results.md` is
 * not what it would generate, 0 when it is. Exit 2 for a usage error.
 *
 * @module
 */
import {
  ABLATION_CLOSING,
  ablationIntro,
  CASING_CLOSING,
  CASING_INTRO,
  INTRO_TEXT,
  ITEMS,
  type ResultsItem,
  SHIPPED_NOTE,
  TRAINING_RUN_TEXT,
} from "./_results_text.ts";

/** One row of `data/ablation.json` (the fields the page shows; others are ignored). */
export interface AblationRow {
  /** The setting, as the notebook and the tables name it. */
  name: string;
  /** The run folder (or shipped model folder) it was scored from: the row's key. */
  run: string;
  /** Entity precision on the test split. */
  precision: number;
  /** Entity recall. */
  recall: number;
  /** Entity F1. */
  f1: number;
  /** Every other recorded field (numbers, strings, lists, null). */
  [field: string]: unknown;
}

/** Entity scores as `evaluation.json` and `robustness.json` record them. */
export interface EntityScores {
  /** Micro precision. */
  precision: number;
  /** Micro recall. */
  recall: number;
  /** Micro F1. */
  f1: number;
}

/** What the page shows of one shipped model folder. */
export interface ShippedModel {
  /** The folder, relative to the project root (`data/model`). */
  folder: string;
  /** `evaluation.json`'s entity scores (normal casing). */
  entity: EntityScores;
  /** `robustness.json`'s scores per casing, in its order (`original`, `upper`, …). */
  casings: Record<string, EntityScores>;
  /** Each member's LSTM units per direction (from its `config.json`). */
  memberUnits: number[];
  /** Each caseless member's units. */
  caselessUnits: number[];
  /** The bytes of every member's and caseless member's `weights.bin`. */
  weightBytes: number;
}

/** Everything the page is generated from. */
export interface ResultsData {
  /** `data/ablation.json`'s rows, in order. */
  rows: AblationRow[];
  /** The shipped model folders, default first. */
  shipped: ShippedModel[];
}

/** Where the generator reads and writes; every path defaults to the project's own. */
export interface ResultsPageOptions {
  /** The project root (default: two folders above this file). */
  root?: string;
  /** The ablation JSON (default `ROOT/data/ablation.json`); tests pass a modified copy. */
  ablationPath?: string;
  /** The page (default `ROOT/docs/results.md`). */
  pagePath?: string;
}

/** The shipped model folders the page describes, relative to the root, default model first. */
export const SHIPPED_FOLDERS = ["data/model", "data/model-fast", "data/model-teacher"] as const;

const SHIPPED_WHAT: Record<string, string> = {
  "data/model": "distilled BiLSTM-CRFs, averaged (the default)",
  "data/model-fast": "one distilled BiLSTM-CRF",
  "data/model-teacher": "BiLSTM-CRFs trained on the gold tags, averaged",
};

const CASING_LABELS: Record<string, string> = {
  original: "original casing",
  upper: "UPPERCASED",
  lower: "lowercased",
  title: "Title Cased",
};

const DEFAULT_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

function rootOf(options: ResultsPageOptions): string {
  const root = options.root ?? DEFAULT_ROOT;
  return root.endsWith("/") ? root : `${root}/`;
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : error}`);
  }
}

/** A member's LSTM units, from either `config.json` layout (`tagger.units` or `model.units`). */
async function unitsOf(dir: string): Promise<number> {
  const config = await readJson<{ tagger?: { units?: number }; model?: { units?: number } }>(
    `${dir}/config.json`,
  );
  const units = config.tagger?.units ?? config.model?.units;
  if (typeof units !== "number") throw new Error(`${dir}/config.json records no units`);
  return units;
}

async function loadShipped(root: string, folder: string): Promise<ShippedModel> {
  const dir = `${root}${folder}`;
  const evaluation = await readJson<{ entity: EntityScores }>(`${dir}/evaluation.json`);
  const robustness = await readJson<{ casings: Record<string, EntityScores> }>(
    `${dir}/robustness.json`,
  );
  const ensemble = await readJson<{ members: string[]; caseless?: string[] }>(
    `${dir}/ensemble.json`,
  );
  const caseless = ensemble.caseless ?? [];
  let weightBytes = 0;
  for (const member of [...ensemble.members, ...caseless]) {
    weightBytes += (await Deno.stat(`${dir}/${member}/weights.bin`)).size;
  }
  return {
    folder,
    entity: evaluation.entity,
    casings: robustness.casings,
    memberUnits: await Promise.all(ensemble.members.map((m) => unitsOf(`${dir}/${m}`))),
    caselessUnits: await Promise.all(caseless.map((m) => unitsOf(`${dir}/${m}`))),
    weightBytes,
  };
}

/** Reads the ablation rows and the shipped model folders. */
export async function loadResultsData(options: ResultsPageOptions = {}): Promise<ResultsData> {
  const root = rootOf(options);
  const ablation = await readJson<{ rows: AblationRow[] }>(
    options.ablationPath ?? `${root}data/ablation.json`,
  );
  const shipped = [];
  for (const folder of SHIPPED_FOLDERS) shipped.push(await loadShipped(root, folder));
  return { rows: ablation.rows, shipped };
}

function fixed(value: unknown, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : "—";
}

function percent(value: unknown, digits: number): string {
  return typeof value === "number" ? `${(value * 100).toFixed(digits)}%` : "—";
}

/** A markdown table (deno fmt aligns it afterwards). */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const PLACEHOLDER = /\{([A-Za-z]\w*)((?: [^\s{}]+)+)\}/g;

/**
 * `text` with its placeholders (`{FIELD RUN}`, `{FIELD RUN .N}`, `{FIELD RUN %}`,
 * `{FIELD RUN RUN …}`; see `_results_text.ts`) replaced by the rows' numbers. Throws on a run
 * without a row or a field the row lacks, so a renamed run cannot leave a stale number behind.
 */
export function fillPlaceholders(text: string, rows: AblationRow[]): string {
  const byRun = new Map(rows.map((row) => [row.run, row]));
  return text.replace(PLACEHOLDER, (whole, field: string, rest: string) => {
    const args = rest.trim().split(" ");
    const runs = args.filter((arg) => arg.includes("/"));
    if (runs.length === 0) return whole;
    const digits = args.find((arg) => /^\.\d$/.test(arg));
    const asPercent = args.includes("%");
    const values = runs.map((run) => {
      const row = byRun.get(run);
      if (!row) throw new Error(`${whole}: data/ablation.json has no row with run "${run}"`);
      if (!(field in row)) throw new Error(`${whole}: ${run} has no field "${field}"`);
      return row[field];
    });
    const show = (value: unknown) =>
      asPercent
        ? percent(value, digits ? Number(digits[1]) : 2)
        : fixed(value, digits ? Number(digits[1]) : 3);
    if (values.length === 1) return show(values[0]);
    const numbers = values.filter((value): value is number => typeof value === "number");
    const [low, high] = [show(Math.min(...numbers)), show(Math.max(...numbers))];
    return low === high ? low : `${low}–${high}`;
  });
}

const isItem = (entry: ResultsItem | { paragraph: unknown }): entry is ResultsItem =>
  "runs" in entry;

/** Each ablation row's explanation number; throws when a row has none or an item names no row. */
export function rowNumbers(rows: AblationRow[]): Map<string, number> {
  const numbers = new Map<string, number>();
  ITEMS.filter(isItem).forEach((item, index) => {
    for (const run of item.runs) numbers.set(run, index + 1);
  });
  const runs = new Set(rows.map((row) => row.run));
  for (const run of numbers.keys()) {
    if (!runs.has(run)) throw new Error(`_results_text.ts explains ${run}, which has no row`);
  }
  for (const row of rows) {
    if (!numbers.has(row.run)) {
      throw new Error(`no explanation for the row "${row.name}" (${row.run}): add it to ITEMS`);
    }
  }
  return numbers;
}

function epochsCell(row: AblationRow): string {
  const members = Array.isArray(row.members) ? row.members.length : 0;
  const caseless = Array.isArray(row.caselessMembers) ? row.caselessMembers.length : 0;
  return members > 0 ? `${members + caseless} × ${row.epochs}` : fixed(row.epochs, 0);
}

/** The ablation table: every row, the README's columns plus the row's explanation number. */
export function ablationTable(rows: AblationRow[], numbers: Map<string, number>): string {
  const header = ("row|model|val F1|entity P|entity R|**entity F1**|UPPER / lower F1|macro F1|" +
    "token acc. (real)|padded acc.|epochs|ms/step|train time").split("|");

  return markdownTable(
    header,
    rows.map((row) => [
      String(numbers.get(row.run)),
      row.name,
      fixed(row.validationF1, 3),
      fixed(row.precision, 3),
      fixed(row.recall, 3),
      `**${fixed(row.f1, 3)}**`,
      typeof row.f1Upper === "number" ? `${fixed(row.f1Upper, 3)} / ${fixed(row.f1Lower, 3)}` : "—",
      fixed(row.macroF1, 3),
      percent(row.tokenAccuracy, 2),
      percent(row.paddedAccuracy, 2),
      epochsCell(row),
      fixed(row.msPerStep, 0),
      typeof row.trainSeconds === "number" ? `${(row.trainSeconds / 60).toFixed(1)} min` : "—",
    ]),
  );
}

/** Entity F1 per type for every row (the types every row records, in alphabetical order). */
export function perTypeTable(rows: AblationRow[], numbers: Map<string, number>): string {
  const perType = (row: AblationRow) => (row.perTypeF1 ?? {}) as Record<string, number>;
  const types = [...new Set(rows.flatMap((row) => Object.keys(perType(row))))].sort();
  return markdownTable(
    ["row", "model", ...types],
    rows.map((row) => [
      String(numbers.get(row.run)),
      row.name,
      ...types.map((type) => fixed(perType(row)[type], 3)),
    ]),
  );
}

function membersCell(units: number[]): string {
  if (units.length === 0) return "—";
  const sizes = [...new Set(units)].map((u) => `${u}`).join("/");
  return `${units.length} × ${sizes} units`;
}

/** The shipped model folders side by side. */
export function shippedTable(shipped: ShippedModel[]): string {
  return markdownTable(
    ("folder (`--model`)|what|members|caseless members|entity P|entity R|**entity F1**|" +
      "UPPER / lower F1|weights").split("|"),
    shipped.map((model) => [
      `\`${model.folder}\``,
      SHIPPED_WHAT[model.folder] ?? "",
      membersCell(model.memberUnits),
      membersCell(model.caselessUnits),
      fixed(model.entity.precision, 3),
      fixed(model.entity.recall, 3),
      `**${fixed(model.entity.f1, 3)}**`,
      `${fixed(model.casings.upper?.f1, 3)} / ${fixed(model.casings.lower?.f1, 3)}`,
      `${Math.round(model.weightBytes / 1e6)} MB`,
    ]),
  );
}

/** Each casing `robustness.json` records, with every shipped model's P / R / F1. */
export function casingTable(shipped: ShippedModel[]): string {
  const casings = [...new Set(shipped.flatMap((model) => Object.keys(model.casings)))];
  const cell = (scores: EntityScores | undefined) =>
    scores
      ? `${fixed(scores.precision, 3)} / ${fixed(scores.recall, 3)} / **${fixed(scores.f1, 3)}**`
      : "—";
  return markdownTable(
    ["words as given to the model", ...shipped.map((model) => `\`${model.folder}\``)],
    casings.map((casing) => [
      CASING_LABELS[casing] ?? casing,
      ...shipped.map((model) => cell(model.casings[casing])),
    ]),
  );
}

function itemsMarkdown(): string {
  let number = 0;
  return ITEMS.map((entry) =>
    isItem(entry) ? `${++number}. ${entry.text}` : `\n${entry.paragraph}\n`
  ).join("\n");
}

/** The page's markdown before formatting. */
export function renderResultsPage(data: ResultsData): string {
  const { rows, shipped } = data;
  const numbers = rowNumbers(rows);
  // In the explanations' order (a stable sort: the JSON's order within one explanation).
  const ordered = rows.toSorted((a, b) => numbers.get(a.run)! - numbers.get(b.run)!);
  const ensembles = rows.filter((row) => Array.isArray(row.members)).length;
  const page = [
    INTRO_TEXT,
    shippedTable(shipped),
    SHIPPED_NOTE,
    ablationIntro(rows.length - ensembles, ensembles),
    ablationTable(ordered, numbers),
    "Entity F1 per type:",
    perTypeTable(ordered, numbers),
    "What each row adds:",
    itemsMarkdown(),
    ABLATION_CLOSING,
    CASING_INTRO,
    casingTable(shipped),
    CASING_CLOSING,
    TRAINING_RUN_TEXT,
  ].join("\n\n") + "\n";
  return fillPlaceholders(page, rows);
}

/** `text` as `deno fmt` formats markdown in this project (line width 100), run from `root`. */
export async function formatMarkdown(text: string, root: string = DEFAULT_ROOT): Promise<string> {
  // The running deno when allowed to run it, else the one on PATH (`--allow-run=deno`).
  const self = Deno.execPath();
  const granted = Deno.permissions.querySync({ name: "run", command: self }).state === "granted";
  const child = new Deno.Command(granted ? self : "deno", {
    args: ["fmt", "--quiet", "--ext=md", "--line-width=100", "-"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`deno fmt failed: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** The formatted page, generated from the files `options` names. */
export async function generateResultsPage(options: ResultsPageOptions = {}): Promise<string> {
  const data = await loadResultsData(options);
  return await formatMarkdown(renderResultsPage(data), rootOf(options));
}

/** The lines where `actual` differs from `expected`: `line N:`, `- expected`, `+ actual` (at most `limit`). */
export function diffLines(expected: string, actual: string, limit = 20): string[] {
  const want = expected.split("\n");
  const have = actual.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    if (want[i] === have[i]) continue;
    if (out.length === limit) {
      out.push("… (more lines differ)");
      break;
    }
    out.push(`line ${i + 1}:\n  - ${want[i] ?? "(no line)"}\n  + ${have[i] ?? "(no line)"}`);
  }
  return out;
}

/** Compares the page on disk with what would be generated: the differing lines, none when equal. */
export async function checkResultsPage(options: ResultsPageOptions = {}): Promise<string[]> {
  const pagePath = options.pagePath ?? `${rootOf(options)}docs/results.md`;
  let actual: string;
  try {
    actual = await Deno.readTextFile(pagePath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [`${pagePath} does not exist`];
    throw error;
  }
  return diffLines(await generateResultsPage(options), actual);
}

const USAGE = `Usage: deno task docs:results [--check]

Writes docs/results.md from data/ablation.json and data/model*/{evaluation,robustness,ensemble}.json.
  --check   write nothing; exit 1 listing the differing lines when docs/results.md is out of date`;

/** The command: 0 written or up to date, 1 out of date (`--check`) or failed, 2 usage error. */
export async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const unknown = args.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    console.error(`unknown argument: ${unknown.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  try {
    if (args.includes("--check")) {
      const differences = await checkResultsPage();
      if (differences.length === 0) return 0;
      console.error(
        `docs/results.md is not what data/ablation.json and the model folders generate ` +
          `(run deno task docs:results; - generated, + on disk):\n${differences.join("\n")}`,
      );
      return 1;
    }
    const page = await generateResultsPage();
    await Deno.writeTextFile(`${DEFAULT_ROOT}docs/results.md`, page);
    console.log("wrote docs/results.md");
    return 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
