// Running an action from a button: show what it answered (CKR_OK or the CK_RV) next to the button.
import { h } from './dom.js';
import { rvOf } from './format.js';

/** A live region for the outcome of a card's actions. */
export function outcome(): HTMLOutputElement {
  return h('output', { class: 'outcome', 'aria-live': 'polite' });
}

/**
 * Runs `work`, writing its success text or the failure's CK_RV name into `out`. Resolves the
 * result, or undefined after a failure (which is shown, not thrown: a refusal is an answer).
 */
export async function act<T>(out: HTMLElement, work: () => Promise<T>, success?: (value: T) => string): Promise<T | undefined> {
  out.className = 'outcome busy';
  out.textContent = 'working…';
  try {
    const value = await work();
    out.className = 'outcome ok';
    out.textContent = success ? success(value) : 'CKR_OK';
    return value;
  } catch (error) {
    out.className = 'outcome fail';
    out.textContent = rvOf(error);
    return undefined;
  }
}

export function badge(text: string, kind: 'on' | 'off' | 'warn' | 'bad' = 'on'): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
