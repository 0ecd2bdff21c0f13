/**
 * SoftHSM2 set-up for tests, benchmarks and the conformance runner: where the library is, a
 * throw-away token directory, and token initialisation through any CryptokiApi.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_TOKEN_INITIALIZED, CKU_SO } from '@vhsm/pkcs11';
import type { CryptokiApi } from '@vhsm/pkcs11';

/** Where Debian's libsofthsm2 puts the module. */
export const SOFTHSM2_DEFAULT_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * The SoftHSM2 module path ($SOFTHSM2_LIB, else Debian's). A missing module is a broken set-up, not a
 * PKCS#11 answer, so this throws a plain Error that says how to install it.
 */
export function softHsmLibrary(): string {
  const library = process.env['SOFTHSM2_LIB'] ?? SOFTHSM2_DEFAULT_LIBRARY;
  if (!existsSync(library)) {
    throw new Error(
      `SoftHSM2 is not installed: ${library} does not exist. Install it with ` +
        '`apt-get update && apt-get install -y softhsm2` (or `bash .ci/softhsm-setup.sh`), ' +
        'or point SOFTHSM2_LIB at libsofthsm2.so.',
    );
  }
  return library;
}

export interface SoftHsmConfig {
  /** The softhsm2.conf path, also set as process.env.SOFTHSM2_CONF. */
  conf: string;
  /** The temporary directory holding the conf and the token directory. */
  dir: string;
  /** Deletes the directory (its tokens included). */
  remove(): void;
}

/**
 * Makes an empty token directory and its softhsm2.conf under a new temporary directory and points
 * SOFTHSM2_CONF at it. SoftHSM2 reads the variable in C_Initialize: call this before it.
 */
export function createSoftHsmConfig(): SoftHsmConfig {
  const dir = mkdtempSync(join(tmpdir(), 'vhsm-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env['SOFTHSM2_CONF'] = conf;
  return { conf, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TokenSetup {
  label: string;
  soPin: string;
  userPin: string;
}

/**
 * Initialises the first slot's uninitialised token with an SO PIN and a user PIN and resolves to the
 * token's slot id afterwards (SoftHSM2 moves an initialised token to a new slot id).
 */
export async function initToken(p11: CryptokiApi, { label, soPin, userPin }: TokenSetup): Promise<number> {
  let blank: number | undefined;
  for (const slot of await p11.C_GetSlotList(true)) {
    if (((await p11.C_GetTokenInfo(slot)).flags & CKF_TOKEN_INITIALIZED) === 0) {
      blank = slot;
      break;
    }
  }
  if (blank === undefined) throw new Error('no slot holds an uninitialised token');
  await p11.C_InitToken(blank, soPin, label);
  let slot: number | undefined;
  for (const s of await p11.C_GetSlotList(true)) {
    if ((await p11.C_GetTokenInfo(s)).label.trimEnd() === label) slot = s;
  }
  if (slot === undefined) throw new Error(`no token labelled ${label} after C_InitToken`);
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(session, CKU_SO, soPin);
  await p11.C_InitPIN(session, userPin);
  await p11.C_Logout(session);
  await p11.C_CloseSession(session);
  return slot;
}
