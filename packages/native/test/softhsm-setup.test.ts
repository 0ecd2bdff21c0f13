import { existsSync, readFileSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { SOFTHSM2_DEFAULT_LIBRARY, createSoftHsmConfig, softHsmLibrary } from '../src/index.js';

const saved = { lib: process.env['SOFTHSM2_LIB'], conf: process.env['SOFTHSM2_CONF'] };
afterEach(() => {
  for (const [name, value] of [['SOFTHSM2_LIB', saved.lib], ['SOFTHSM2_CONF', saved.conf]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

test('a missing SoftHSM2 fails with how to install it', () => {
  process.env['SOFTHSM2_LIB'] = '/nonexistent/libsofthsm2.so';
  expect(() => softHsmLibrary()).toThrow(/apt-get install -y softhsm2/);
});

test("the library is Debian's unless SOFTHSM2_LIB says otherwise", () => {
  delete process.env['SOFTHSM2_LIB'];
  expect(softHsmLibrary()).toBe(SOFTHSM2_DEFAULT_LIBRARY);
});

test('a throw-away config points SoftHSM2 at an empty token directory and is removable', () => {
  const config = createSoftHsmConfig();
  expect(process.env['SOFTHSM2_CONF']).toBe(config.conf);
  expect(readFileSync(config.conf, 'utf8')).toContain(`directories.tokendir = ${config.dir}/tokens`);
  expect(existsSync(`${config.dir}/tokens`)).toBe(true);
  config.remove();
  expect(existsSync(config.dir)).toBe(false);
});
