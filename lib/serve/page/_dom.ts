/**
 * The part of the browser's DOM that the try-it page's script uses, typed here. TypeScript's
 * `dom` lib cannot be used instead: a `/// <reference lib="dom" />` in one file adds the DOM's
 * globals to every file of a `deno check` run, and they clash with Deno's own (its streams, for
 * one). These interfaces name only what the page's modules call, as browsers (and linkedom, in
 * the tests) provide it; the modules take the `document` as an argument and never reach for a
 * global.
 *
 * @module
 */

/** An event as the page's listeners read it. */
export interface DomEvent {
  /** The element the event is for. */
  readonly target: unknown;
  /** Cancels the default action (a form's submission, a key's typing). */
  preventDefault(): void;
}

/** A `keydown` event. */
export interface DomKeyboardEvent extends DomEvent {
  /** The key's value, e.g. `Enter`. */
  readonly key: string;
  /** Whether Ctrl was held. */
  readonly ctrlKey: boolean;
  /** Whether ⌘ (Meta) was held. */
  readonly metaKey: boolean;
  /** Whether the key is part of an input method's composition. */
  readonly isComposing: boolean;
}

/** What an element's children may be given as: elements and text. */
export type DomChild = DomElement | string;

/** An HTML element. */
export interface DomElement {
  /** The text of the element and its descendants. */
  textContent: string | null;
  /** The `class` attribute. */
  className: string;
  /** The `title` attribute (the tooltip). */
  title: string;
  /** The `hidden` attribute. */
  hidden: boolean;
  /** The `data-*` attributes, by camel-cased name. */
  readonly dataset: Record<string, string | undefined>;
  /** The element's classes. */
  readonly classList: {
    /** Adds (`force` true) or removes (false) a class. */
    toggle(token: string, force?: boolean): boolean;
    /** Whether the element has a class. */
    contains(token: string): boolean;
  };
  /** The inline style (custom properties only, here). */
  readonly style: { setProperty(name: string, value: string): void };
  /** Appends children. */
  append(...children: DomChild[]): void;
  /** Replaces every child. */
  replaceChildren(...children: DomChild[]): void;
  /** The first descendant matching a selector. */
  querySelector(selectors: string): DomElement | null;
  /** Every descendant matching a selector. */
  querySelectorAll(selectors: string): Iterable<DomElement>;
  /** The nearest ancestor (or itself) matching a selector. */
  closest(selectors: string): DomElement | null;
  /** Reads an attribute. */
  getAttribute(name: string): string | null;
  /** Sets an attribute. */
  setAttribute(name: string, value: string): void;
  /** Removes an attribute. */
  removeAttribute(name: string): void;
  /** Listens for key presses. */
  addEventListener(type: "keydown", listener: (event: DomKeyboardEvent) => void): void;
  /** Listens for an event. */
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
  /** Moves the keyboard focus to the element. */
  focus(): void;
}

/** An `<input>` or `<textarea>`. */
export interface DomInput extends DomElement {
  /** The input's type, e.g. `checkbox`. */
  type: string;
  /** The `name` attribute. */
  name: string;
  /** The value (a text box's text, a checkbox's value). */
  value: string;
  /** Whether a checkbox is checked. */
  checked: boolean;
}

/** The document. */
export interface DomDocument {
  /** The element with an id, or null. */
  getElementById(id: string): DomElement | null;
  /** A new `<input>`. */
  createElement(tagName: "input"): DomInput;
  /** A new element. */
  createElement(tagName: string): DomElement;
}

/**
 * Whether a value is an element with a `checked` state and a value: a checkbox (in the type
 * filter). The page's modules test elements this way, not with `instanceof HTMLInputElement`
 * (no such global under Deno's types).
 *
 * @param target e.g. an event's target
 */
export function isCheckbox(target: unknown): target is DomInput {
  return typeof target === "object" && target !== null &&
    (target as Partial<DomInput>).type === "checkbox" &&
    typeof (target as Partial<DomInput>).checked === "boolean";
}
