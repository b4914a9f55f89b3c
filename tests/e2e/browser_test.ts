/**
 * Browser test of the try-it page (`GET /`): headless Chromium, driven by `puppeteer-core`,
 * against the tagger's server started in-process on a free port with the shipped model. It
 * types a sentence, presses Tag (by click and by keyboard), checks the highlighted entities in
 * the DOM, the type filter, the JSON view, the error display, safe rendering of markup-like
 * text, visible focus, the phone layout (no horizontal scroll at 375 px) and saves screenshots.
 *
 * The browser is the pinned npm package `@sparticuz/chromium` (no root, no apt), or `$CHROMIUM`
 * when set, launched by `_chromium.ts` (as the exported page's test launches it); the test never
 * skips. `BILSTM_NER_SCREENSHOT=docs/serve.png` also writes the desktop screenshot there (how the
 * picture in docs/serving.md is made).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { ENTITY_COLORS, hexToRgb } from "../../lib/plot/_palette.ts";
import { initBackend } from "../../lib/backend/backend.ts";
import { disposeLoadedModel, loadModelFolder } from "../../lib/io/ensemble_folder.ts";
import { describeModel, startServer } from "../../lib/serve/mod.ts";
import { withTempDir } from "../fixtures/temp_dir.ts";
import { findChromium, launchChromium } from "./_chromium.ts";

const MODEL_DIR = decodeURIComponent(new URL("../../data/model", import.meta.url).pathname);
const SENTENCE = "Angela Merkel visited Paris on Monday.";

/** A running server: its base URL (no trailing slash) and how to stop it. */
interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the real server in-process on a free port with the shipped model. */
async function startShippedServer(): Promise<RunningServer> {
  await initBackend();
  const loaded = await loadModelFolder(MODEL_DIR);
  const server = startServer({ predictor: loaded, info: await describeModel(loaded) }, {
    port: 0,
    log: () => {},
  });
  return {
    url: server.url.replace(/\/$/, ""),
    close: async () => {
      await server.shutdown();
      disposeLoadedModel(loaded);
    },
  };
}

/**
 * The few browser globals the in-page callbacks use. This file is type-checked with Deno's
 * default libs (adding the DOM lib would leak into every other file of `deno check`), so the
 * callbacks reach them through `globalThis` typed with these.
 */
interface BrowserWindow {
  document: {
    getElementById(id: string): BrowserElement | null;
    querySelector(selector: string): BrowserElement | null;
    querySelectorAll(selector: string): ArrayLike<BrowserElement> & Iterable<BrowserElement>;
    activeElement: BrowserElement | null;
    documentElement: BrowserElement;
    body: BrowserElement;
  };
  getComputedStyle(element: unknown, pseudo?: string): Record<string, string>;
  pwned?: unknown;
}

/** The parts of a DOM element the callbacks read. */
interface BrowserElement {
  id: string;
  textContent: string | null;
  value: string;
  open: boolean;
  scrollWidth: number;
  clientWidth: number;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  closest(selector: string): BrowserElement | null;
}

/** What the page shows for one highlighted entity. */
interface MarkInfo {
  type: string;
  /** `data-start` and `data-end`: the entity's offsets in UTF-16 code units. */
  start: number;
  end: number;
  text: string;
  title: string;
  label: string;
  background: string;
  off: boolean;
}

/** The highlighted entities in the output, in order. */
function marks(page: Page): Promise<MarkInfo[]> {
  return page.$$eval("#results #output mark.entity", (elements) => {
    const { getComputedStyle } = globalThis as unknown as BrowserWindow;
    return elements.map((mark) => ({
      type: mark.getAttribute("data-type") ?? "",
      start: Number(mark.getAttribute("data-start")),
      end: Number(mark.getAttribute("data-end")),
      text: mark.textContent ?? "",
      title: mark.getAttribute("title") ?? "",
      label: getComputedStyle(mark, "::after").display === "none"
        ? ""
        : getComputedStyle(mark, "::after").content,
      background: getComputedStyle(mark).backgroundColor,
      off: mark.classList.contains("off"),
    }));
  });
}

