// The call trace: every C_ call, its arguments (secrets redacted), the CK_RV and the time it took.
import { ckaName, ckmName, ckuName, constantName } from '@vhsm/pkcs11';
import { button, checkbox, field, fill, h, select } from './dom.js';
import { flagNames, SESSION_FLAGS } from './format.js';
import type { TraceEntry, TraceLog } from './trace.js';

const MAX_ROWS = 500;

/** Numbers shown by their spec names, as pkcs11-spy prints them: attribute types, mechanisms, MGFs. */
function named(key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (key === 'type') return ckaName(value);
  if (key === 'mechanism' || key === 'hashAlg' || key === 'prfHashMechanism' || key === 'prf') return ckmName(value);
  if (key === 'mgf') return constantName('CKG_MGF1', value);
  return value;
}
const show = (value: unknown): string => JSON.stringify(value, named) ?? '';

/** Positional arguments that are constants: (function, position) → their name. */
const POSITIONAL: Readonly<Record<string, Readonly<Record<number, (v: number) => string>>>> = {
  C_GetMechanismInfo: { 1: ckmName },
  C_Login: { 1: ckuName },
  C_LoginUser: { 1: ckuName },
  C_OpenSession: { 1: (flags) => flagNames(flags, SESSION_FLAGS).map((f) => `CKF_${f}_SESSION`).join('|') },
};

function namedArgs(fn: string, args: readonly unknown[]): unknown[] {
  const names = POSITIONAL[fn];
  return names ? args.map((a, i) => (typeof a === 'number' && names[i] ? names[i](a) : a)) : [...args];
}
const showArgs = (fn: string, args: readonly unknown[]): string => show(namedArgs(fn, args));

export function tracePanel(log: TraceLog): HTMLElement {
  const text = h('input', { type: 'search', placeholder: 'C_Sign, CKR_PIN_INCORRECT, 0x1087…', autocomplete: 'off' });
  const outcomeFilter = select([['all', 'all calls'], ['fail', 'failures only'], ['ok', 'CKR_OK only']], 'all');
  const sourceFilter = select([['', 'every token'], ['token', 'the demo token'], ['lab:spec', 'attack lab, spec'], ['lab:strict', 'attack lab, strict']], '');
  const record = checkbox('record', true);
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const body = h('tbody');
  let paused: TraceEntry[] | undefined;

  const matches = (e: TraceEntry): boolean => {
    if (outcomeFilter.value === 'fail' && e.code === 0) return false;
    if (outcomeFilter.value === 'ok' && e.code !== 0) return false;
    if (sourceFilter.value !== '' && e.source !== sourceFilter.value) return false;
    const needle = text.value.trim().toLowerCase();
    return needle === '' || `${e.fn} ${e.rv} ${e.source} ${showArgs(e.fn, e.args)}`.toLowerCase().includes(needle);
  };
  const shown = (): TraceEntry[] => (paused ?? log.entries).filter(matches);

  const row = (e: TraceEntry): HTMLElement => {
    const args = showArgs(e.fn, e.args);
    return h('tr', { class: e.code === 0 ? null : 'failed' },
      h('td', null, String(e.seq)), h('td', null, (e.start / 1000).toFixed(3)), h('td', null, e.source),
      h('td', null, h('code', null, e.fn)), h('td', { class: 'args' }, h('code', { title: args }, args)),
      h('td', null, h('code', null, e.result === undefined ? '' : show(e.result))),
      h('td', null, h('code', { class: e.code === 0 ? 'rv ok' : 'rv fail' }, e.rv)), h('td', { class: 'num' }, e.duration.toFixed(1)));
  };

  let scheduled = false;
  const render = (): void => {
    scheduled = false;
    const entries = shown();
    count.textContent = `${entries.length} of ${log.entries.length} calls`;
    fill(body, ...entries.slice(-MAX_ROWS).reverse().map(row));
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  };
  log.subscribe(() => {
    if (!paused) schedule();
  });
  for (const control of [text, outcomeFilter, sourceFilter]) control.addEventListener('input', render);
  record.input.addEventListener('change', () => {
    paused = record.input.checked ? undefined : [...log.entries];
    render();
  });

  const exportJson = (): void => {
    const blob = new Blob([JSON.stringify(shown().map((e) => ({ ...e, args: namedArgs(e.fn, e.args) })), named, 2)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `vhsm-trace-${new Date().toISOString().replace(/[:.]/g, '-')}.json` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  render();
  return h('div', { class: 'trace' },
    h('section', { class: 'card', 'aria-label': 'Trace controls' },
      h('p', { class: 'muted' }, 'Every C_ call this page makes, like OpenSC\'s pkcs11-spy. PINs, key values and passwords are replaced by <redacted>; results show byte strings by length only.'),
      h('div', { class: 'row' }, field('Filter', text), field('Outcome', outcomeFilter), field('Token', sourceFilter)),
      h('div', { class: 'actions' }, record.el, button('Export JSON', exportJson), button('Clear', () => { log.clear(); render(); }), count)),
    h('div', { class: 'card scroll' },
      h('table', { class: 'grid trace-table', 'aria-label': 'Call trace' },
        h('thead', null, h('tr', null, ...['#', 'Time (s)', 'Token', 'Function', 'Arguments', 'Result', 'CK_RV', 'ms'].map((t) => h('th', { scope: 'col' }, t)))),
        body)));
}
