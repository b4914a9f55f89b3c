/**
 * The entry of the server's try-it page script, bundled for the browser by `build.ts` into
 * `_bundle.ts` and served at `GET /page.js`: mounts the view (`view.ts`) with the model the page
 * describes (its `#page-model` JSON), tagging with `POST /v1/ner`, and lists in the filter the
 * types `GET /v1/model` names.
 *
 * It runs on import (in a browser page with the markup of `view.ts`); it exports nothing.
 *
 * @module
 */
import type { DomDocument } from "./_dom.ts";
import { modelTypes, tagWithServer } from "./server_api.ts";
import { mountView, readViewModel } from "./view.ts";

const { document } = globalThis as unknown as { document: DomDocument };
const view = mountView(document, readViewModel(document), (text) => tagWithServer(text));
modelTypes().then((types) => types.forEach((type) => view.addType(type)));
