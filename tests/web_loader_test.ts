/**
 * The browser's model loader (lib/web/load.ts) run in Deno: a site `export-web` wrote is read
 * through a fetch-like function over the disk, and the model it builds must tag exactly as
 * `loadModelFolder` does (the ensemble, its caseless members and their routing included). Also:
 * the loader fetches only files the manifest lists, each of the listed size; export-web refuses
 * a folder that is not a previous export and a model over `--max-mb`; the static server serves
 * content types and refuses paths out of its folder; the committed page bundle is current and
 * holds no `Deno.*`; nothing in lib/ outside lib/web/ imports lib/web/; the exported page
 * (data/web/index.html) carries the serving page's CSS and markup, and the serving page's view
 * (lib/serve/page/view.ts) mounts on it and shows an in-browser answer with its timing.
 *
 * @module
 */
import assert from "node:assert/strict";
import "../lib/model/bilstm/mod.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { disposeLoadedModel, loadModelFolder } from "../lib/io/ensemble_folder.ts";
import { WEB_SITE_FILE } from "../lib/io/web_site.ts";
import { predictTexts } from "../lib/predict/predict_text.ts";
import { exportWebSite, main as exportWebMain } from "../lib/cli/export_web.ts";
import { staticHandler } from "../lib/cli/serve_static.ts";
import { type FetchLike, fetchSource, loadWebModel } from "../lib/web/load.ts";
import { parseHTML } from "linkedom";
import { PAGE_CSS } from "../lib/serve/page.ts";
import type { DomDocument, DomElement, DomInput } from "../lib/serve/page/_dom.ts";
import { nerResult } from "../lib/serve/page/server_api.ts";
import { TYPE_NAMES, typeColors } from "../lib/serve/page/types.ts";
import { mountView } from "../lib/serve/page/view.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const TEXTS = [
  "Angela Merkel visited Paris on Monday.",
  "angela merkel visited paris on monday.",
  "THE U.N. MET IN NEW YORK.",
  "Barack Obama met Vladimir Putin in Moscow last week. 🙂 Then he flew to Tokyo.",
];

/** A fetch that reads files from the disk (a URL is a path); missing files answer 404. */
const diskFetch: FetchLike = async (url) => {
  try {
    const bytes = await Deno.readFile(url);
    return { ok: true, status: 200, arrayBuffer: () => Promise.resolve(bytes.buffer) };
  } catch {
    return { ok: false, status: 404, arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)) };
  }
};

/** Silences console.log while `body` runs (export-web prints its summary). */
async function quietly<T>(body: () => Promise<T>): Promise<T> {
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  try {
    return await body();
  } finally {
    console.log = log;
    console.error = error;
  }
}

for (const model of ["data/model-fast", "data/model"]) {
  Deno.test(`the browser loader builds ${model} as loadModelFolder does: the same predictions`, async () => {
    await initBackend();
    await withTempDir(async (temp) => {
      const { manifest } = await exportWebSite(`${ROOT}${model}`, `${temp}/site`);
      const { loaded: web } = await loadWebModel(`${temp}/site`, diskFetch);
      const disk = await loadModelFolder(`${ROOT}${model}`);
      try {
        assert.equal(web.members.length, disk.members.length);
        assert.equal(web.caseless.length, disk.caseless.length);
        assert.deepEqual(web.ensemble, disk.ensemble);
        assert.equal(manifest.files.length, model === "data/model" ? 21 : 11);
        assert.deepEqual(predictTexts(web, TEXTS), predictTexts(disk, TEXTS));
      } finally {
        disposeLoadedModel(web);
        disposeLoadedModel(disk);
      }
    });
  });
}

Deno.test("the browser loader fetches only listed files, each of its listed size", async () => {
  const sizes = new Map([["config.json", 2], ["weights.bin", 8]]);
  const source = fetchSource("site/model", sizes, () =>
    Promise.resolve({
      ok: true,
      status: 200,
      arrayBuffer: () => Promise.resolve(new Uint8Array([123, 125, 0, 0]).buffer),
    }));
  await assert.rejects(
    source.readJSON("vocab.json", "vocabulary"),
    /site\/model\/vocab\.json: vocabulary is not in the site's bilstm-ner-web\.json/,
  );
  await assert.rejects(
    source.readBytes("weights.bin", "weights", 8),
    /site\/model\/weights\.bin: weights is 4 bytes, expected 8/,
  );
  await assert.rejects(source.folder("../x", "ensemble.json", "member"), /not a folder inside/);
  await assert.rejects(
    loadWebModel("nowhere", diskFetch),
    /nowhere\/bilstm-ner-web\.json: cannot fetch the site manifest \(HTTP 404\)/,
  );
});

