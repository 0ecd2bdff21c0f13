/**
 * The report: rows of medians, the ratios against the baselines of the same run, and the issue's
 * targets checked against them. Ratios are speed ratios: baseline time ÷ vhsm time, so 2.0 means
 * vhsm does twice the operations per second.
 */
import type { BackendName } from './backends.js';
import type { Stats } from './harness.js';

export interface Row {
  id: string;
  title: string;
  inFlight: number;
  objects?: number;
  results: Partial<Record<BackendName, Stats>>;
  notes: string[];
}

export interface Target {
  name: string;
  /** The measured ratio (see `want`), undefined when a figure is missing. */
  ratio: number | undefined;
  want: string;
  met: boolean | undefined;
}

export interface Report {
  command: string;
  date: string;
  smoke: boolean;
  seconds: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  pbkdf2Iterations: number;
  softhsm: string;
  runs: number;
  rows: Row[];
  targets: Target[];
}

/** Baseline time ÷ vhsm time. */
export function speedRatio(row: Row | undefined, baseline: BackendName): number | undefined {
  const vhsm = row?.results.vhsm;
  const other = row?.results[baseline];
  return vhsm && other ? other.median / vhsm.median : undefined;
}

function find(report: Report, id: string, inFlight = 1, objects?: number): Row | undefined {
  return report.rows.find((r) => r.id === id && r.inFlight === inFlight && r.objects === objects);
}

export function targetsOf(report: Report): Target[] {
  const targets: Target[] = [];
  const atLeast = (name: string, ratio: number | undefined, min: number) =>
    targets.push({ name, ratio, want: `vhsm ÷ SoftHSM2 ≥ ${min}`, met: ratio === undefined ? undefined : ratio >= min });
  atLeast('AES-256-GCM 1 KiB', speedRatio(find(report, 'aes-gcm-1k'), 'softhsm'), 1);
  atLeast('ECDSA P-256 sign', speedRatio(find(report, 'ecdsa-sign'), 'softhsm'), 1);
  atLeast('RSA-2048 sign PKCS#1 v1.5', speedRatio(find(report, 'rsa-pkcs1-sign'), 'softhsm'), 1);
  atLeast('RSA-2048 sign PSS', speedRatio(find(report, 'rsa-pss-sign'), 'softhsm'), 1);
  const objects = report.rows.filter((r) => r.id === 'find-label').map((r) => r.objects as number);
  const smallest = objects.length > 0 ? Math.min(...objects) : 1000;
  const largest = objects.length > 0 ? Math.max(...objects) : 100_000;
  for (const by of ['label', 'id']) {
    atLeast(`find by CKA_${by.toUpperCase()} among ${smallest} token objects`, speedRatio(find(report, `find-${by}`, 1, smallest), 'softhsm'), 100);
  }
  for (const kind of ['aes', 'ec', 'rsa']) {
    atLeast(`token-object key generation (${kind.toUpperCase()})`, speedRatio(find(report, `keygen-${kind}-token`), 'softhsm'), 10);
  }
  for (const by of ['label', 'id']) {
    const big = find(report, `find-${by}`, 1, largest)?.results.vhsm;
    const small = find(report, `find-${by}`, 1, smallest)?.results.vhsm;
    const ratio = big && small ? big.median / small.median : undefined;
    targets.push({
      name: `find by CKA_${by.toUpperCase()}: ${largest} objects vs ${smallest}`, ratio,
      want: `vhsm time ÷ time at ${smallest} ≤ 2`, met: ratio === undefined ? undefined : ratio <= 2,
    });
  }
  return targets;
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toPrecision(3) : ms.toPrecision(2));
const fmtOps = (ops: number) => (ops >= 100 ? Math.round(ops).toLocaleString('en-US') : ops.toPrecision(3));
const fmtRatio = (r: number | undefined) => (r === undefined ? '—' : r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`);

function cell(s: Stats | undefined): string[] {
  if (!s) return ['—', '—'];
  return [`${fmtMs(s.median)} (${fmtMs(s.min)}–${fmtMs(s.max)})`, fmtOps(s.opsPerSecond)];
}

export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`Command: \`${report.command}\`${report.smoke ? ' (smoke: tiny counts, figures mean nothing)' : ''}`);
  lines.push(`Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ${report.date}; ${report.seconds} s`);
  lines.push(`Baselines: ${report.softhsm} through @vhsm/native; Node's WebCrypto. PBKDF2 iterations at login: ${report.pbkdf2Iterations}.`);
  lines.push(`Each figure: ms per operation, median of ${report.runs} runs (min–max), and operations per second at the median.`);
  lines.push('Ratios are speed ratios: the baseline\'s time ÷ vhsm\'s (above 1 = vhsm faster).');
  lines.push('');
  lines.push('| Case | In flight | vhsm ms | vhsm ops/s | SoftHSM2 ms | SoftHSM2 ops/s | WebCrypto ms | WebCrypto ops/s | vhsm ÷ SoftHSM2 | vhsm ÷ WebCrypto |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const row of report.rows) {
    lines.push(`| ${row.title} | ${row.inFlight} | ${[...cell(row.results.vhsm), ...cell(row.results.softhsm), ...cell(row.results.webcrypto)].join(' | ')} | ${fmtRatio(speedRatio(row, 'softhsm'))} | ${fmtRatio(speedRatio(row, 'webcrypto'))} |`);
  }
  const notes = report.rows.flatMap((r) => r.notes.map((n) => `${r.title}: ${n}`));
  if (notes.length > 0) {
    lines.push('');
    for (const n of new Set(notes)) lines.push(`- ${n}`);
  }
  lines.push('');
  lines.push('| Target | Wanted | Measured | Met |');
  lines.push('|---|---|--:|---|');
  for (const t of report.targets) {
    lines.push(`| ${t.name} | ${t.want} | ${t.ratio === undefined ? '—' : t.ratio.toFixed(2)} | ${t.met === undefined ? 'no figure' : t.met ? 'met' : 'missed'} |`);
  }
  return `${lines.join('\n')}\n`;
}
