/**
 * Bundles, from the workspace's TypeScript sources: the page and its worker (Chromium), and the same
 * scenarios for Node (node.js), so both sides run identical code without `pnpm build`.
 */
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
export const APP_DIR = join(here, 'app');
export const OUT_DIR = join(here, 'dist');

const conditions = ['source', 'module', 'import', 'default'];

export async function buildConformance(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: APP_DIR,
    // Workspace packages resolve to their sources, as in the unit tests: no `pnpm build` needed first.
    resolve: { conditions: ['source', 'browser', ...conditions.slice(1)] },
    build: {
      outDir: OUT_DIR,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      lib: { entry: { page: join(APP_DIR, 'page.ts'), worker: join(APP_DIR, 'worker.ts') }, formats: ['es'] },
    },
  });
  await copyFile(join(APP_DIR, 'index.html'), join(OUT_DIR, 'index.html'));
  await build({
    configFile: false,
    logLevel: 'warn',
    root: here,
    resolve: { conditions },
    ssr: { noExternal: true, resolve: { conditions, externalConditions: conditions } },
    build: {
      outDir: join(OUT_DIR, 'node'),
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      ssr: join(here, 'node.ts'),
      rollupOptions: { output: { format: 'es', entryFileNames: 'node.js' } },
    },
  });
}
