/**
 * The vault's prompts, with the defences against an embedder that would trick the user into typing
 * a PIN or allowing an operation (clickjacking, overlays):
 * - only allow-listed origins may frame the vault at all (CSP frame-ancestors);
 * - the requesting origin is shown on a line of its own;
 * - inside the iframe, the OK button works only once IntersectionObserver v2 has reported the
 *   prompt visible (not covered, not transparent, not transformed) for VISIBLE_FOR ms without a
 *   break, and only for trusted events while the vault's document has focus;
 * - where IntersectionObserver v2 is missing (or with `dialog: 'popup'`), the iframe shows only a
 *   button that opens a window of the vault's own origin, where the user answers: a top-level
 *   window the embedder cannot overlay or restyle. The storage-access prompt is the exception: it
 *   stays in the iframe (see askStorageAccess).
 */
import type { PinAnswer, PinRequest, VaultUi } from './gate.js';
import { buildPromptForm, buildStoragePrompt } from './form.js';
import type { Prompt, PromptForm } from './form.js';

/** How long the prompt must have been visible before OK works (longer than a hand's reaction). */
export const VISIBLE_FOR = 500;
/** A prompt nobody answers is cancelled. */
const PROMPT_TIMEOUT = 120_000;

export const POPUP_READY = 'vhsm-vault:popup-ready';
export const POPUP_PROMPT = 'vhsm-vault:popup-prompt';
export const POPUP_ANSWER = 'vhsm-vault:popup-answer';

/** Asks the embedder to show or hide the iframe (the vault cannot move itself). */
export interface FrameControl {
  show(): void;
  hide(): void;
}

interface VisibilityEntry extends IntersectionObserverEntry {
  readonly isVisible?: boolean;
}

export function hasVisibilityTracking(): boolean {
  return typeof IntersectionObserverEntry === 'function' && 'isVisible' in IntersectionObserverEntry.prototype;
}

type Answer = PinAnswer | boolean | undefined;

export class VaultDialogs implements VaultUi {
  readonly #root: HTMLElement;
  readonly #frame: FrameControl;
  readonly #popup: boolean;

  constructor(root: HTMLElement, frame: FrameControl, mode: 'auto' | 'popup') {
    this.#root = root;
    this.#frame = frame;
    this.#popup = mode === 'popup' || !hasVisibilityTracking();
  }

  async askPin(request: PinRequest): Promise<PinAnswer | undefined> {
    const answer = await this.#ask({ type: 'pin', request });
    return typeof answer === 'object' ? answer : undefined;
  }

