/**
 * The exported static site (`deno task export-web`) in headless Chromium: data/model-fast is
 * exported to a temporary folder and served on 127.0.0.1 by lib/cli/serve_static.ts's handler;
 * the page tags in the browser with no server behind it. Checked against
 * `deno run -A lib/cli/predict.ts --model data/model-fast --json|--jsonl`: the same entities
 * (type, start, end: UTF-16 offsets) for the typed sentence, for `index.html?text=…`, after the
 * static server has stopped (offline), and for 200 sentences of the tutorial test split, with
 * scores within 1e-4. Every request the page makes goes to the site's own origin.
 *
 * `BILSTM_NER_SCREENSHOT=docs/web.png` also saves the page's screenshot there (the picture in
 * docs/web.md); the timings measured are printed.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { loadCorpus } from "../../lib/data/corpus.ts";
import { loadSplitFile, splitByIds } from "../../lib/data/encode.ts";
import type { TextPrediction } from "../../lib/predict/predict_text.ts";
import { exportWebSite } from "../../lib/cli/export_web.ts";
import { staticHandler } from "../../lib/cli/serve_static.ts";
import { withTempDir } from "../fixtures/temp_dir.ts";
import { findChromium, launchChromium } from "./_chromium.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const MODEL = `${ROOT}data/model-fast`;
const SENTENCE = "Angela Merkel visited Paris on Monday.";
const OFFLINE_SENTENCE = "Barack Obama met Vladimir Putin in Moscow last week.";
const SPLIT_SENTENCES = 200;

/** `predict --json TEXT`'s prediction with a model (default data/model-fast). */
async function predictJson(text: string, model = MODEL): Promise<TextPrediction> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}lib/cli/predict.ts`, "--model", model, "--json", text],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** `predict --jsonl` of stdin lines: one prediction per line. */
async function predictLines(lines: readonly string[]): Promise<TextPrediction[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}lib/cli/predict.ts`, "--model", MODEL, "--jsonl"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim().split("\n").map((line) => JSON.parse(line));
}

/** A static server for the site on a free port. */
function serveSite(root: string): { url: string; server: Deno.HttpServer<Deno.NetAddr> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    staticHandler(root),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}

/** The entities as compared: type and offsets (and text). */
function spans(prediction: TextPrediction) {
  return prediction.entities.map(({ type, start, end, text }) => ({ type, start, end, text }));
}

/** The marks the page shows: type, offsets, text. */
function pageMarks(page: Page) {
  return page.$$eval("#output mark.entity", (marks) =>
    marks.map((mark) => ({
      type: mark.getAttribute("data-type") ?? "",
      start: Number(mark.getAttribute("data-start")),
      end: Number(mark.getAttribute("data-end")),
      text: mark.textContent ?? "",
    })));
}

/** Tags texts in the page through its `bilstmNer.tag`. */
function tagInPage(page: Page, texts: readonly string[]): Promise<TextPrediction[]> {
  return page.evaluate((all: string[]) => {
    const api = (globalThis as unknown as { bilstmNer: { tag(t: string): unknown } }).bilstmNer;
    return all.map((text) => api.tag(text));
  }, [...texts]) as Promise<TextPrediction[]>;
}

/** Asserts two predictions agree: the same tokens, tags and entities, scores within 1e-4. */
function assertSamePrediction(got: TextPrediction, want: TextPrediction, what: string): void {
  assert.deepEqual(spans(got), spans(want), `${what}: entities`);
  assert.deepEqual(
    got.tokens.map((t) => [t.start, t.end, t.tag]),
    want.tokens.map((t) => [t.start, t.end, t.tag]),
    `${what}: tokens`,
  );
  got.entities.forEach((entity, index) => {
    const delta = Math.abs(entity.score - want.entities[index].score);
    assert.ok(delta <= 1e-4, `${what}: entity ${index} score differs by ${delta}`);
  });
  got.tokens.forEach((token, index) => {
    const delta = Math.abs(token.probability - want.tokens[index].probability);
    assert.ok(delta <= 1e-4, `${what}: token ${index} probability differs by ${delta}`);
  });
}

