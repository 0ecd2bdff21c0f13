/**
 * `pnpm bench` (full) or `pnpm bench --smoke` (tiny counts, < 1 minute, for CI): measures the vhsm
 * engine, SoftHSM2 and raw WebCrypto in one run, prints a table of medians and ratios, and writes
 * results/node.json and results/node.md (results/node-smoke.* for smoke runs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openBackends, openToken } from './backends.js';
import type { BackendName, Backends, TokenHandle } from './backends.js';
import { KEYGEN_CASES, OP_CASES } from './crypto-cases.js';
import type { OpCase } from './crypto-cases.js';
import { measureAll } from './harness.js';
import type { Operation, Stats } from './harness.js';
import { findOperation, measureLogin, measurePbkdf2, populate } from './object-cases.js';
import { renderMarkdown, targetsOf } from './report.js';
import type { Report, Row } from './report.js';

interface Options {
  smoke: boolean;
  runs: number;
  targetMs: number;
  objects: number[];
  loginObjects: number[];
  softhsmMaxObjects: number;
  softhsm: boolean;
  only: RegExp | undefined;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const smoke = argv.includes('--smoke') || process.env['VHSM_BENCH_SMOKE'] === '1';
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (s: string | undefined, fallback: number[]) => (s ? s.split(',').map(Number) : fallback);
  const runs = Number(value('--runs') ?? (smoke ? 3 : 7));
  if (!smoke && runs < 5) throw new Error('--runs: at least 5 outside --smoke');
  const only = value('--only');
  return {
    smoke,
    runs,
    targetMs: Number(value('--target-ms') ?? (smoke ? 0 : 300)),
    objects: list(value('--objects'), smoke ? [20, 50, 100] : [1000, 10_000, 100_000]),
    loginObjects: list(value('--login-objects'), smoke ? [20, 50] : [1000, 10_000]),
    // SoftHSM2 writes one file per token object and slows as they add up (≈ 16 objects/s at a few
    // hundred, here): 10 k would take hours.
    softhsmMaxObjects: Number(value('--softhsm-max-objects') ?? (smoke ? 100 : 1000)),
    softhsm: !argv.includes('--no-softhsm'),
    only: only ? new RegExp(only) : undefined,
    out: value('--out') ?? fileURLToPath(new URL(`../results/${smoke ? 'node-smoke' : 'node'}`, import.meta.url)),
  };
}

const log = (...args: unknown[]) => console.error(...args);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const backends = await openBackends(options.softhsm);
  const rows: Row[] = [];
  const wanted = (id: string) => !options.only || options.only.test(id);
  try {
    const names: ('vhsm' | 'softhsm')[] = backends.softhsm ? ['vhsm', 'softhsm'] : ['vhsm'];
    if (!backends.softhsm) log(`SoftHSM2: ${backends.softhsmWhyMissing}`);

    const cryptoCases = [...OP_CASES, ...KEYGEN_CASES].filter((c) => wanted(c.id));
    if (cryptoCases.length > 0) {
      const tokens = new Map<string, TokenHandle>();
      for (const name of names) tokens.set(name, await openToken(backends, name, 8));
      for (const c of cryptoCases) rows.push(...(await runOpCase(c, tokens, options)));
    }

    const findIds = ['find-label', 'find-id'].filter(wanted);
    const loginWanted = wanted('login');
    if (findIds.length > 0 || loginWanted) rows.push(...(await runObjectCases(backends, names, findIds, loginWanted, options)));
  } finally {
    await backends.close();
  }

  const report: Report = {
    command: `pnpm bench${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    smoke: options.smoke,
    seconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version, platform: `${process.platform} ${process.arch}`,
    },
    pbkdf2Iterations: backends.pbkdf2Iterations,
    softhsm: backends.softhsmInfo ?? backends.softhsmWhyMissing ?? 'unknown',
    runs: options.runs,
    rows,
    targets: [],
  };
  report.targets = targetsOf(report);
  const markdown = renderMarkdown(report);
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(`${options.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${options.out}.md`, markdown);
  console.log(markdown);
  log(`wrote ${options.out}.json and ${options.out}.md in ${report.seconds} s`);
}

async function runOpCase(c: OpCase, tokens: Map<string, TokenHandle>, options: Options): Promise<Row[]> {
  const operations = new Map<BackendName, Operation>();
  const failures: string[] = [];
  for (const [name, t0] of tokens) {
    try {
      operations.set(name as BackendName, await c.p11(t0));
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  operations.set('webcrypto', await c.web(crypto.subtle));
  const inFlight = options.smoke && c.id.startsWith('keygen-rsa') ? [1] : c.inFlight;
  const rows: Row[] = [];
  for (const n of inFlight) {
    const results: Partial<Record<BackendName, Stats>> = {};
    try {
      const measured = await measureAll(operations, { runs: options.runs, inFlight: n, targetMs: options.targetMs, maxOps: c.maxOps });
      for (const [name, stats] of measured) results[name] = stats;
    } catch (e) {
      failures.push((e as Error).message);
    }
    log(`${c.id} ×${n}: ${Object.entries(results).map(([k, v]) => `${k} ${v.median.toPrecision(3)} ms`).join(', ')}`);
    rows.push({ id: c.id, title: c.title, inFlight: n, results, notes: [...(c.note ? [c.note] : []), ...new Set(failures)] });
  }
  return rows;
}

async function runObjectCases(backends: Backends, names: ('vhsm' | 'softhsm')[], findIds: string[], loginWanted: boolean, options: Options): Promise<Row[]> {
  const rows: Row[] = [];
  const tokens = new Map<string, TokenHandle>();
  const filled = new Map<string, number>();
  for (const name of names) {
    tokens.set(name, await openToken(backends, name, 8));
    filled.set(name, 0);
  }
  const stages = [...new Set([...(findIds.length > 0 ? options.objects : []), ...(loginWanted ? options.loginObjects : [])])].sort((a, b) => a - b);
  let pbkdf2: Stats | undefined;
  for (const count of stages) {
    const present: ('vhsm' | 'softhsm')[] = [];
    for (const name of names) {
      if (name === 'softhsm' && count > options.softhsmMaxObjects) continue;
      const t0 = tokens.get(name) as TokenHandle;
      const start = performance.now();
      await populate(t0, filled.get(name) as number, count);
      log(`${name}: ${count} objects (${Math.round((count - (filled.get(name) as number)) / ((performance.now() - start) / 1000))} created/s)`);
      filled.set(name, count);
      present.push(name);
    }
    if (findIds.length > 0 && options.objects.includes(count)) {
      for (const id of findIds) {
        const by = id === 'find-label' ? 'label' : 'id';
        const operations = new Map(present.map((name) => [name, findOperation(tokens.get(name) as TokenHandle, count, by)]));
        const measured = await measureAll(operations, { runs: options.runs, inFlight: 1, targetMs: options.targetMs, maxOps: 5000 });
        const results: Partial<Record<BackendName, Stats>> = Object.fromEntries(measured);
        log(`${id} among ${count}: ${Object.entries(results).map(([k, v]) => `${k} ${v.median.toPrecision(3)} ms`).join(', ')}`);
        const notes = present.includes('softhsm') || !backends.softhsm ? [] : [`SoftHSM2 not filled beyond ${options.softhsmMaxObjects} objects`];
        rows.push({ id, title: `C_FindObjects by CKA_${by.toUpperCase()} among ${count} token objects`, inFlight: 1, objects: count, results, notes });
      }
    }
    if (loginWanted && options.loginObjects.includes(count)) {
      pbkdf2 ??= await measurePbkdf2(crypto.subtle, backends.pbkdf2Iterations, options.runs);
      const login: Partial<Record<BackendName, Stats>> = { webcrypto: pbkdf2 };
      const loginAndFind: Partial<Record<BackendName, Stats>> = { webcrypto: pbkdf2 };
      for (const name of present) {
        const stats = await measureLogin(tokens.get(name) as TokenHandle, count, options.runs);
        login[name] = stats.login;
        loginAndFind[name] = stats.loginAndFind;
      }
      log(`login with ${count}: ${Object.entries(login).map(([k, v]) => `${k} ${v.median.toPrecision(3)} ms`).join(', ')}`);
      const note = `PBKDF2-SHA-256 at vhsm's default ${backends.pbkdf2Iterations} iterations; the WebCrypto column is that one derivation alone`;
      rows.push({ id: 'login', title: `C_Login with ${count} private objects`, inFlight: 1, objects: count, results: login, notes: [note] });
      rows.push({ id: 'login-find', title: `C_Login + first C_FindObjects over all ${count} private objects`, inFlight: 1, objects: count, results: loginAndFind, notes: [note] });
    }
  }
  return rows;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
