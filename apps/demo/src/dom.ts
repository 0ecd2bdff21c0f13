// A tiny DOM builder: the demo is plain TypeScript, no framework to download or learn.

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | null | undefined>;

/** `h('button', { onclick, class: 'x' }, 'text')`. `on*` props are listeners; `value`/`checked` are properties. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'selected') (el as unknown as Record<string, unknown>)[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the content of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let nextId = 0;
/** A unique id for label/for pairs. */
export const uid = (prefix: string): string => `${prefix}-${++nextId}`;

/** A labelled control: `<label for>` + the control, in one block. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  if (!control.id) control.id = uid('f');
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('small', null, hint) : null);
}

export function checkbox(label: string, checked: boolean, name?: string): { el: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { type: 'checkbox', checked, id: uid('c'), name: name ?? null });
  return { el: h('label', { class: 'check', for: input.id }, input, ' ', label), input };
}

export function select(options: readonly (readonly [string, string])[], value?: string, props?: Props): HTMLSelectElement {
  const el = h('select', props ?? null, ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  if (value !== undefined) el.value = value;
  return el;
}

export function button(text: string, onclick: () => unknown, props?: Props): HTMLButtonElement {
  return h('button', { type: 'button', ...props, onclick: () => void onclick() }, text);
}

export function card(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card', 'aria-label': title }, h('h3', null, title), ...children);
}
