/** openToken() and Token: a slot's token with decoded flags, initialization and sessions. */
import {
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKR_CRYPTOKI_ALREADY_INITIALIZED, CKR_TOKEN_NOT_PRESENT, Pkcs11Error,
  ckmName, isPkcs11Error,
} from '@vhsm/pkcs11';
import type { CryptokiApiV3, TokenInfo } from '@vhsm/pkcs11';
import { decodeFlags } from './names.js';
import type { TokenFlags } from './names.js';
import { Session } from './session.js';

export interface OpenTokenOptions {
  /** The slot; default the first slot with a token. */
  slot?: number;
}

/** C_GetTokenInfo with its flags decoded; `flagBits` keeps the raw CK_FLAGS. */
export type FriendlyTokenInfo = Omit<TokenInfo, 'flags'> & { flags: TokenFlags; flagBits: number };

export class Token {
  constructor(
    readonly api: CryptokiApiV3,
    readonly slot: number,
  ) {}

  async info(): Promise<FriendlyTokenInfo> {
    const info = await this.api.C_GetTokenInfo(this.slot);
    return { ...info, flags: decodeFlags(info.flags), flagBits: info.flags };
  }

  /** C_InitToken: (re)initializes the token, destroying its objects. */
  initialize(soPin: string, label: string): Promise<void> {
    return this.api.C_InitToken(this.slot, soPin, label);
  }

  async openSession(options: { readWrite?: boolean } = {}): Promise<Session> {
    const flags = CKF_SERIAL_SESSION | (options.readWrite === true ? CKF_RW_SESSION : 0);
    return new Session(this.api, await this.api.C_OpenSession(this.slot, flags));
  }

  /** The CKM_ names of the token's mechanisms. */
  async mechanisms(): Promise<string[]> {
    return (await this.api.C_GetMechanismList(this.slot)).map(ckmName);
  }

  closeAllSessions(): Promise<void> {
    return this.api.C_CloseAllSessions(this.slot);
  }
}

/**
 * The token of `slot` (default: the first slot with a token) on any CryptokiApiV3. Calls
 * C_Initialize unless this application already has.
 */
export async function openToken(api: CryptokiApiV3, options: OpenTokenOptions = {}): Promise<Token> {
  try {
    await api.C_Initialize();
  } catch (e) {
    if (!isPkcs11Error(e) || e.code !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  if (options.slot !== undefined) {
    await api.C_GetSlotInfo(options.slot); // CKR_SLOT_ID_INVALID for a slot that does not exist
    return new Token(api, options.slot);
  }
  const [slot] = await api.C_GetSlotList(true);
  if (slot === undefined) throw new Pkcs11Error(CKR_TOKEN_NOT_PRESENT, 'openToken', 'no slot has a token');
  return new Token(api, slot);
}