Deno.test("export-web refuses a folder that is not a previous export, a large model, no --to", async () => {
  await withTempDir(async (temp) => {
    await Deno.writeTextFile(`${temp}/notes.txt`, "mine");
    await assert.rejects(
      exportWebSite(`${ROOT}data/model-fast`, temp),
      new RegExp(`${temp}: holds files that are not a web export \\(notes\\.txt\\)`),
    );
    assert.equal(await Deno.readTextFile(`${temp}/notes.txt`), "mine");
    await assert.rejects(
      exportWebSite(`${ROOT}data/model-fast`, `${temp}/site`, { maxBytes: 2 ** 20 }),
      /data\/model-fast: the model is 14\.4 MB, more than --max-mb 1 allows/,
    );
    await exportWebSite(`${ROOT}data/model-fast`, `${temp}/site`);
    await Deno.writeTextFile(`${temp}/site/stale.txt`, "old");
    assert.equal(
      await quietly(() =>
        exportWebMain(["--model", `${ROOT}data/model-fast`, "--to", `${temp}/site`])
      ),
      0,
    );
    await assert.rejects(Deno.stat(`${temp}/site/stale.txt`), Deno.errors.NotFound);
    assert.ok((await Deno.stat(`${temp}/site/${WEB_SITE_FILE}`)).isFile);
    assert.equal(await quietly(() => exportWebMain([])), 2);
    assert.equal(await quietly(() => exportWebMain(["--to", `${temp}/x`, "--max-mb", "0"])), 2);
  });
});

Deno.test("serve-static serves content types and refuses paths out of its folder", async () => {
  await withTempDir(async (temp) => {
    await Deno.mkdir(`${temp}/site`);
    await Deno.writeTextFile(`${temp}/site/index.html`, "<p>hi</p>");
    await Deno.writeFile(`${temp}/site/a.wasm`, new Uint8Array([0, 97, 115, 109]));
    await Deno.writeTextFile(`${temp}/secret.txt`, "secret");
    await Deno.symlink(`${temp}/secret.txt`, `${temp}/site/link.txt`);
    const handle = staticHandler(await Deno.realPath(`${temp}/site`));
    const get = (path: string) => handle(new Request(`http://127.0.0.1${path}`));
    const index = await get("/");
    assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await index.text(), "<p>hi</p>");
    const wasm = await get("/a.wasm");
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    await wasm.body?.cancel();
    const link = await get("/link.txt");
    assert.equal(link.status, 403, "a link out of the folder");
    await link.body?.cancel();
    // The URL parser resolves an encoded `..` itself (404 inside the folder); `%2f` stays.
    for (const path of ["/%2e%2e/secret.txt", "/..%2fsecret.txt", "/a/..%2f..%2fsecret.txt"]) {
      const response = await get(path);
      assert.ok([403, 404].includes(response.status), `${path}: ${response.status}`);
      assert.notEqual(await response.text(), "secret", path);
    }
    const missing = await get("/nope.js");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const post = await handle(new Request("http://127.0.0.1/", { method: "POST" }));
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });
});

Deno.test("the committed page bundle is current and holds no Deno.*; only lib/web/ imports lib/web/", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}lib/cli/_web_bundle.ts`, "--check"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const bundle = await Deno.readTextFile(`${ROOT}data/web/bundle.js`);
  assert.doesNotMatch(bundle, /\bDeno\./);
  for await (const file of walk(`${ROOT}lib`)) {
    if (file.includes("/lib/web/")) continue;
    assert.doesNotMatch(await Deno.readTextFile(file), /from "[./]*web\//, file);
  }
});

/** Every `.ts` file under a folder. */
async function* walk(directory: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("the exported page has the serving page's CSS and markup; its view shows an in-browser answer", async () => {
  const html = await Deno.readTextFile(`${ROOT}data/web/index.html`);
  assert.ok(html.includes(PAGE_CSS), "data/web/index.html holds lib/serve/page.ts's PAGE_CSS");
  for (const source of ["view.ts", "_dom.ts"]) {
    await assert.rejects(Deno.stat(`${ROOT}lib/web/${source}`), Deno.errors.NotFound, source);
  }
  const { document } = parseHTML(html) as unknown as { document: DomDocument };
  const types = ["geo", "per"];
  const text = "Angela Merkel visited Paris.";
  const answer = {
    documents: [{
      tokens: [0, 7, 14, 22, 27].map((start) => ({ start })),
      entities: [
        { type: "per", start: 0, end: 13, text: "Angela Merkel", score: 0.99 },
        { type: "geo", start: 22, end: 27, text: "Paris", score: 0.9 },
      ],
    }],
  };
  const view = mountView(
    document,
    { types, colors: typeColors(types), names: TYPE_NAMES },
    () => Promise.resolve({ ...nerResult(answer), note: "Tagged in 5 ms." }),
  );
  const all = (root: DomElement, selector: string) => [...root.querySelectorAll(selector)];
  const filters = document.getElementById("filter-list")!;
  assert.deepEqual(all(filters, "input").map((input) => (input as DomInput).value), types);
  (document.getElementById("text") as DomInput).value = text;
  await view.tag();
  const marks = all(document.getElementById("output")!, "mark.entity").map((mark) => ({
    type: mark.dataset.type,
    start: Number(mark.dataset.start),
    end: Number(mark.dataset.end),
    text: mark.textContent,
  }));
  assert.deepEqual(
    marks,
    answer.documents[0].entities.map(({ type, start, end, text }) => ({ type, start, end, text })),
  );
  assert.equal(
    document.getElementById("status")!.textContent,
    "2 entities in 5 tokens: 1 PER, 1 GEO. Tagged in 5 ms.",
  );
  assert.deepEqual(JSON.parse(document.getElementById("json")!.textContent!), answer);
  assert.equal(all(document.getElementById("entity-table")!, "tbody tr").length, 2);
});
