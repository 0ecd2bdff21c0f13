import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';
import { loadVaultConfig, vaultHeaders } from './config.js';

const root = dirname(fileURLToPath(import.meta.url));
const config = loadVaultConfig(root);
const headers = vaultHeaders(config);

/** Writes the headers beside the build (Netlify/Cloudflare `_headers` format) for deployers to copy. */
function headersFile(): Plugin {
  let outDir = '';
  return {
    name: 'vhsm-vault-headers',
    configResolved(resolved) {
      outDir = resolved.build.outDir;
    },
    closeBundle() {
      const lines = ['/*', ...Object.entries(headers).map(([name, value]) => `  ${name}: ${value}`), ''];
      writeFileSync(join(outDir, '_headers'), lines.join('\n'));
    },
  };
}

// The vault is served built (`pnpm dev` = build + preview on port 5174) so its CSP is the real one:
// Vite's dev server would need inline scripts and styles.
export default defineConfig({
  root,
  resolve: { conditions: ['source', 'browser', 'import', 'module', 'default'] },
  define: { __VHSM_VAULT_CONFIG__: JSON.stringify(config) },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    rollupOptions: { input: { index: join(root, 'index.html'), pin: join(root, 'pin.html') } },
  },
  preview: { port: 5174, strictPort: true, host: '127.0.0.1', headers },
  server: { port: 5174, strictPort: true, host: '127.0.0.1', headers },
  plugins: [headersFile()],
});
