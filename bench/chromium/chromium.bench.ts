/**
 * Chromium figures for docs/performance.md, through the packaged worker over IndexedDB on a real
 * (persistent) profile: token-object creation rate, login with N private objects at the default
 * PBKDF2 count, and connect() to the first signature (cold, reload, browser restart). Timing is
 * reported, never asserted; the runs do assert that every operation did what it should.
 *
 *   pnpm --filter @vhsm/bench run bench:chromium                          full run, ≈ 2 minutes
 *   VHSM_BENCH_SMOKE=1 pnpm --filter @vhsm/bench run bench:chromium       tiny counts, keeps it working
 *
 * Knobs (environment): BENCH_RUNS (≥ 5 outside smoke; default 7), BENCH_LOGIN_OBJECTS (default
 * 10000), BENCH_TARGET_MS (wall time of one creation run, default 500). Writes
 * bench/results/chromium.json and chromium.md (chromium-smoke.* in a smoke run).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { CHROMIUM } from '../../e2e/chromium.js';
import { serve } from '../../e2e/persistence/server.js';
import { buildPage } from '../../e2e/worker/fixtures.js';
import { summarize } from '../src/harness.js';
import type { Stats } from '../src/harness.js';
import type { ColdLogin, CreateKind, FirstSignature, LoginRun } from './app/page.js';
import { renderMarkdown, targetsOf } from './report.js';
import type { ChromiumReport, ChromiumRow } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const SMOKE = process.env.VHSM_BENCH_SMOKE === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? (SMOKE ? 2 : 7));
const LOGIN_OBJECTS = Number(process.env.BENCH_LOGIN_OBJECTS ?? (SMOKE ? 50 : 10_000));
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? (SMOKE ? 20 : 500));
const MAX_OPS = 4096;
/** The engine's DEFAULT_PBKDF2_ITERATIONS, which the packaged worker keeps (a label: importing @vhsm/token here would need its build). */
const PBKDF2_ITERATIONS = 600_000;
const LANES = 16;

const CREATE: { kind: CreateKind; title: string }[] = [
  { kind: 'aes-keygen', title: 'C_GenerateKey AES-256, private token object' },
  { kind: 'data-object', title: 'C_CreateObject data object (256 B), private token object' },
  { kind: 'raw-put', title: 'Raw IndexedDB: one 768 B record per readwrite transaction, strict durability (the floor)' },
];

if (!SMOKE && RUNS < 5) throw new Error('BENCH_RUNS: at least 5 runs outside a smoke run');

