// The demo's shell: one token for the page, four views over it, chosen by the URL hash.
import 'reflect-metadata';
import { CKF_TOKEN_INITIALIZED } from '@vhsm/pkcs11';
import { chosenVault, openBackend } from './backend.js';
import { fill, h } from './dom.js';
import { modeNotice } from './mode.js';
import { attackLab } from './attacklab.js';
import { explorer } from './explorer.js';
import { playground } from './playground.js';
import { traceLog } from './trace.js';
import { tracePanel } from './tracepanel.js';
import { rvOf } from './format.js';
import { TokenView } from './state.js';

interface View {
  id: string;
  title: string;
  el: HTMLElement;
  /** Called each time the view is shown. */
  show?(): void;
}

const vault = chosenVault();

async function start(): Promise<void> {
  const main = document.getElementById('main') as HTMLElement;
  const nav = document.getElementById('tabs') as HTMLElement;
  const where = document.getElementById('where') as HTMLElement;
  // Shown before connecting: a vault that does not answer takes a while to give up.
  where.after(modeNotice(vault));
  const backend = await openBackend(traceLog, vault);
  where.textContent = `The token lives ${backend.where}.`;
  await backend.pkcs11.C_Initialize();

  const token = new TokenView(backend.pkcs11);
  const explore = explorer(token);
  const play = playground(token);
  token.onChange(() => void explore.render());

  const views: View[] = [
    { id: 'explorer', title: 'Token explorer', el: explore.el },
    { id: 'playground', title: 'Playground', el: play.el, show: () => void play.show() },
    { id: 'trace', title: 'Call trace', el: tracePanel(traceLog) },
    { id: 'attacks', title: 'Attack lab', el: attackLab() },
  ];

  const tabs = views.map((v) => h('a', { href: `#${v.id}`, role: 'tab', id: `tab-${v.id}`, 'aria-controls': `view-${v.id}` }, v.title));
  fill(nav, h('div', { role: 'tablist', 'aria-label': 'Sections' }, ...tabs));
  const panels = views.map((v) => h('section', { id: `view-${v.id}`, role: 'tabpanel', 'aria-labelledby': `tab-${v.id}`, hidden: true }, h('h2', { class: 'sr-only' }, v.title), v.el));
  fill(main, ...panels);

  const route = (): void => {
    const id = location.hash.slice(1) || 'explorer';
    const index = Math.max(0, views.findIndex((v) => v.id === id));
    views.forEach((v, i) => {
      const active = i === index;
      (panels[i] as HTMLElement).hidden = !active;
      (tabs[i] as HTMLElement).setAttribute('aria-selected', String(active));
      (tabs[i] as HTMLElement).tabIndex = active ? 0 : -1;
      if (active) v.show?.();
    });
  };
  // Arrow keys move between tabs, as the ARIA tabs pattern expects.
  nav.addEventListener('keydown', (e) => {
    const i = tabs.findIndex((t) => t === document.activeElement);
    if (i < 0 || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length] as HTMLAnchorElement;
    next.focus();
    next.click();
  });
  window.addEventListener('hashchange', route);
  route();

  // A page that comes back finds its token as it left it; open a session so objects show at once.
  const info = await backend.pkcs11.C_GetTokenInfo(token.slot).catch(() => undefined);
  if (info && (info.flags & CKF_TOKEN_INITIALIZED) !== 0) await token.openSession(true).catch(() => undefined);
  await explore.render();
  document.body.dataset['ready'] = 'true';
}

start().catch((error: unknown) => {
  const main = document.getElementById('main');
  const hint = vault === undefined ? '' : ` (is the vault running at ${vault}, with ${location.origin} on its allow-list, and third-party site data allowed in this browser?)`;
  if (main) fill(main, h('p', { class: 'outcome fail', role: 'alert' }, `The token did not start: ${rvOf(error)}${hint}`));
  throw error;
});
