/**
 * `strict`: the spec plus the rules that stop API-level key extraction (../../../docs/security.md).
 * Its rules arrive with the strict-policy work; until then it behaves as `spec`.
 */
import type { Policy } from './policy.js';

export const strictPolicy: Policy = {
  name: 'strict',
  defaults: () => undefined,
  checkKeyChange: () => {},
  checkKeyUse: () => {},
};