  async askConsent(origin: string, action: 'sign'): Promise<boolean> {
    return (await this.#ask({ type: 'consent', origin, action })) === true;
  }

  /**
   * The vault has no storage here: asks the user to let it use its own (the Storage Access API).
   * `request` runs inside the click on Allow, the user activation the browser requires. Resolves
   * what `request` resolved, or the reason there is none (declined, refused by the browser, not
   * answered). Always in the iframe, even in popup mode: requestStorageAccess needs a user
   * activation of this document, which a popup cannot give it. Allow is guarded like OK in the
   * other prompts (visibility proof, trusted event, focus); without IntersectionObserver v2 it
   * only waits VISIBLE_FOR ms after the prompt appears.
   */
  async askStorageAccess<T>(origin: string, request: () => Promise<T>): Promise<T | string> {
    const idle = [...this.#root.childNodes];
    this.#frame.show();
    const cleanups: (() => void)[] = [];
    try {
      return await new Promise<T | string>((resolve) => {
        const timer = setTimeout(() => resolve('nobody answered the vault\'s storage prompt'), PROMPT_TIMEOUT);
        cleanups.push(() => clearTimeout(timer));
        const parts = buildStoragePrompt(document, origin, location.origin);
        this.#root.replaceChildren(parts.form);
        const guard = hasVisibilityTracking() ? guardVisibility(parts) : guardDelay(parts);
        cleanups.push(guard.stop);
        parts.cancel.addEventListener('click', () => resolve('the user declined to let the vault use its storage'));
        parts.form.addEventListener('submit', (event) => {
          event.preventDefault();
          if (!event.isTrusted || !guard.armed() || !document.hasFocus()) return;
          // Answered once: the guard must not enable Allow again while the browser decides.
          guard.stop();
          parts.submit.disabled = true;
          // Called synchronously within the click: the activation is what the browser checks.
          request().then(resolve, (e: unknown) => resolve(`the browser refused the vault storage access (${(e as Error)?.name ?? 'Error'})`));
        });
      });
    } finally {
      for (const cleanup of cleanups) cleanup();
      this.#root.replaceChildren(...idle);
      this.#frame.hide();
    }
  }

  async #ask(prompt: Prompt): Promise<Answer> {
    const idle = [...this.#root.childNodes];
    this.#frame.show();
    const cleanups: (() => void)[] = [];
    try {
      return await new Promise<Answer>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), PROMPT_TIMEOUT);
        cleanups.push(() => clearTimeout(timer));
        if (this.#popup) this.#viaPopup(prompt, resolve, cleanups);
        else this.#inFrame(prompt, resolve, cleanups);
      });
    } finally {
      for (const cleanup of cleanups) cleanup();
      this.#root.replaceChildren(...idle);
      this.#frame.hide();
    }
  }

  #inFrame(prompt: Prompt, resolve: (answer: Answer) => void, cleanups: (() => void)[]): void {
    const parts = buildPromptForm(document, prompt);
    this.#root.replaceChildren(parts.form);
    const guard = guardVisibility(parts);
    cleanups.push(guard.stop);
    parts.cancel.addEventListener('click', () => resolve(parts.refusal));
    parts.form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!event.isTrusted || !guard.armed() || !document.hasFocus()) return;
      const read = parts.read();
      if ('answer' in read) resolve(read.answer);
    });
    parts.form.querySelector('input')?.focus();
  }

  #viaPopup(prompt: Prompt, resolve: (answer: Answer) => void, cleanups: (() => void)[]): void {
    const origin = prompt.type === 'consent' ? prompt.origin : prompt.request.origin;
    const intro = document.createElement('div');
    intro.className = 'prompt';
    const who = document.createElement('p');
    who.className = 'origin';
    who.dataset.testid = 'origin';
    who.textContent = origin;
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = 'Open the vault window';
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.textContent = 'Cancel';
    const heading = document.createElement('h1');
    heading.textContent = 'vhsm vault';
    const text = document.createElement('p');
    text.textContent = 'needs you in a window of its own.';
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    buttons.append(cancel, open);
    intro.append(heading, who, text, buttons);
    this.#root.replaceChildren(intro);
    const refusal = prompt.type === 'consent' ? false : undefined;
    cancel.addEventListener('click', () => resolve(refusal));
    let popup: Window | null = null;
    const onMessage = (event: MessageEvent): void => {
      if (popup === null || event.source !== popup || event.origin !== location.origin) return;
      const data = event.data as { type?: unknown; answer?: unknown };
      if (data?.type === POPUP_READY) popup.postMessage({ type: POPUP_PROMPT, prompt }, location.origin);
      if (data?.type === POPUP_ANSWER) resolve(validAnswer(prompt, data.answer));
    };
    addEventListener('message', onMessage);
    const watch = setInterval(() => {
      if (popup?.closed) resolve(refusal);
    }, 250);
    cleanups.push(() => {
      removeEventListener('message', onMessage);
      clearInterval(watch);
      popup?.close();
    });
    open.addEventListener('click', (event) => {
      if (!event.isTrusted) return;
      popup = window.open(new URL('./pin.html', location.href), '_blank', 'popup,width=460,height=460');
    });
  }
}

/** An answer from the popup, checked against what was asked. */
function validAnswer(prompt: Prompt, answer: unknown): Answer {
  if (prompt.type === 'consent') return answer === true;
  if (typeof answer !== 'object' || answer === null) return undefined;
  const { pin, newPin } = answer as { pin?: unknown; newPin?: unknown };
  if (typeof pin !== 'string') return undefined;
  if (prompt.request.kind === 'set-pin') return typeof newPin === 'string' ? { pin, newPin } : undefined;
  return { pin };
}

/** Whether a submit may count now; `stop` ends the watching. */
interface Guard {
  armed(): boolean;
  stop(): void;
}

type Guarded = Pick<PromptForm, 'form' | 'submit'>;

/** OK is enabled only while IntersectionObserver v2 has seen the prompt visible for VISIBLE_FOR ms. */
function guardVisibility(parts: Guarded): Guard {
  let since: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  parts.submit.disabled = true;
  const observer = new IntersectionObserver((entries) => {
    const entry = entries[entries.length - 1] as VisibilityEntry | undefined;
    clearTimeout(timer);
    if (entry?.isVisible === true) {
      since ??= performance.now();
      timer = setTimeout(() => (parts.submit.disabled = false), VISIBLE_FOR);
    } else {
      since = undefined;
      parts.submit.disabled = true;
    }
  }, { threshold: [1], trackVisibility: true, delay: 100 } as IntersectionObserverInit);
  observer.observe(parts.form);
  return {
    armed: () => since !== undefined && performance.now() - since >= VISIBLE_FOR,
    stop() {
      clearTimeout(timer);
      observer.disconnect();
    },
  };
}

/**
 * Where IntersectionObserver v2 is missing and the prompt cannot move to a popup (storage access):
 * Allow works VISIBLE_FOR ms after the prompt appeared, so a decoy cannot slide it under a click
 * already on its way. It cannot tell whether the prompt is covered.
 */
function guardDelay(parts: Guarded): Guard {
  const shown = performance.now();
  parts.submit.disabled = true;
  const timer = setTimeout(() => (parts.submit.disabled = false), VISIBLE_FOR);
  return {
    armed: () => performance.now() - shown >= VISIBLE_FOR,
    stop: () => clearTimeout(timer),
  };
}