test('Chromium: IndexedDB creation rate, login with private objects, connect() to first signature', async () => {
  const began = Date.now();
  const loadAtStart = loadavg()[0] as number;
  const out = await mkdtemp(join(tmpdir(), 'vhsm-chromium-bench-'));
  await buildPage(join(here, 'app'), out);
  const { origin, server } = await serve(out);
  const errors: string[] = [];
  const dirs: string[] = [];
  const contexts = new Set<BrowserContext>();
  // A persistent context has no Browser object to ask, and the user agent string is reduced.
  const probe = await chromium.launch(CHROMIUM);
  const browser = `Chromium ${probe.version()}`;
  await probe.close();

  /** A browser on the profile in `dir` (a fresh one if omitted), with its first tab on the bench page. */
  const launch = async (dir?: string, query = ''): Promise<{ context: BrowserContext; page: Page; dir: string }> => {
    const profile = dir ?? (await mkdtemp(join(tmpdir(), 'vhsm-chromium-profile-')));
    if (!dir) dirs.push(profile);
    const context = await chromium.launchPersistentContext(profile, CHROMIUM);
    contexts.add(context);
    context.on('weberror', (e) => errors.push(`web: ${e.error().message}`));
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    await page.goto(`${origin}/${query}`);
    return { context, page, dir: profile };
  };
  const close = async (context: BrowserContext): Promise<void> => {
    contexts.delete(context);
    await context.close();
  };
  const rows: ChromiumRow[] = [];

  try {
    await test.step('token-object creation in IndexedDB', async () => {
      const { context, page } = await launch();
      await page.evaluate((n) => window.chromiumBench.open(n), LANES);
      const run = async (kind: CreateKind, inFlight: number, ops: number): Promise<number> => {
        const ms = await page.evaluate(([k, f, o]) => window.chromiumBench.createRun(k, f, o), [kind, inFlight, ops] as const);
        await page.evaluate(() => window.chromiumBench.destroyCreated());
        return ms / ops;
      };
      for (const inFlight of [1, LANES]) {
        // Warm-up batches double until one takes a third of a run; the last one sizes the runs.
        const sizes = new Map<CreateKind, number>();
        for (const { kind } of CREATE) {
          let batch = inFlight;
          let perOp = await run(kind, inFlight, batch);
          while (perOp * batch < TARGET_MS / 3 && batch < MAX_OPS) {
            batch = Math.min(batch * 2, MAX_OPS);
            perOp = await run(kind, inFlight, batch);
          }
          const wanted = Math.min(Math.max(Math.ceil(TARGET_MS / perOp), inFlight), MAX_OPS);
          sizes.set(kind, Math.ceil(wanted / inFlight) * inFlight);
        }
        // The two kinds alternate run by run, so load from elsewhere lands on both.
        const times = new Map<CreateKind, number[]>(CREATE.map(({ kind }) => [kind, []]));
        for (let r = 0; r < RUNS; r++) {
          for (const { kind } of CREATE) times.get(kind)?.push(await run(kind, inFlight, sizes.get(kind) as number));
        }
        const stats = new Map(CREATE.map(({ kind }) => [kind, summarize(times.get(kind) as number[], sizes.get(kind) as number)]));
        const raw = stats.get('raw-put') as Stats;
        for (const { kind, title } of CREATE) {
          const s = stats.get(kind) as Stats;
          const notes = kind === 'raw-put' ? [] : [`at ${inFlight} in flight: ${(s.median / raw.median).toFixed(1)}× the time of the raw write`];
          rows.push({ id: kind, title, inFlight, unit: 'op', stats: s, notes });
        }
      }
      await close(context);
    });

    await test.step(`login with ${LOGIN_OBJECTS} private objects`, async () => {
      const { context, page, dir } = await launch();
      await page.evaluate((n) => window.chromiumBench.open(n), LANES);
      const fillMs = await page.evaluate(([count, lanes]) => window.chromiumBench.fill(count, lanes), [LOGIN_OBJECTS, LANES] as const);
      // One untimed round first: the find's code paths are compiled before they count.
      await page.evaluate((n) => window.chromiumBench.loginRun(n), LOGIN_OBJECTS);
      const runs: LoginRun[] = [];
      const floor: number[] = [];
      const unseal: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        runs.push(await page.evaluate((n) => window.chromiumBench.loginRun(n), LOGIN_OBJECTS));
        floor.push(await page.evaluate((i) => window.chromiumBench.pbkdf2(i), PBKDF2_ITERATIONS));
        unseal.push(await page.evaluate((n) => window.chromiumBench.rawUnseal(n), LOGIN_OBJECTS));
      }
      await close(context);
      // The same token in a browser started again: the worker reads every record before the login.
      // Each in its own browser, so neither warms IndexedDB's caches for the other.
      const cold: ColdLogin[] = [];
      const read: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const again = await launch(dir);
        cold.push(await again.page.evaluate((n) => window.chromiumBench.coldLogin(n), LOGIN_OBJECTS));
        await close(again.context);
        const raw = await launch(dir);
        read.push(await raw.page.evaluate((n) => window.chromiumBench.rawRead(n), LOGIN_OBJECTS));
        await close(raw.context);
      }
      const median = (k: keyof ColdLogin) => summarize(cold.map((c) => c[k]), 1).median.toFixed(0);
      const filled = `token filled with C_CreateObject at ${LANES} in flight: ${(fillMs / LOGIN_OBJECTS).toFixed(2)} ms per object`;
      rows.push(
        { id: 'login', title: `C_Login with ${LOGIN_OBJECTS} private objects`, inFlight: 1, unit: 'run', stats: summarize(runs.map((r) => r.login), 1), notes: [filled] },
        { id: 'login-find', title: `C_Login + first C_FindObjects over all ${LOGIN_OBJECTS} private objects`, inFlight: 1, unit: 'run', stats: summarize(runs.map((r) => r.loginFind), 1), notes: [] },
        {
          id: 'login-find-restart',
          title: `Browser restarted: connect() + C_Initialize + C_Login + first C_FindObjects over all ${LOGIN_OBJECTS} private objects`,
          inFlight: 1,
          unit: 'run',
          stats: summarize(cold.map((c) => c.total), 1),
          notes: [`medians of the steps: connect() + C_Initialize + C_OpenSession ${median('connect')} ms, C_Login ${median('login')} ms, first find ${median('find')} ms`],
        },
        { id: 'unseal', title: `Raw crypto.subtle in the page: ${LOGIN_OBJECTS} AES-GCM decryptions of 256 B, 64 at a time (the floor of the first find)`, inFlight: 1, unit: 'run', stats: summarize(unseal, 1), notes: [] },
        { id: 'idb-read', title: `Browser restarted: raw IndexedDB getAll of the ${LOGIN_OBJECTS} object records in the page (the floor of opening the token)`, inFlight: 1, unit: 'run', stats: summarize(read, 1), notes: [] },
        { id: 'pbkdf2', title: `PBKDF2-SHA-256, ${PBKDF2_ITERATIONS} iterations, raw crypto.subtle in the page (the floor of a login)`, inFlight: 1, unit: 'run', stats: summarize(floor, 1), notes: [] },
      );
    });

    await test.step('connect() to first signature', async () => {
      const read = async (page: Page, want: { provisioned: boolean; generated: boolean }): Promise<FirstSignature> => {
        await page.waitForFunction(() => window.firstSignature !== undefined, undefined, { timeout: 60_000 });
        const result = await page.evaluate(() => window.firstSignature);
        if (!result || 'error' in result) throw new Error(`first signature: ${result?.error}`);
        if (result.provisioned !== want.provisioned || result.generated !== want.generated) {
          throw new Error(`first signature: provisioned ${result.provisioned}, generated ${result.generated}; wanted ${JSON.stringify(want)}`);
        }
        return result;
      };
      const cold: FirstSignature[] = [];
      const reload: FirstSignature[] = [];
      const restart: FirstSignature[] = [];
      for (let r = 0; r < RUNS; r++) {
        const first = await launch(undefined, '?first-signature');
        cold.push(await read(first.page, { provisioned: true, generated: true }));
        await first.page.reload();
        reload.push(await read(first.page, { provisioned: false, generated: false }));
        await close(first.context);
        const again = await launch(first.dir, '?first-signature');
        restart.push(await read(again.page, { provisioned: false, generated: false }));
        await close(again.context);
      }
      const steps = (runs: FirstSignature[]) => {
        const median = (k: keyof FirstSignature['steps']) => summarize(runs.map((s) => s.steps[k]), 1).median.toFixed(0);
        return `medians of the steps: connect() + C_Initialize ${median('connect')} ms, C_GetTokenInfo (and token initialization when fresh) ${median('provision')} ms, C_Login ${median('login')} ms, key (find or generate) ${median('key')} ms, C_SignInit + C_Sign ${median('sign')} ms`;
      };
      const held = (runs: FirstSignature[]) => runs.filter((s) => s.alreadyLoggedIn).length;
      for (const [id, title, runs, note] of [
        ['cold', 'fresh profile, first page load', cold, 'initializes the token (C_InitToken, SO login, C_InitPIN: three PBKDF2), logs in, generates the EC P-256 pair (token objects), signs'],
        ['reload', 'same profile, page reloaded', reload, 'logs in, finds the key by label, signs'],
        ['restart', 'same profile, browser restarted', restart, 'logs in, finds the key by label, signs'],
      ] as const) {
        const notes = [note, steps(runs)];
        if (held(runs) > 0) notes.push(`in ${held(runs)} of ${runs.length} runs the worker still held the login`);
        rows.push(
          { id: `connect-${id}`, title: `connect() → first ECDSA signature, ${title}`, inFlight: 1, unit: 'run', stats: summarize(runs.map((s) => s.connectToSignature), 1), notes },
          { id: `navigation-${id}`, title: `navigation start → first ECDSA signature, ${title}`, inFlight: 1, unit: 'run', stats: summarize(runs.map((s) => s.navigationToSignature), 1), notes: [] },
        );
      }
    });

    if (errors.length > 0) throw new Error(`console errors: ${errors.join('; ')}`);
    const report: ChromiumReport = {
      command: `${SMOKE ? 'VHSM_BENCH_SMOKE=1 ' : ''}pnpm --filter @vhsm/bench run bench:chromium`,
      date: new Date().toISOString(),
      smoke: SMOKE,
      seconds: Math.round((Date.now() - began) / 1000),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        browser,
        load: [loadAtStart, loadavg()[0] as number],
      },
      pbkdf2Iterations: PBKDF2_ITERATIONS,
      runs: RUNS,
      loginObjects: LOGIN_OBJECTS,
      rows,
      targets: targetsOf(rows, LOGIN_OBJECTS),
    };
    const base = join(here, '..', 'results', SMOKE ? 'chromium-smoke' : 'chromium');
    const markdown = renderMarkdown(report);
    await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(`${base}.md`, markdown);
    console.log(markdown);
  } finally {
    for (const context of contexts) await context.close();
    await new Promise((resolve) => server.close(resolve));
    await Promise.all([out, ...dirs].map((d) => rm(d, { recursive: true, force: true })));
  }
});
