import { describe, expect, test } from 'vitest';
import { CKS_RW_SO_FUNCTIONS, CKU_SO, CKU_USER } from '@vhsm/token';
import { SO_PIN, readyToken } from './helpers.js';

describe('the SO changes their own PIN', () => {
  // Regression: C_InitPIN re-opened TK with the SO's old KEK and failed with CKR_GENERAL_ERROR.
  test('C_InitPIN still works in the same login, and the new PIN opens the token afterwards', async () => {
    const { p11, session } = await readyToken();
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_SetPIN(session, SO_PIN, 'new-so-pin');
    await p11.C_InitPIN(session, 'fresh-user-pin');
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, 'fresh-user-pin');
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_SO, 'new-so-pin');
    expect((await p11.C_GetSessionInfo(session)).state).toBe(CKS_RW_SO_FUNCTIONS);
  });
});
