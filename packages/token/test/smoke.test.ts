import { expect, test } from 'vitest';
import { y } from '@vhsm/token';
test('resolves', () => { expect(y).toBe(2); });
