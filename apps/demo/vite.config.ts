import { defineConfig } from 'vite';

// Workspace packages resolve to their TypeScript sources, so the demo needs no prior build and
// always shows the engine as it is in the tree.
export default defineConfig({
  resolve: { conditions: ['source', 'browser', 'import', 'module', 'default'] },
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
  preview: { port: 4173 },
  build: { target: 'es2022', sourcemap: true },
});