/** Waits for the page's model to load (or fails with the page's error). */
async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const state =
        (globalThis as unknown as { document: { body: { dataset: { state: string } } } })
          .document.body.dataset.state;
      return state === "ready" || state === "error";
    },
    { timeout: 120_000 },
  );
  const status = await page.$eval("#status", (element) => element.textContent);
  const state = await page.$eval("body", (element) => element.getAttribute("data-state"));
  assert.equal(state, "ready", `the page did not load its model: ${status}`);
}

Deno.test({
  name:
    "an exported site tags in Chromium as predict --json does, offline, from ?text=, on 200 test sentences",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withTempDir(async (temp) => {
      const site = `${temp}/site`;
      await exportWebSite(MODEL, site);
      const root = await Deno.realPath(site);
      const { test } = splitByIds((await loadCorpus()).sentences, await loadSplitFile());
      const texts = test.slice(0, SPLIT_SENTENCES).map((sentence) => sentence.words.join(" "));
      const [expected, expectedOffline, ...expectedSplit] = await predictLines([
        SENTENCE,
        OFFLINE_SENTENCE,
        ...texts,
      ]);
      const single = await predictJson(SENTENCE);
      assert.deepEqual(spans(single), spans(expected));
      assert.deepEqual(
        spans(single).map(({ type }) => type).filter((type) => type === "per" || type === "geo"),
        ["per", "geo"],
      );

      const browser = await launchChromium(await findChromium(), `${temp}/profile`);
      let { url, server } = serveSite(root);
      try {
        const page = await browser.newPage();
        await page.setViewport({ width: 900, height: 900 });
        const requests: string[] = [];
        await page.setRequestInterception(true);
        page.on("request", (request) => {
          requests.push(request.url());
          request.continue();
        });
        const opened = performance.now();
        await page.goto(`${url}/`);
        await waitReady(page);
        const loadMs = performance.now() - opened;

        // Typed and tagged through the form.
        await page.$eval(
          "#text",
          (element) => ((element as unknown as { value: string }).value = ""),
        );
        await page.type("#text", SENTENCE);
        await page.click("#tag");
        await page.waitForSelector("#output mark.entity");
        assert.deepEqual(await pageMarks(page), spans(single));
        const status = await page.$eval("#status", (element) => element.textContent ?? "");
        assert.match(status, /first result \d+ ms/);
        // The serving page's view: its summary in the status line, the model's types as
        // filters, the answer in the shape of POST /v1/ner in the JSON view.
        const summary = `${single.entities.length} entities in ${single.tokens.length} tokens: `;
        assert.ok(status.startsWith(summary), `status: ${status}`);
        assert.match(status, /\. Tagged in \d+ ms \(\d+ tokens\/s\); first result/);
        const filters = await page.$$eval(
          "#filter-list input",
          (inputs) => inputs.map((input) => input.getAttribute("value")),
        );
        assert.ok(filters.includes("per") && filters.includes("geo"), `filters: ${filters}`);
        const json = JSON.parse(await page.$eval("#json", (element) => element.textContent ?? ""));
        assert.deepEqual(spans(json.documents[0]), spans(single));
        assertSamePrediction((await tagInPage(page, [SENTENCE]))[0], single, SENTENCE);

        const screenshot = Deno.env.get("BILSTM_NER_SCREENSHOT");
        if (screenshot) await page.screenshot({ path: `${ROOT}${screenshot}`, fullPage: true });

        // 200 sentences of the tutorial test split, and how fast the page tags them.
        const started = performance.now();
        const inPage = await tagInPage(page, texts);
        const tagMs = performance.now() - started;
        inPage.forEach((prediction, index) =>
          assertSamePrediction(prediction, expectedSplit[index], `test sentence ${index + 1}`)
        );
        const tokens = inPage.reduce((sum, prediction) => sum + prediction.tokens.length, 0);

        // Offline: the server stops; the loaded page still tags.
        await server.shutdown();
        await page.$eval(
          "#text",
          (element) => ((element as unknown as { value: string }).value = ""),
        );
        await page.type("#text", OFFLINE_SENTENCE);
        await page.click("#tag");
        await page.waitForFunction(
          (want: string) =>
            [...(globalThis as unknown as {
              document: { querySelectorAll(s: string): Iterable<{ textContent: string }> };
            }).document.querySelectorAll("#output mark.entity")].some((mark) =>
              mark.textContent === want
            ),
          {},
          expectedOffline.entities[0].text,
        );
        assert.deepEqual(await pageMarks(page), spans(expectedOffline));

        // ?text= on a fresh server and page: the DOM after load holds the marks.
        ({ url, server } = serveSite(root));
        const fresh = await browser.newPage();
        await fresh.setRequestInterception(true);
        fresh.on("request", (request) => {
          requests.push(request.url());
          request.continue();
        });
        await fresh.goto(`${url}/index.html?text=${encodeURIComponent(SENTENCE)}`);
        await waitReady(fresh);
        await fresh.waitForSelector("#output mark.entity");
        const html = await fresh.content();
        const dumped = [
          ...html.matchAll(
            /<mark class="entity[^"]*" data-type="([^"]+)" data-start="(\d+)" data-end="(\d+)"[^>]*>([^<]*)<\/mark>/g,
          ),
        ].map(([, type, start, end, text]) => ({ type, start: +start, end: +end, text }));
        assert.deepEqual(dumped, spans(single));
        const freshStatus = await fresh.$eval("#status", (element) => element.textContent ?? "");

        const foreign = requests.filter((request) =>
          !request.startsWith("data:") && !request.startsWith("http://127.0.0.1:")
        );
        assert.deepEqual(foreign, [], "requests to another origin");
        console.log(
          `page: model loaded ${loadMs.toFixed(0)} ms after navigation (${status}); ` +
            `${SPLIT_SENTENCES} sentences, ${tokens} tokens in ${tagMs.toFixed(0)} ms ` +
            `(${(tokens / tagMs * 1000).toFixed(0)} tokens/s); ?text=: ${freshStatus}; ` +
            `${expectedSplit.reduce((sum, p) => sum + p.entities.length, 0)} entities compared; ` +
            `model ${await page.$eval("#model", (element) => element.textContent)}`,
        );
      } finally {
        await browser.close();
        await server.shutdown().catch(() => {});
      }
    });
  },
});

