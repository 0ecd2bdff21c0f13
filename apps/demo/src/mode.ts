// The mode notice in the header: which token the page talks to, what that means, and the switch.
import { button, field, h } from './dom.js';

/** Where `pnpm demo:vault` (apps/demo/scripts/with-vault.mjs) serves the vault. */
export const DEV_VAULT = 'http://127.0.0.1:5174';

/** This page's URL with `?vault=` set to `vault`, or removed. */
function withVault(vault: string | undefined): string {
  const url = new URL(location.href);
  if (vault === undefined) url.searchParams.delete('vault');
  else url.searchParams.set('vault', vault);
  return url.href;
}

export function modeNotice(vault: string | undefined): HTMLElement {
  if (vault !== undefined) {
    return h('div', { class: 'mode vault', role: 'note', 'aria-label': 'Mode', 'data-mode': 'vault' },
      h('strong', null, 'Vault mode. '),
      `The token lives in the vault at ${vault}, a page of another origin. PINs are typed into the vault's own dialog, `
      + 'never into this page: the explorer sends C_Login, C_InitToken, C_InitPIN and C_SetPIN without a PIN and learns only the CK_RV. '
      + 'This page sees only the objects it created there. The attack lab still runs its own in-page tokens. ',
      h('a', { href: withVault(undefined) }, 'Switch to worker mode'));
  }
  const origin = h('input', { value: DEV_VAULT, autocomplete: 'off', spellcheck: 'false' });
  const go = (): void => location.assign(withVault(origin.value.trim()));
  return h('div', { class: 'mode worker', role: 'note', 'aria-label': 'Mode', 'data-mode': 'worker' },
    h('strong', null, 'Worker mode. '),
    'The token lives in a worker of this origin: any script of this page could call it, and it sees the PINs typed here. '
    + 'In vault mode the token lives in a page of another origin that asks for PINs itself.',
    h('form', { class: 'inline', onsubmit: (e: Event) => { e.preventDefault(); go(); } },
      field('Vault origin', origin), button('Switch to vault mode', go)));
}
