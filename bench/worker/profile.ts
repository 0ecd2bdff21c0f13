/**
 * CPU profile of the worker side of one bench case, through Chromium's DevTools protocol: prints the
 * functions with the most self time in the SharedWorker while the case runs.
 * Run (Node 20 runs no TypeScript, so bundle it first, beside e2e's node_modules):
 *   cd e2e && esbuild ../bench/worker/profile.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=.profile.mjs && node --experimental-websocket .profile.mjs 'AES-GCM 1 KiB encrypt' 16
 * The last argument picks the target: shared_worker (default) or page.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { CHROMIUM } from '../../e2e/chromium.js';
import { serve } from '../../e2e/persistence/server.js';
import { buildPage } from '../../e2e/worker/fixtures.js';

// Bundled into e2e/, this module no longer sits beside app/: find it from the repository root.
const here = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'worker');
const [name = 'AES-GCM 1 KiB encrypt', inFlight = '16', target = 'shared_worker'] = process.argv.slice(2);
// Profiling the page of a dedicated-mode run: VHSM_MODE=dedicated.
const mode = process.env.VHSM_MODE === 'dedicated' ? 'dedicated' : 'shared';
const PORT = 9339;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }

async function devtools(url: string): Promise<(method: string, params?: object) => Promise<unknown>> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let next = 1;
  const waiting = new Map<number, (value: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  };
  return (method, params = {}) => new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });
}

const out = await mkdtemp(join(tmpdir(), 'vhsm-worker-profile-'));
await buildPage(join(here, 'app'), out);
const { origin, server } = await serve(out);
const browser = await chromium.launch({ ...CHROMIUM, args: [...CHROMIUM.args, `--remote-debugging-port=${PORT}`] });
try {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => 'runWorkerBench' in window);
  const running = page.evaluate(([n, f, m]) => window.runWorkerBench(undefined, undefined, { name: n, inFlight: f }, m), [name, Number(inFlight), mode] as const);
  let url: string | undefined;
  for (let i = 0; i < 50 && !url; i++) {
    const targets = (await (await fetch(`http://127.0.0.1:${PORT}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    url = targets.find((t) => t.type === (target === 'page' ? 'page' : target))?.webSocketDebuggerUrl;
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) throw new Error(`no ${target} target`);
  const send = await devtools(url);
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 50 });
  await send('Profiler.start');
  const { results } = await running;
  const { profile } = (await send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; startTime: number; endTime: number } };
  await writeFile(join(tmpdir(), 'vhsm-worker.cpuprofile'), JSON.stringify(profile));
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const key = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
    total += node.hitCount ?? 0;
  }
  console.log(JSON.stringify(results));
  const ms = (profile.endTime - profile.startTime) / 1000;
  console.log(`${ms.toFixed(0)} ms profiled; self time in ms:`);
  for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((ms * hits) / total).toFixed(1).padStart(8)}  ${key}`);
} finally {
  await browser.close();
  await new Promise((resolve) => server.close(resolve));
  await rm(out, { recursive: true, force: true });
}