Deno.test({
  name:
    "an exported ensemble (data/model: 2 members + 2 caseless) tags in Chromium as predict --json does, caseless text too",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const model = `${ROOT}data/model`;
    const texts = [SENTENCE, SENTENCE.toLowerCase(), SENTENCE.toUpperCase()];
    await withTempDir(async (temp) => {
      const site = `${temp}/site`;
      await exportWebSite(model, site);
      const expected: TextPrediction[] = [];
      for (const text of texts) expected.push(await predictJson(text, model));
      const browser = await launchChromium(await findChromium(), `${temp}/profile`);
      const { url, server } = serveSite(await Deno.realPath(site));
      try {
        const page = await browser.newPage();
        await page.goto(`${url}/index.html?text=${encodeURIComponent(SENTENCE)}`);
        await waitReady(page);
        await page.waitForSelector("#output mark.entity");
        assert.deepEqual(await pageMarks(page), spans(expected[0]));
        const described = await page.$eval("#model", (element) => element.textContent ?? "");
        assert.match(described, /2 members \+ 2 caseless/);
        const status = await page.$eval("#status", (element) => element.textContent ?? "");
        const started = performance.now();
        const repeated = await tagInPage(page, Array(50).fill(SENTENCE));
        const tokens = repeated.reduce((sum, prediction) => sum + prediction.tokens.length, 0);
        const ms = performance.now() - started;
        console.log(
          `page (${described}): ${status}; ${tokens} tokens in ${ms.toFixed(0)} ms ` +
            `(${(tokens / ms * 1000).toFixed(0)} tokens/s)`,
        );
        const inPage = await tagInPage(page, texts);
        inPage.forEach((prediction, index) =>
          assertSamePrediction(prediction, expected[index], texts[index])
        );
      } finally {
        await browser.close();
        await server.shutdown();
      }
    });
  },
});
