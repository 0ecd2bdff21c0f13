/**
 * The popup window of the vault's origin (pin.html): asks its opener — the vault iframe, same origin
 * — what to ask, shows the prompt as a top-level window the embedder cannot overlay, and answers.
 */
import { POPUP_ANSWER, POPUP_PROMPT, POPUP_READY } from './dialog.js';
import { buildPromptForm } from './form.js';
import type { Prompt } from './form.js';

const root = document.getElementById('vault');
const opener = window.opener as Window | null;
if (root && opener) {
  addEventListener('message', (event) => {
    if (event.source !== opener || event.origin !== location.origin) return;
    const data = event.data as { type?: unknown; prompt?: Prompt };
    if (data?.type !== POPUP_PROMPT || !data.prompt) return;
    const parts = buildPromptForm(document, data.prompt);
    root.replaceChildren(parts.form);
    const answer = (value: unknown): void => {
      opener.postMessage({ type: POPUP_ANSWER, answer: value }, location.origin);
      window.close();
    };
    parts.cancel.addEventListener('click', () => answer(parts.refusal));
    parts.form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!e.isTrusted) return;
      const read = parts.read();
      if ('answer' in read) answer(read.answer);
    });
    parts.form.querySelector('input')?.focus();
  });
  opener.postMessage({ type: POPUP_READY }, location.origin);
}