/** `rgb(r, g, b)` as the browser reports a hex colour. */
function cssRgb(hex: string): string {
  const [r, g, b] = hexToRgb(hex);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Waits until the status line (in the live region) changes from `before`. */
async function waitForStatusChange(page: Page, before: string): Promise<string> {
  await page.waitForFunction(
    (previous) => {
      const { document } = globalThis as unknown as BrowserWindow;
      const text = document.getElementById("status")?.textContent ?? "";
      return text !== previous && text !== "Tagging…";
    },
    {},
    before,
  );
  return await page.$eval("#status", (element) => element.textContent ?? "");
}

/** Asserts a PNG file exists, has the PNG signature and is not trivially small. */
async function assertPng(path: string, minBytes = 10_000): Promise<void> {
  const bytes = await Deno.readFile(path);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(bytes.length > minBytes, `${path} is only ${bytes.length} bytes`);
}

Deno.test("browser: the page tags text, filters types, shows JSON and errors, fits a phone", async () => {
  const chromium = await findChromium();
  await withTempDir(async (directory) => {
    const server = await startShippedServer();
    const browser = await launchChromium(chromium, `${directory}/profile`);
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      const cspViolations: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      await page.setViewport({ width: 1000, height: 900 });
      const response = await page.goto(`${server.url}/`, { waitUntil: "networkidle0" });
      assert.equal(response?.status(), 200);

      // The controls are labelled.
      const labels = await page.evaluate(() => {
        const { document } = globalThis as unknown as BrowserWindow;
        return {
          text: document.querySelector('label[for="text"]')?.textContent ?? "",
          button: document.getElementById("tag")?.textContent ?? "",
          live: document.getElementById("results")?.getAttribute("aria-live") ?? "",
          filters: [...document.querySelectorAll("#filter-list input")]
            .map((input) => ({ value: input.value, label: input.closest("label")?.textContent })),
        };
      });
      assert.match(labels.text, /text/i);
      assert.equal(labels.button, "Tag");
      assert.equal(labels.live, "polite");
      for (const type of Object.keys(ENTITY_COLORS)) {
        const filter = labels.filters.find((f) => f.value === type);
        assert.ok(filter && filter.label?.includes(type), `no labelled filter for ${type}`);
      }

      // Type the sentence and click Tag.
      await page.type("#text", SENTENCE);
      let status = await page.$eval("#status", (element) => element.textContent ?? "");
      await page.click("#tag");
      status = await waitForStatusChange(page, status);
      assert.match(status, /3 entities in 7 tokens/);
      let found = await marks(page);
      assert.deepEqual(found.map(({ type, text }) => ({ type, text })), [
        { type: "per", text: "Angela Merkel" },
        { type: "geo", text: "Paris" },
        { type: "tim", text: "Monday" },
      ]);
      for (const mark of found) {
        assert.equal(SENTENCE.slice(mark.start, mark.end), mark.text, "data-start, data-end");
        assert.equal(mark.label, `"${mark.type}"`, "the type label is shown in the highlight");
        assert.equal(mark.background, cssRgb(ENTITY_COLORS[mark.type]));
        assert.match(mark.title, /score 0\.\d{3}/, "the score shows on hover");
      }
      // Marks hold exactly the entity text, so the output reads as the text typed.
      assert.equal(await page.$eval("#output", (element) => element.textContent), SENTENCE);
      assert.equal(
        await page.$$eval("#entity-table tbody tr", (rows) => rows.length),
        3,
        "the entity table lists the entities",
      );
      const screenshot = `${directory}/serve.png`;
      await page.screenshot({ path: screenshot, fullPage: true });
      await assertPng(screenshot);
      const docsShot = Deno.env.get("BILSTM_NER_SCREENSHOT");
      if (docsShot) await page.screenshot({ path: docsShot, fullPage: true });

      // The type filter hides the per highlight (the text stays) and shows it again.
      await page.click('#filter-list input[value="per"]');
      found = await marks(page);
      const per = found.find((mark) => mark.type === "per")!;
      assert.ok(per.off, "unchecking per turns its highlight off");
      assert.equal(per.label, "", "the hidden highlight has no label");
      assert.equal(per.background, "rgba(0, 0, 0, 0)", "the hidden highlight has no fill");
      const geo = found.find((mark) => mark.type === "geo")!;
      assert.ok(!geo.off && geo.background === cssRgb(ENTITY_COLORS.geo), "geo stays shown");
      assert.equal(await page.$eval("#output", (element) => element.textContent), SENTENCE);
      // …and back, with the keyboard: focus the checkbox and press Space.
      await page.focus('#filter-list input[value="per"]');
      await page.keyboard.press("Space");
      found = await marks(page);
      assert.ok(!found.find((mark) => mark.type === "per")!.off, "per is shown again");

      // The JSON view holds the server's response.
      await page.click("#json-view summary");
      assert.ok(
        await page.$eval("#json-view", (element) => (element as unknown as BrowserElement).open),
      );
      const shown = JSON.parse(await page.$eval("#json", (element) => element.textContent ?? ""));
      const direct = await fetch(`${server.url}/v1/ner`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: SENTENCE }),
      }).then((r) => r.json());
      assert.deepEqual(shown, direct);
      assert.equal(shown.documents[0].entities[0].text, "Angela Merkel");

      // The keyboard path: Ctrl+Enter in the text box; markup in the text stays text.
      const markup = 'Barack Obama met <img src=x onerror="window.pwned=1"> officials in London.';
      await page.$eval("#text", (element) => {
        (element as unknown as BrowserElement).value = "";
      });
      await page.type("#text", markup);
      await page.keyboard.down("Control");
      await page.keyboard.press("Enter");
      await page.keyboard.up("Control");
      status = await waitForStatusChange(page, status);
      assert.equal(
        await page.$eval("#text", (element) => (element as unknown as BrowserElement).value),
        markup,
      );
      found = await marks(page);
      assert.ok(found.some((m) => m.type === "per" && m.text === "Barack Obama"), status);
      assert.ok(found.some((m) => m.type === "geo" && m.text === "London"), status);
      const safety = await page.evaluate(() => {
        const { document, pwned } = globalThis as unknown as BrowserWindow;
        return {
          output: document.getElementById("output")?.textContent ?? "",
          images: document.querySelectorAll("#output img").length,
          pwned: typeof pwned,
        };
      });
      assert.deepEqual(safety, { output: markup, images: 0, pwned: "undefined" });

      // Tab from the text box reaches the button, whose focus is visible; Enter submits.
      await page.focus("#text");
      await page.keyboard.press("Tab");
      const focus = await page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as unknown as BrowserWindow;
        const active = document.activeElement!;
        const style = getComputedStyle(active);
        return { id: active.id, outline: style.outlineStyle, width: style.outlineWidth };
      });
      assert.deepEqual(focus, { id: "tag", outline: "solid", width: "3px" });
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => {
        const { document } = globalThis as unknown as BrowserWindow;
        return !document.getElementById("tag-form")?.hasAttribute("aria-busy");
      });

      // A server error ({"error": …}, here 413 for a 2 MB text) shows in the page.
      await page.$eval("#text", (element) => {
        (element as unknown as BrowserElement).value = "word ".repeat(400_000);
      });
      await page.click("#tag");
      await page.waitForSelector("#error:not([hidden])");
      const error = await page.$eval("#error", (element) => element.textContent ?? "");
      assert.match(error, /^Error 413\b/);
      assert.ok(error.length > "Error 413".length + 2, `no message from the server: ${error}`);
      assert.equal(await page.$eval("#error", (e) => e.getAttribute("role")), "alert");

      // Back to the sentence, at phone width: nothing scrolls sideways.
      await page.$eval("#text", (element) => {
        (element as unknown as BrowserElement).value = "";
      });
      await page.type("#text", SENTENCE);
      await page.click("#tag");
      await page.waitForSelector("#error[hidden]");
      await page.waitForSelector('#output mark.entity[data-type="per"]');
      await page.setViewport({ width: 375, height: 812, isMobile: true, hasTouch: true });
      const widths = await page.evaluate(() => {
        const { document } = globalThis as unknown as BrowserWindow;
        return {
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
          body: document.body.scrollWidth,
        };
      });
      assert.ok(
        widths.scroll <= widths.client && widths.body <= widths.client,
        `horizontal overflow at 375 px: ${JSON.stringify(widths)}`,
      );
      assert.equal(widths.client, 375);
      const phoneShot = `${directory}/serve-phone.png`;
      await page.screenshot({ path: phoneShot, fullPage: true });
      await assertPng(phoneShot);

      // Everything came from the server itself: no CDN, no other origin.
      const foreign = requested.filter((url) => !url.startsWith(server.url));
      assert.deepEqual(foreign, [], "the page loads nothing from elsewhere");
      assert.deepEqual(pageErrors, [], "no script errors in the page");
      assert.deepEqual(cspViolations, [], "nothing the page's Content-Security-Policy refuses");
      assert.ok(requested.includes(`${server.url}/page.js`), "the script comes from /page.js");
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
