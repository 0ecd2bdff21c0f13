/** The Chromium bench's report: rows of run statistics, the target, and their Markdown table. */
import type { Stats } from '../src/harness.js';

export interface ChromiumRow {
  id: string;
  title: string;
  inFlight: number;
  /** 'op': ms per operation (and operations per second); 'run': ms per run of the whole sequence. */
  unit: 'op' | 'run';
  stats: Stats;
  notes: string[];
}

export interface ChromiumTarget {
  name: string;
  want: string;
  /** The measured median, in ms. */
  measured: number;
  met: boolean;
}

export interface ChromiumReport {
  command: string;
  date: string;
  smoke: boolean;
  seconds: number;
  machine: {
    cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; browser: string;
    /** The 1-minute load average when the run began and when it ended: the cores are shared. */
    load: [number, number];
  };
  pbkdf2Iterations: number;
  runs: number;
  loginObjects: number;
  rows: ChromiumRow[];
  targets: ChromiumTarget[];
}

export const LOGIN_TARGET_MS = 1000;

export function targetsOf(rows: ChromiumRow[], loginObjects: number): ChromiumTarget[] {
  const targets: ChromiumTarget[] = [];
  for (const id of ['login', 'login-find', 'login-find-restart']) {
    const row = rows.find((r) => r.id === id);
    if (!row) continue;
    targets.push({
      name: `${row.title}`,
      want: `< ${LOGIN_TARGET_MS} ms with ${loginObjects} private objects`,
      measured: row.stats.median,
      met: row.stats.median < LOGIN_TARGET_MS,
    });
  }
  return targets;
}

/** Three significant digits, never exponent notation. */
export function fmtMs(ms: number): string {
  if (ms >= 100) return Math.round(ms).toLocaleString('en-US');
  return ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toPrecision(2);
}

const fmtRate = (perSecond: number) => (perSecond >= 100 ? Math.round(perSecond).toLocaleString('en-US') : perSecond.toPrecision(3));

export function renderMarkdown(report: ChromiumReport): string {
  const m = report.machine;
  const lines = [
    `Command: \`${report.command}\`${report.smoke ? ' (smoke: tiny counts, figures mean nothing)' : ''}`,
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, ${m.browser} (headless); ${report.date}; ${report.seconds} s; load average ${m.load[0].toFixed(1)} at the start, ${m.load[1].toFixed(1)} at the end`,
    `The packaged worker (connect(), shared mode) over IndexedDB on a persistent profile; PBKDF2 iterations at login: ${report.pbkdf2Iterations}.`,
    `Each figure: median of ${report.runs} runs (min–max); per second only for rates.`,
    '',
    '| Case | In flight | ms (median, min–max) | per second |',
    '|---|--:|--:|--:|',
    ...report.rows.map((r) => `| ${r.title} | ${r.inFlight} | ${fmtMs(r.stats.median)} (${fmtMs(r.stats.min)}–${fmtMs(r.stats.max)})${r.unit === 'op' ? ' per object' : ''} | ${r.unit === 'op' ? fmtRate(r.stats.opsPerSecond) : '—'} |`),
  ];
  const notes = report.rows.flatMap((r) => r.notes.map((n) => `${r.title}: ${n}`));
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  lines.push('', '| Target | Wanted | Measured (median) | Met |', '|---|---|--:|---|');
  for (const t of report.targets) lines.push(`| ${t.name} | ${t.want} | ${fmtMs(t.measured)} ms | ${t.met ? 'met' : 'missed'} |`);
  return `${lines.join('\n')}\n`;
}
