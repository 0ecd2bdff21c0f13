/** Bundle the test page and its module worker (engine + IndexedDB store, from TypeScript sources) with Vite. */
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
export const APP_DIR = join(here, 'app');
export const OUT_DIR = join(here, 'dist');

export async function buildApp(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: APP_DIR,
    // Workspace packages resolve to their sources, as in the unit tests: no `pnpm build` needed first.
    resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
    build: {
      outDir: OUT_DIR,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      lib: { entry: { page: join(APP_DIR, 'page.ts'), worker: join(APP_DIR, 'worker.ts') }, formats: ['es'] },
    },
  });
  await copyFile(join(APP_DIR, 'index.html'), join(OUT_DIR, 'index.html'));
}
