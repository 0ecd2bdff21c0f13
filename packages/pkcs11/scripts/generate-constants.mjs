#!/usr/bin/env node
// Regenerates src/constants.ts and src/names.generated.ts from the OASIS PKCS#11 v3.0 header:
//   node packages/pkcs11/scripts/generate-constants.mjs <path-to-pkcs11t.h>
// The header itself is third-party text and stays out of the repository.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDefines, renderConstants, renderNames } from './parse-header.mjs';

const headerPath = process.argv[2];
if (headerPath === undefined) {
  console.error('usage: node packages/pkcs11/scripts/generate-constants.mjs <path-to-pkcs11t.h>');
  process.exit(2);
}

const command = 'node packages/pkcs11/scripts/generate-constants.mjs <path-to-pkcs11t.h>';
const defines = parseDefines(readFileSync(headerPath, 'utf8'));
const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
writeFileSync(join(srcDir, 'constants.ts'), renderConstants(defines, command));
writeFileSync(join(srcDir, 'names.generated.ts'), renderNames(defines, command));
console.log(`wrote ${defines.length} constants to ${srcDir}`);
