/**
 * Loading an exported model in a browser: the site's manifest (lib/io/web_site.ts) lists the
 * model's files and sizes; {@linkcode fetchSource} reads them with `fetch` as a
 * {@linkcode ModelFileSource}, and {@linkcode loadWebModel} builds the same
 * {@linkcode LoadedModel} the Deno loader builds (lib/io/ensemble_config.ts loadModelFrom, the
 * same checks, the same taggers), ensembles and caseless members included.
 *
 * Only files the manifest lists are fetched, each checked to hold the bytes it lists.
 *
 * @module
 */
import { type LoadedModel, loadModelFrom } from "../io/ensemble_config.ts";
import type { ModelFileSource } from "../io/model_source.ts";
import {
  checkWebSiteManifest,
  WEB_MODEL_FOLDER,
  WEB_SITE_FILE,
  type WebSiteManifest,
} from "../io/web_site.ts";

/** The part of `fetch` the loader uses (a test passes one that reads the disk). */
export type FetchLike = (url: string) => Promise<{
  ok: boolean;
  status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/** Fetches a file of the site whole, naming it on failure. */
async function fetchBytes(fetcher: FetchLike, url: string, what: string): Promise<Uint8Array> {
  let response;
  try {
    response = await fetcher(url);
  } catch (error) {
    throw new Error(`${url}: cannot fetch ${what} (${(error as Error).message})`);
  }
  if (!response.ok) throw new Error(`${url}: cannot fetch ${what} (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * A {@linkcode ModelFileSource} over the files a manifest lists, fetched under `base`.
 *
 * @param base the model folder's URL, without a trailing slash (e.g. `./model`)
 * @param sizes each listed file's size, by its path relative to the model folder
 * @param fetcher how to fetch (default the global `fetch`)
 * @param prefix the folder inside the model folder this source reads (`""` for its root)
 */
export function fetchSource(
  base: string,
  sizes: ReadonlyMap<string, number>,
  fetcher: FetchLike = fetch,
  prefix = "",
): ModelFileSource {
  const key = (name: string) => prefix + name;
  const url = (name: string) => `${base}/${key(name)}`;
  const listed = (name: string, what: string): number => {
    const size = sizes.get(key(name));
    if (size === undefined) {
      throw new Error(`${url(name)}: ${what} is not in the site's ${WEB_SITE_FILE}`);
    }
    return size;
  };
  const directory = prefix === "" ? base : `${base}/${prefix.replace(/\/$/, "")}`;
  return {
    directory,
    async readJSON(name, what) {
      listed(name, what);
      const bytes = await fetchBytes(fetcher, url(name), what);
      try {
        return JSON.parse(new TextDecoder().decode(bytes));
      } catch (error) {
        throw new Error(`${url(name)}: ${what} is not valid JSON (${(error as Error).message})`);
      }
    },
    sizeOf: (name, what) => Promise.resolve(listed(name, what)),
    async readBytes(name, what, size) {
      const bytes = await fetchBytes(fetcher, url(name), what);
      if (bytes.byteLength !== size) {
        throw new Error(`${url(name)}: ${what} is ${bytes.byteLength} bytes, expected ${size}`);
      }
      return bytes as Uint8Array<ArrayBuffer>;
    },
    has: (name) => Promise.resolve(sizes.has(key(name))),
    folder(name, from, what) {
      if (name === "" || name.startsWith("/") || name.split("/").includes("..")) {
        return Promise.reject(new Error(`${from}: ${what} is not a folder inside the model`));
      }
      return Promise.resolve(fetchSource(base, sizes, fetcher, `${key(name.replace(/\/$/, ""))}/`));
    },
  };
}

/**
 * Loads the model of an exported site.
 *
 * @param site the site's URL, without a trailing slash (default `.`, the page's folder)
 * @param fetcher how to fetch (default the global `fetch`)
 * @returns the manifest and the loaded model (every member, caseless ones too)
 * @throws {Error} naming the URL of a file that is missing, refused or corrupt
 */
export async function loadWebModel(
  site = ".",
  fetcher: FetchLike = fetch,
): Promise<{ manifest: WebSiteManifest; loaded: LoadedModel }> {
  const manifestUrl = `${site}/${WEB_SITE_FILE}`;
  const bytes = await fetchBytes(fetcher, manifestUrl, "the site manifest");
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`${manifestUrl}: not valid JSON (${(error as Error).message})`);
  }
  const manifest = checkWebSiteManifest(parsed, manifestUrl);
  const sizes = new Map(manifest.files.map((file) => [file.path, file.bytes]));
  const loaded = await loadModelFrom(fetchSource(`${site}/${WEB_MODEL_FOLDER}`, sizes, fetcher));
  return { manifest, loaded };
}
