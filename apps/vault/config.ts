/**
 * Build-time side of the vault's configuration: reads vault.config.json (or VHSM_VAULT_CONFIG, a
 * JSON string that replaces it), checks it, and derives the HTTP headers the vault must be served with.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VaultConfig } from './src/config.js';

export type { VaultConfig };

function fail(why: string): never {
  throw new Error(`vault config: ${why}`);
}

function origin(value: unknown, where: string): string {
  if (typeof value !== 'string') fail(`${where}: expected an origin string`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    fail(`${where}: ${value} is not a URL`);
  }
  // Exactly a serialized origin, so the comparison with MessageEvent.origin is a string equality.
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== value) {
    fail(`${where}: expected a serialized http(s) origin such as https://app.example, got ${value}`);
  }
  return value;
}

export function parseVaultConfig(raw: unknown): VaultConfig {
  if (typeof raw !== 'object' || raw === null) fail('expected an object');
  const input = raw as Partial<Record<keyof VaultConfig, unknown>>;
  if (!Array.isArray(input.origins)) fail('origins: expected an array of origins');
  const origins = input.origins.map((o, i) => origin(o, `origins[${i}]`));
  const grants: Record<string, string[]> = {};
  const rawGrants = input.grants ?? {};
  if (typeof rawGrants !== 'object' || rawGrants === null || Array.isArray(rawGrants)) fail('grants: expected an object');
  for (const [to, from] of Object.entries(rawGrants)) {
    if (!origins.includes(origin(to, `grants key ${to}`))) fail(`grants: ${to} is not in origins`);
    if (!Array.isArray(from)) fail(`grants.${to}: expected an array of origins`);
    grants[to] = from.map((o, i) => origin(o, `grants.${to}[${i}]`));
  }
  const consent = input.consent ?? { sign: false };
  if (typeof consent !== 'object' || consent === null || typeof (consent as { sign?: unknown }).sign !== 'boolean') {
    fail('consent: expected { sign: boolean }');
  }
  const dialog = input.dialog ?? 'auto';
  if (dialog !== 'auto' && dialog !== 'popup') fail("dialog: 'auto' or 'popup'");
  return { origins, grants, consent: { sign: (consent as { sign: boolean }).sign }, dialog };
}

export function loadVaultConfig(root: string): VaultConfig {
  const text = process.env.VHSM_VAULT_CONFIG ?? readFileSync(join(root, 'vault.config.json'), 'utf8');
  return parseVaultConfig(JSON.parse(text));
}

/**
 * The headers of every response of the vault's origin. frame-ancestors is what keeps unlisted
 * origins from embedding (and so overlaying) the vault at all; it can only be sent as a header.
 */
export function vaultHeaders(config: VaultConfig): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    `frame-ancestors ${config.origins.length > 0 ? config.origins.join(' ') : "'none'"}`,
  ].join('; ');
  return {
    'Content-Security-Policy': csp,
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), hid=(), payment=()',
    'Cache-Control': 'no-cache',
  };
}
