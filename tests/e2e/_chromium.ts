/**
 * Headless Chromium for the browser tests (tests/e2e/browser_test.ts, the serving page;
 * tests/e2e/web_export_test.ts, the exported page): the pinned npm package `@sparticuz/chromium`
 * (no root, no apt, nothing downloaded at run time), or `$CHROMIUM` when set, driven by
 * `puppeteer-core`.
 *
 * @module
 */
import puppeteer, { type Browser } from "puppeteer-core";

/**
 * The Chromium to drive: `$CHROMIUM` when set (e.g. Debian's `/usr/bin/chromium`), else the one
 * the pinned npm package `@sparticuz/chromium` ships (the first call unpacks it into the temp
 * folder).
 *
 * @throws {Error} when `$CHROMIUM` names no file
 */
export async function findChromium(): Promise<string> {
  const fromEnv = Deno.env.get("CHROMIUM");
  if (fromEnv) {
    try {
      if ((await Deno.stat(fromEnv)).isFile) return fromEnv;
    } catch {
      // reported below
    }
    throw new Error(`CHROMIUM=${fromEnv} is not a file: unset it to use the pinned npm Chromium`);
  }
  const { default: packaged } = await import("@sparticuz/chromium");
  return await packaged.executablePath();
}

/**
 * Launches headless Chromium with a fresh profile in `profile`.
 *
 * @param executablePath from {@linkcode findChromium}
 * @param profile an empty folder for the profile
 */
export function launchChromium(executablePath: string, profile: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless=new",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
}
