/**
 * The vault's prompts as DOM (text only: no HTML strings anywhere), shared by the dialog inside the
 * iframe and the popup window. Each prompt names the requesting origin on a line of its own.
 */
import { CKU_CONTEXT_SPECIFIC, CKU_SO } from '@vhsm/pkcs11';
import type { PinAnswer, PinRequest } from './gate.js';

/** What the vault asks the user: PINs, or consent for an origin to sign. */
export type Prompt = { type: 'pin'; request: PinRequest } | { type: 'consent'; origin: string; action: 'sign' };

/** PIN length bounds of the engine (packages/token: MIN_PIN_LENGTH, MAX_PIN_LENGTH). */
const MIN_PIN = 4;
const MAX_PIN = 64;

export interface PromptForm {
  form: HTMLFormElement;
  submit: HTMLButtonElement;
  cancel: HTMLButtonElement;
  /** The answer, or a message for the user if the fields are not acceptable. */
  read(): { answer: PinAnswer | true } | { problem: string };
  /** What cancelling answers. */
  refusal: undefined | false;
}

function purpose(prompt: Prompt): string {
  if (prompt.type === 'consent') return 'asks to sign with keys in this vault.';
  const r = prompt.request;
  switch (r.kind) {
    case 'login':
      return r.userType === CKU_SO ? 'asks to log in to the vault as security officer.'
        : r.userType === CKU_CONTEXT_SPECIFIC ? 'asks for your PIN to use a protected key once.' : 'asks to log in to the vault.';
    case 'init-token':
      return r.initialized ? `asks to re-initialize the vault as "${r.label}": this erases every key of every site.`
        : `asks to set up the vault as "${r.label}": choose the security officer PIN.`;
    case 'init-pin':
      return 'asks to set the user PIN: choose it.';
    case 'set-pin':
      return `asks to change the ${r.so ? 'security officer' : 'user'} PIN.`;
  }
}

function fieldsOf(prompt: Prompt): string[] {
  if (prompt.type === 'consent') return [];
  const r = prompt.request;
  switch (r.kind) {
    case 'login':
      return [r.userType === CKU_SO ? 'SO PIN' : 'PIN'];
    case 'init-token':
      return r.initialized ? ['Current SO PIN'] : ['New SO PIN', 'Repeat the new SO PIN'];
    case 'init-pin':
      return ['New user PIN', 'Repeat the new user PIN'];
    case 'set-pin':
      return ['Current PIN', 'New PIN', 'Repeat the new PIN'];
  }
}

export function buildPromptForm(doc: Document, prompt: Prompt): PromptForm {
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] => {
    const node = doc.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const form = el('form');
  form.className = 'prompt';
  const origin = el('p', prompt.type === 'consent' ? prompt.origin : prompt.request.origin);
  origin.className = 'origin';
  origin.dataset.testid = 'origin';
  form.append(el('h1', 'vhsm vault'), origin, el('p', purpose(prompt)));
  const inputs = fieldsOf(prompt).map((name, i) => {
    const label = el('label', name);
    const input = el('input');
    input.type = 'password';
    input.autocomplete = 'off';
    input.minLength = MIN_PIN;
    input.maxLength = MAX_PIN;
    input.required = true;
    input.name = `pin${i}`;
    label.append(input);
    form.append(label);
    return input;
  });
  const problem = el('p');
  problem.className = 'problem';
  problem.setAttribute('role', 'alert');
  const cancel = el('button', prompt.type === 'consent' ? 'Deny' : 'Cancel');
  cancel.type = 'button';
  const submit = el('button', prompt.type === 'consent' ? 'Allow' : 'OK');
  submit.type = 'submit';
  const buttons = el('div');
  buttons.className = 'buttons';
  buttons.append(cancel, submit);
  form.append(problem, buttons);
  return {
    form,
    submit,
    cancel,
    refusal: prompt.type === 'consent' ? false : undefined,
    read() {
      if (prompt.type === 'consent') return { answer: true };
      const values = inputs.map((i) => i.value);
      const result = (answer: PinAnswer): { answer: PinAnswer } | { problem: string } => {
        problem.textContent = '';
        return { answer };
      };
      const fail = (why: string): { problem: string } => {
        problem.textContent = why;
        return { problem: why };
      };
      if (values.some((v) => v.length < MIN_PIN || v.length > MAX_PIN)) return fail(`PINs have ${MIN_PIN} to ${MAX_PIN} characters.`);
      const [a = '', b = '', c = ''] = values;
      if (values.length === 1) return result({ pin: a });
      if (values.length === 2) return a === b ? result({ pin: a }) : fail('The two PINs differ.');
      return b === c ? result({ pin: a, newPin: b }) : fail('The two new PINs differ.');
    },
  };
}

/**
 * The storage prompt: the vault's own origin (whose storage it is) and the embedding origin, each
 * on a line of its own, and what allowing means.
 */
export function buildStoragePrompt(doc: Document, origin: string, vaultOrigin: string): Pick<PromptForm, 'form' | 'submit' | 'cancel'> {
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] => {
    const node = doc.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const form = el('form');
  form.className = 'prompt';
  const vault = el('p', vaultOrigin);
  vault.className = 'origin';
  vault.dataset.testid = 'vault-origin';
  const embedder = el('p', origin);
  embedder.className = 'origin';
  embedder.dataset.testid = 'origin';
  form.append(
    el('h1', 'vhsm vault'),
    el('p', 'Allow this vault to use its storage'),
    vault,
    el('p', 'Your browser keeps it from this page. Allowing lets the vault keep your keys there while it is embedded by'),
    embedder,
    el('p', 'Every site you allow shares the same vault; each still sees only its own keys.'),
  );
  const cancel = el('button', 'Not now');
  cancel.type = 'button';
  const submit = el('button', 'Allow');
  submit.type = 'submit';
  const buttons = el('div');
  buttons.className = 'buttons';
  buttons.append(cancel, submit);
  form.append(buttons);
  return { form, submit, cancel };
}
