// Runs the demo in vault mode: builds apps/vault and serves it with its real headers on
// http://127.0.0.1:5174 (as `pnpm --filter @vhsm/vault dev` does), and starts the demo's dev server
// on http://localhost:5173, the port the vault's default allow-list names. One process: Ctrl-C stops both.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer, preview } from 'vite';

const apps = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vaultRoot = join(apps, 'vault');
const demoRoot = join(apps, 'demo');
const vaultConfig = join(vaultRoot, 'vite.config.ts');

// The vault's Vite config sets its port, host, allow-list and headers (vault.config.json or VHSM_VAULT_CONFIG).
await build({ root: vaultRoot, configFile: vaultConfig, logLevel: 'warn' });
const vault = await preview({ root: vaultRoot, configFile: vaultConfig });
const vaultOrigin = (vault.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5174/').replace(/\/$/, '');

// A demo on another port would not be on the vault's allow-list: fail instead of moving.
const demo = await createServer({ root: demoRoot, configFile: join(demoRoot, 'vite.config.ts'), server: { port: 5173, strictPort: true } });
await demo.listen();
const demoUrl = (demo.resolvedUrls?.local[0] ?? 'http://localhost:5173/').replace(/\/$/, '');

console.log(`\n  vault  ${vaultOrigin}  (apps/vault, built, with its headers)`);
console.log(`  demo   ${demoUrl}/?vault=${vaultOrigin}  (vault mode)`);
console.log(`         ${demoUrl}/  (worker mode)\n`);

const stop = async () => {
  await Promise.allSettled([demo.close(), vault.close()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
