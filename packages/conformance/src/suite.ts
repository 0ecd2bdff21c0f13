/** The runner: each scenario on a fresh backend, its records, and the comparison of two runs. */
import type { CryptokiApi } from '@vhsm/pkcs11';
import { Context } from './context.js';
import type { CallRecord } from './context.js';

export interface Scenario {
  /** The spec chapter: init, slot, session, login, object, key, cipher, sign, digest, rng, wrap, derive. */
  chapter: string;
  name: string;
  run(t: Context): Promise<void>;
}

/** A backend with a pristine token store and C_Initialize not yet called. */
export interface Backend {
  p11: CryptokiApi;
  /** Finalizes (ignoring CKR_CRYPTOKI_NOT_INITIALIZED) and removes whatever the backend created. */
  close(): Promise<void>;
}

export type MakeBackend = () => Promise<Backend>;

export interface ScenarioResult {
  chapter: string;
  scenario: string;
  records: CallRecord[];
  /** A failure that is not a Pkcs11Error (a backend bug, or a scenario that could not set up). */
  error?: string;
}

export async function runConformance(makeBackend: MakeBackend, scenarios: readonly Scenario[]): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const backend = await makeBackend();
    const t = new Context(backend.p11);
    let error: string | undefined;
    try {
      await scenario.run(t);
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    } finally {
      await backend.close();
    }
    results.push({ chapter: scenario.chapter, scenario: scenario.name, records: t.records, ...(error !== undefined && { error }) });
  }
  return results;
}

export interface ComparisonRow {
  chapter: string;
  scenario: string;
  call: string;
  /** "rv out" of each backend, '—' where one made fewer calls. */
  a: string;
  b: string;
  agree: boolean;
}

function show(r: CallRecord | undefined): string {
  if (r === undefined) return '—';
  return [r.rv, r.out].filter((s) => s !== '').join(' ');
}

/** Pairs the two runs' records call by call, scenario by scenario. */
export function compareRuns(a: readonly ScenarioResult[], b: readonly ScenarioResult[]): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const bByName = new Map(b.map((r) => [`${r.chapter}/${r.scenario}`, r]));
  for (const ra of a) {
    const rb = bByName.get(`${ra.chapter}/${ra.scenario}`);
    const length = Math.max(ra.records.length, rb?.records.length ?? 0);
    for (let i = 0; i < length; i++) {
      const x = ra.records[i];
      const y = rb?.records[i];
      const sa = show(x);
      const sb = show(y);
      rows.push({ chapter: ra.chapter, scenario: ra.scenario, call: x?.call ?? y?.call ?? '', a: sa, b: sb, agree: x?.call === y?.call && sa === sb });
    }
    for (const [name, r] of [['a', ra], ['b', rb]] as const) {
      if (r?.error !== undefined) {
        rows.push({ chapter: ra.chapter, scenario: ra.scenario, call: `error (${name})`, a: ra.error ?? '', b: rb?.error ?? '', agree: false });
      }
    }
  }
  return rows;
}

export interface Agreement {
  calls: number;
  agreed: number;
  /** agreed / calls, 0..1. */
  ratio: number;
}

export function agreement(rows: readonly ComparisonRow[]): Agreement {
  const agreed = rows.filter((r) => r.agree).length;
  return { calls: rows.length, agreed, ratio: rows.length === 0 ? 1 : agreed / rows.length };
}

/** A Markdown table: scenario, call, each backend's outcome, agree. */
export function formatTable(rows: readonly ComparisonRow[], names: readonly [string, string]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| scenario | call | ${names[0]} | ${names[1]} | agree |`, '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(`| ${cell(`${r.chapter}/${r.scenario}`)} | ${cell(r.call)} | ${cell(r.a)} | ${cell(r.b)} | ${r.agree ? 'yes' : 'NO'} |`);
  }
  const { calls, agreed, ratio } = agreement(rows);
  lines.push('', `${agreed} of ${calls} calls agree (${(ratio * 100).toFixed(1)}%).`);
  return lines.join('\n');
}
