/**
 * The few DOM types the page uses. `deno check` type-checks lib/ with Deno's libs only (adding
 * the DOM lib to one file would change every file of the check), so the page reaches
 * `document` through {@linkcode page}, typed with these.
 *
 * @module
 */

/** The parts of a DOM element the page uses. */
export interface El {
  textContent: string | null;
  value: string;
  hidden: boolean;
  disabled: boolean;
  checked: boolean;
  className: string;
  title: string;
  type: string;
  open: boolean;
  dataset: Record<string, string>;
  classList: { toggle(name: string, force?: boolean): void };
  append(...nodes: (El | string)[]): void;
  replaceChildren(...nodes: (El | string)[]): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  querySelectorAll(selector: string): Iterable<El>;
}

/** The parts of `document` the page uses. */
export interface Doc {
  getElementById(id: string): El | null;
  createElement(tag: string): El;
}

/** The page's `document`. */
export function page(): Doc {
  return (globalThis as unknown as { document: Doc }).document;
}

/**
 * An element the page's HTML must hold.
 *
 * @param id its id
 * @throws {Error} naming the id when the page lacks it
 */
export function byId(id: string): El {
  const element = page().getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}
