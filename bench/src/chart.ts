/**
 * `pnpm --filter @vhsm/bench chart [results/node.json] [out.svg]`: the speed ratios of a report as
 * a horizontal bar chart on a log scale (SVG, no dependencies), for docs/performance.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { speedRatio } from './report.js';
import type { Report } from './report.js';

const input = process.argv[2] ?? fileURLToPath(new URL('../results/node.json', import.meta.url));
const output = process.argv[3] ?? fileURLToPath(new URL('../../docs/performance-node.svg', import.meta.url));
const report = JSON.parse(readFileSync(input, 'utf8')) as Report;

const rows = report.rows
  .map((row) => ({ row, soft: speedRatio(row, 'softhsm'), web: speedRatio(row, 'webcrypto') }))
  .filter((r) => r.soft !== undefined || r.web !== undefined);

const LEFT = 430;
const WIDTH = 980;
const ROW = 26;
const TOP = 60;
const MIN = 0.001;
const MAX = 10_000;
const plot = WIDTH - LEFT - 30;
const x = (ratio: number) => LEFT + (Math.log10(Math.min(Math.max(ratio, MIN), MAX) / MIN) / Math.log10(MAX / MIN)) * plot;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (r: number) => (r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`);
const height = TOP + rows.length * ROW + 40;

const parts: string[] = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`);
parts.push(`<rect width="100%" height="100%" fill="white"/>`);
parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">vhsm speed ratios, Node (baseline time ÷ vhsm time; right of 1× = vhsm faster)</text>`);
parts.push(`<rect x="10" y="32" width="12" height="10" fill="#2b6cb0"/><text x="26" y="41">vs SoftHSM2</text>`);
parts.push(`<rect x="120" y="32" width="12" height="10" fill="#a0aec0"/><text x="136" y="41">vs raw WebCrypto</text>`);
parts.push(`<text x="260" y="41" fill="#555">${esc(`${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}, ${report.date.slice(0, 10)}`)}</text>`);
for (const tick of [0.001, 0.01, 0.1, 1, 10, 100, 1000, 10_000]) {
  const tx = x(tick);
  parts.push(`<line x1="${tx}" y1="${TOP - 8}" x2="${tx}" y2="${TOP + rows.length * ROW}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
  parts.push(`<text x="${tx}" y="${TOP + rows.length * ROW + 16}" text-anchor="middle" fill="#555">${tick}×</text>`);
}
rows.forEach(({ row, soft, web }, i) => {
  const y = TOP + i * ROW;
  const label = `${row.title}${row.inFlight > 1 ? ` — ${row.inFlight} in flight` : ''}`;
  parts.push(`<text x="${LEFT - 8}" y="${y + 15}" text-anchor="end">${esc(label)}</text>`);
  const bar = (ratio: number | undefined, dy: number, color: string) => {
    if (ratio === undefined) return;
    const x0 = x(1);
    const x1 = x(ratio);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + dy}" width="${Math.max(Math.abs(x1 - x0), 1)}" height="9" fill="${color}"/>`);
    parts.push(`<text x="${x1 + (ratio >= 1 ? 4 : -4)}" y="${y + dy + 8}" text-anchor="${ratio >= 1 ? 'start' : 'end'}" font-size="10" fill="#333">${fmt(ratio)}</text>`);
  };
  bar(soft, 3, '#2b6cb0');
  bar(web, 13, '#a0aec0');
});
parts.push('</svg>');
writeFileSync(output, `${parts.join('\n')}\n`);
console.error(`wrote ${output}`);
