// Token explorer: slots, token info, init, login, sessions, objects and their attributes.
import {
  CKA_ALLOWED_MECHANISMS, CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_APPLICATION, CKA_CERTIFICATE_CATEGORY,
  CKA_CERTIFICATE_TYPE, CKA_CHECK_VALUE, CKA_CLASS, CKA_COEFFICIENT, CKA_COPYABLE, CKA_DECRYPT, CKA_DERIVE,
  CKA_DERIVE_TEMPLATE, CKA_DESTROYABLE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_END_DATE, CKA_EXPONENT_1,
  CKA_EXPONENT_2, CKA_EXTRACTABLE, CKA_HASH_OF_ISSUER_PUBLIC_KEY, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_ID,
  CKA_ISSUER, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_MODIFIABLE, CKA_MODULUS,
  CKA_MODULUS_BITS, CKA_NEVER_EXTRACTABLE, CKA_OBJECT_ID, CKA_PRIME_1, CKA_PRIME_2, CKA_PRIVATE,
  CKA_PRIVATE_EXPONENT, CKA_PUBLIC_EXPONENT, CKA_PUBLIC_KEY_INFO, CKA_SENSITIVE, CKA_SERIAL_NUMBER, CKA_SIGN,
  CKA_SIGN_RECOVER, CKA_START_DATE, CKA_SUBJECT, CKA_TOKEN, CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP,
  CKA_UNWRAP_TEMPLATE, CKA_URL, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_WRAP,
  CKA_WRAP_TEMPLATE, CKA_WRAP_WITH_TRUSTED, CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY,
  CKF_SO_PIN_LOCKED, CKF_PROTECTED_AUTHENTICATION_PATH, CKF_TOKEN_INITIALIZED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_LOCKED, CKK_AES, CKK_EC, CKK_EC_EDWARDS, CKK_GENERIC_SECRET, CKK_RSA, CKO_CERTIFICATE, CKO_DATA, CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY, CKO_SECRET_KEY,
  CKR_ATTRIBUTE_TYPE_INVALID, CKR_PIN_INCORRECT, CKU_SO, CKU_USER, ckaName, ckkName, ckmName, ckoName, cksName,
  isPkcs11Error, ckrName,
} from '@vhsm/pkcs11';
import type { AttributeValue, Template, TokenInfo } from '@vhsm/pkcs11';
import { button, card, checkbox, field, fill, h, select } from './dom.js';
import type { Child } from './dom.js';
import { flagNames, formatAttribute, fromHex, hex, MECHANISM_FLAGS, SESSION_FLAGS, SLOT_FLAGS, TOKEN_FLAGS, rvOf, utf8 } from './format.js';
import { generate, KEY_KINDS, USAGE_ATTRIBUTE } from './keys.js';
import type { Usage } from './keys.js';
import { PROTECTION_FLAGS, USAGE_FLAGS } from './state.js';
import type { ObjectRow, TokenView } from './state.js';
import { act, badge, outcome, randomBytes } from './ui.js';

const COMMON = [CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE, CKA_LABEL, CKA_COPYABLE, CKA_DESTROYABLE, CKA_UNIQUE_ID];
const KEY_COMMON = [CKA_KEY_TYPE, CKA_ID, CKA_START_DATE, CKA_END_DATE, CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALLOWED_MECHANISMS, CKA_DERIVE];
const SENSITIVE_KEY = [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED, CKA_UNWRAP_TEMPLATE, CKA_DERIVE_TEMPLATE];
/**
 * The attributes of each class (PKCS#11 v3.0 §4) and key type, asked one call each in the details
 * view so that each answers with its own CK_RV.
 */
const CLASS_ATTRIBUTES: Readonly<Record<number, readonly number[]>> = {
  [CKO_DATA]: [...COMMON, CKA_APPLICATION, CKA_OBJECT_ID, CKA_VALUE],
  [CKO_CERTIFICATE]: [...COMMON, CKA_CERTIFICATE_TYPE, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY, CKA_CHECK_VALUE, CKA_START_DATE,
    CKA_END_DATE, CKA_PUBLIC_KEY_INFO, CKA_SUBJECT, CKA_ID, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_VALUE, CKA_URL,
    CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_HASH_OF_ISSUER_PUBLIC_KEY],
  [CKO_PUBLIC_KEY]: [...COMMON, ...KEY_COMMON, CKA_SUBJECT, CKA_ENCRYPT, CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_WRAP, CKA_TRUSTED,
    CKA_WRAP_TEMPLATE, CKA_PUBLIC_KEY_INFO],
  [CKO_PRIVATE_KEY]: [...COMMON, ...KEY_COMMON, CKA_SUBJECT, CKA_DECRYPT, CKA_SIGN, CKA_SIGN_RECOVER, CKA_UNWRAP, ...SENSITIVE_KEY,
    CKA_ALWAYS_AUTHENTICATE, CKA_PUBLIC_KEY_INFO],
  [CKO_SECRET_KEY]: [...COMMON, ...KEY_COMMON, CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_WRAP, CKA_UNWRAP, ...SENSITIVE_KEY,
    CKA_CHECK_VALUE, CKA_TRUSTED, CKA_WRAP_TEMPLATE, CKA_VALUE, CKA_VALUE_LEN],
};
const KEY_TYPE_ATTRIBUTES: Readonly<Record<number, Readonly<Record<number, readonly number[]>>>> = {
  [CKK_RSA]: {
    [CKO_PUBLIC_KEY]: [CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT],
    [CKO_PRIVATE_KEY]: [CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT],
  },
  [CKK_EC]: { [CKO_PUBLIC_KEY]: [CKA_EC_PARAMS, CKA_EC_POINT], [CKO_PRIVATE_KEY]: [CKA_EC_PARAMS, CKA_VALUE] },
  [CKK_EC_EDWARDS]: { [CKO_PUBLIC_KEY]: [CKA_EC_PARAMS, CKA_EC_POINT], [CKO_PRIVATE_KEY]: [CKA_EC_PARAMS, CKA_VALUE] },
};

function detailAttributes(objectClass: number, keyType: number | undefined): number[] {
  const byType = keyType === undefined ? undefined : KEY_TYPE_ATTRIBUTES[keyType]?.[objectClass];
  return [...(CLASS_ATTRIBUTES[objectClass] ?? COMMON), ...(byType ?? [])];
}

/** Attributes offered in the "set attribute" form; booleans get a true/false choice. */
const SETTABLE: readonly (readonly [number, 'bool' | 'string' | 'hex'])[] = [
  [CKA_LABEL, 'string'], [CKA_ID, 'hex'], [CKA_SENSITIVE, 'bool'], [CKA_EXTRACTABLE, 'bool'], [CKA_ENCRYPT, 'bool'],
  [CKA_DECRYPT, 'bool'], [CKA_SIGN, 'bool'], [CKA_VERIFY, 'bool'], [CKA_WRAP, 'bool'], [CKA_UNWRAP, 'bool'],
  [CKA_DERIVE, 'bool'], [CKA_MODIFIABLE, 'bool'], [CKA_TRUSTED, 'bool'], [CKA_WRAP_WITH_TRUSTED, 'bool'],
];

export interface Explorer {
  el: HTMLElement;
  render(): Promise<void>;
}

/**
 * A token with a protected authentication path (the vault) asks for PINs itself: the functions take
 * none from the page. The contract types the PIN as a string, hence the cast.
 */
const NO_PIN = undefined as unknown as string;

export function explorer(view: TokenView): Explorer {
  const p = view.pkcs11;
  let selected: number | undefined;
  let tokenInfo: TokenInfo | undefined;
  /** CKF_PROTECTED_AUTHENTICATION_PATH, as the token reports it: the forms then send no PIN. */
  let protectedPath = false;
  const pinOf = (input: HTMLInputElement): string => (protectedPath ? NO_PIN : input.value);
  /** PIN fields, and what replaces them, shown by mode. */
  const pinFields: HTMLElement[] = [];
  const protectedNotes: HTMLElement[] = [];
  const pinField = (label: string, input: HTMLInputElement, hint?: string): HTMLElement => {
    const el = field(label, input, hint);
    pinFields.push(el);
    return el;
  };
  const protectedNote = (text: string): HTMLElement => {
    const el = h('p', { class: 'note', hidden: true }, text);
    protectedNotes.push(el);
    return el;
  };
  const showPinForms = (): void => {
    for (const el of pinFields) el.hidden = protectedPath;
    for (const el of protectedNotes) el.hidden = !protectedPath;
  };

  const tokenBody = h('div');
  const sessionsBody = h('div');
  const objectsBody = h('div');
  const detailsBody = h('div', null, h('p', { class: 'muted' }, 'Choose an object to see every attribute the token will tell.'));
  const pinStatus = h('div', { class: 'pin-status' });

  // --- Init token ---------------------------------------------------------------------
  const initLabel = h('input', { value: 'vhsm demo', maxlength: 32, autocomplete: 'off' });
  const initSo = h('input', { type: 'password', value: '', autocomplete: 'new-password', minlength: 4 });
  const initUser = h('input', { type: 'password', value: '', autocomplete: 'new-password', minlength: 4 });
  const initSteps = h('ol', { class: 'steps' });
  const initProgress = h('progress', { hidden: true, 'aria-label': 'Initializing the token' });
  const initOut = outcome();
  const initButton = button('Initialize token', async () => {
    initButton.disabled = true;
    initProgress.hidden = false;
    fill(initSteps);
    const step = async (name: string, work: () => Promise<unknown>): Promise<void> => {
      const li = h('li', { class: 'running' }, name, ' …');
      initSteps.append(li);
      const start = performance.now();
      try {
        await work();
        fill(li, name, ' ', badge(`CKR_OK · ${Math.round(performance.now() - start)} ms`));
        li.className = 'done';
      } catch (error) {
        fill(li, name, ' ', badge(rvOf(error), 'bad'));
        li.className = 'failed';
        throw error;
      }
    };
    const asks = protectedPath ? 'the vault asks for the' : undefined;
    await act(initOut, async () => {
      await step('C_CloseAllSessions', () => view.closeAllSessions());
      await step(`C_InitToken (${asks ? `${asks} new SO PIN` : 'derives the SO PIN key: PBKDF2-SHA-256'})`, () => p.C_InitToken(view.slot, pinOf(initSo), initLabel.value));
      const s = await view.openSession(true);
      await step(`C_Login as SO${asks ? ` (${asks} SO PIN)` : ''}`, () => p.C_Login(s, CKU_SO, pinOf(initSo)));
      await step(`C_InitPIN (${asks ? `${asks} new user PIN` : 'derives the user PIN key: PBKDF2-SHA-256'})`, () => p.C_InitPIN(s, pinOf(initUser)));
      await step('C_Logout', () => p.C_Logout(s));
    }, () => 'Token ready: log in with the user PIN.');
    initProgress.hidden = true;
    initButton.disabled = false;
    view.changed();
  }, { class: 'primary' });
  const initCard = card('Initialize token',
    h('p', { class: 'muted' }, 'Erases every object on the token, sets the SO PIN, then the user PIN. Each PIN becomes a key by PBKDF2 (600 000 iterations), which takes a moment.'),
    protectedNote('This token has a protected authentication path: the vault asks for each PIN in its own dialog (the new SO PIN, the SO PIN to log in, the new user PIN). This page sends none and learns only the CK_RV.'),
    h('form', { onsubmit: (e: Event) => e.preventDefault() }, h('div', { class: 'row' }, field('Token label', initLabel), pinField('SO PIN', initSo, '4–64 characters'), pinField('User PIN', initUser, '4–64 characters'))),
    h('div', { class: 'actions' }, initButton, initProgress), initSteps, initOut);

  // --- Login --------------------------------------------------------------------------
  const userType = select([[String(CKU_USER), 'User (CKU_USER)'], [String(CKU_SO), 'Security Officer (CKU_SO)']]);
  const pin = h('input', { type: 'password', autocomplete: 'current-password' });
  const loginOut = outcome();
  const login = async (): Promise<void> => {
    const session = await view.requireSession().catch(() => undefined);
    if (session === undefined) return void act(loginOut, () => view.requireSession());
    await act(loginOut, async () => {
      try {
        await p.C_Login(session, Number(userType.value), protectedPath ? undefined : pin.value);
        view.failedLogins = 0;
      } catch (error) {
        if (isPkcs11Error(error) && error.code === CKR_PIN_INCORRECT) view.failedLogins++;
        throw error;
      }
    }, () => 'Logged in');
    pin.value = '';
    view.changed();
  };
  const loginForm = h('form', { onsubmit: (e: Event) => { e.preventDefault(); void login(); } },
    h('div', { class: 'row' }, field('User type', userType), pinField('PIN', pin)));
  // C_SetPIN changes the PIN of the user logged in to the session (the user PIN in a public session).
  const oldPin = h('input', { type: 'password', autocomplete: 'current-password' });
  const newPin = h('input', { type: 'password', autocomplete: 'new-password', minlength: 4 });
  const changeOut = outcome();
  const changePin = async (): Promise<void> => {
    await act(changeOut, async () => p.C_SetPIN(await view.requireSession(), pinOf(oldPin), pinOf(newPin)), () => 'PIN changed');
    oldPin.value = '';
    newPin.value = '';
    view.changed();
  };
  const loginCard = card('Login',
    protectedNote('This token has a protected authentication path: "Log in" calls C_Login without a PIN, and the vault asks for it in its own dialog. This page never sees the PIN, only the CK_RV.'),
    loginForm,
    h('div', { class: 'actions' },
      button('Log in', login, { class: 'primary' }),
      button('Log out', async () => {
        await act(loginOut, async () => p.C_Logout(await view.requireSession()), () => 'Logged out: private objects are out of reach');
        view.changed();
      })),
    pinStatus, loginOut);
  const changePinCard = card('Change PIN',
    h('p', { class: 'muted' }, 'C_SetPIN: the PIN of the user logged in to the session, or the user PIN in a public session.'),
    protectedNote('The vault asks for the current and the new PIN in its own dialog: C_SetPIN goes without either.'),
    h('form', { onsubmit: (e: Event) => { e.preventDefault(); void changePin(); } },
      h('div', { class: 'row' }, pinField('Current PIN', oldPin), pinField('New PIN', newPin, '4–64 characters'))),
    h('div', { class: 'actions' }, button('Change PIN', changePin)),
    changeOut);

  // --- Sessions -------------------------------------------------------------------------
  const sessionOut = outcome();
  const sessionCard = card('Sessions', sessionsBody,
    h('div', { class: 'actions' },
      button('Open R/W session', async () => { await act(sessionOut, () => view.openSession(true), (s) => `Session ${s}`); view.changed(); }),
      button('Open R/O session', async () => { await act(sessionOut, () => view.openSession(false), (s) => `Session ${s}`); view.changed(); }),
      button('Close all', async () => { await act(sessionOut, () => view.closeAllSessions()); view.changed(); })),
    sessionOut);

  // --- Generate -------------------------------------------------------------------------
  const kindSelect = select(KEY_KINDS.map((k) => [k.id, k.name] as const), 'ec-P-256');
  const genLabel = h('input', { value: 'my key', autocomplete: 'off' });
  const genToken = checkbox('token object (persists)', true);
  const genPrivate = checkbox('private', true);
  const genSensitive = checkbox('sensitive', true);
  const genExtractable = checkbox('extractable', false);
  const usageBox = h('fieldset', { class: 'usages' });
  const usageInputs = new Map<Usage, HTMLInputElement>();
  const showUsages = (): void => {
    const kind = KEY_KINDS.find((k) => k.id === kindSelect.value) ?? KEY_KINDS[0];
    usageInputs.clear();
    fill(usageBox, h('legend', null, 'Usages'), ...(kind?.usages ?? []).map((u) => {
      const c = checkbox(u, kind?.defaults.includes(u) ?? false, `usage-${u}`);
      usageInputs.set(u, c.input);
      return c.el;
    }));
  };
  kindSelect.addEventListener('change', showUsages);
  showUsages();
  const genOut = outcome();
  const generateCard = card('Generate a key',
    h('div', { class: 'row' }, field('Kind', kindSelect), field('Label', genLabel)),
    usageBox,
    h('fieldset', { class: 'usages' }, h('legend', null, 'Protection'), genToken.el, genPrivate.el, genSensitive.el, genExtractable.el),
    h('div', { class: 'actions' }, button('Generate', async () => {
      const kind = KEY_KINDS.find((k) => k.id === kindSelect.value);
      if (!kind) return;
      const usages = new Set([...usageInputs].filter(([, input]) => input.checked).map(([u]) => u));
      await act(genOut, async () => generate(p, await view.requireSession(), kind, {
        label: genLabel.value, id: randomBytes(4), token: genToken.input.checked, private: genPrivate.input.checked,
        sensitive: genSensitive.input.checked, extractable: genExtractable.input.checked, usages,
      }), (handles) => `Created object${handles.length > 1 ? 's' : ''} ${handles.join(', ')}`);
      view.changed();
    }, { class: 'primary' })),
    genOut);

  // --- Import ---------------------------------------------------------------------------
  const importKind = select([['aes', 'AES key (hex)'], ['secret', 'Generic secret / HMAC key (hex)'], ['data', 'Data object (text)']]);
  const importLabel = h('input', { value: 'imported', autocomplete: 'off' });
  const importValue = h('textarea', { rows: 2, spellcheck: 'false' });
  importValue.value = hex(randomBytes(32));
  const importUsages = (['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap'] as const).map((u) => ({ u, ...checkbox(u, u === 'encrypt' || u === 'decrypt') }));
  const importToken = checkbox('token object', true);
  const importSensitive = checkbox('sensitive', true);
  const importOut = outcome();
  const importCard = card('Import (C_CreateObject)',
    h('div', { class: 'row' }, field('What', importKind), field('Label', importLabel)),
    field('Value', importValue, 'A key typed in here is known to this page: the token records CKA_LOCAL = false.'),
    h('fieldset', { class: 'usages' }, h('legend', null, 'Attributes'), ...importUsages.map((c) => c.el), importToken.el, importSensitive.el),
    h('div', { class: 'actions' }, button('Create object', async () => {
      await act(importOut, async () => {
        const session = await view.requireSession();
        const common: Template = [{ type: CKA_LABEL, value: importLabel.value }, { type: CKA_TOKEN, value: importToken.input.checked }];
        if (importKind.value === 'data') {
          return p.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_DATA }, ...common, { type: CKA_APPLICATION, value: 'vhsm demo' }, { type: CKA_VALUE, value: utf8(importValue.value) }]);
        }
        return p.C_CreateObject(session, [
          { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: importKind.value === 'aes' ? CKK_AES : CKK_GENERIC_SECRET },
          ...common, { type: CKA_ID, value: randomBytes(4) }, { type: CKA_SENSITIVE, value: importSensitive.input.checked },
          ...importUsages.map(({ u, input }) => ({ type: USAGE_ATTRIBUTE[u], value: input.checked })),
          { type: CKA_VALUE, value: fromHex(importValue.value) },
        ]);
      }, (handle) => `Created object ${handle}`);
      view.changed();
    })),
    importOut);

  // --- Rendering ------------------------------------------------------------------------
  async function renderToken(): Promise<void> {
    const children: Child[] = [];
    try {
      const slots = await p.C_GetSlotList(false);
      if (!slots.includes(view.slot) && slots[0] !== undefined) view.slot = slots[0];
      const slotPicker = select(slots.map((s) => [String(s), `Slot ${s}`] as const), String(view.slot), { 'aria-label': 'Slot' });
      slotPicker.addEventListener('change', () => {
        view.slot = Number(slotPicker.value);
        view.sessions = [];
        view.session = undefined;
        view.changed();
      });
      const slotInfo = await p.C_GetSlotInfo(view.slot);
      children.push(h('div', { class: 'row' }, field('Slot', slotPicker), h('div', null, h('strong', null, slotInfo.slotDescription), h('div', null, ...flagNames(slotInfo.flags, SLOT_FLAGS).map((f) => badge(f))))));
      tokenInfo = await p.C_GetTokenInfo(view.slot);
      const t = tokenInfo;
      protectedPath = (t.flags & CKF_PROTECTED_AUTHENTICATION_PATH) !== 0;
      showPinForms();
      children.push(
        h('dl', { class: 'facts' },
          ...fact('Label', t.label || '(not initialized)'), ...fact('Manufacturer', t.manufacturerID), ...fact('Model', t.model),
          ...fact('Serial', t.serialNumber), ...fact('Sessions', `${t.sessionCount} open (${t.rwSessionCount} R/W)`),
          ...fact('PIN length', `${t.minPinLen}–${t.maxPinLen}`),
          ...fact('Firmware', `${t.firmwareVersion.major}.${t.firmwareVersion.minor}`)),
        h('div', { class: 'flags', 'aria-label': 'Token flags' }, h('code', null, `flags 0x${t.flags.toString(16).padStart(8, '0')} = `),
          ...flagNames(t.flags, TOKEN_FLAGS).map((name) => badge(name, /LOCKED|FINAL|ERROR/.test(name) ? 'bad' : /LOW|TO_BE/.test(name) ? 'warn' : 'on'))),
      );
      children.push(await mechanisms());
    } catch (error) {
      children.push(h('p', { class: 'outcome fail' }, rvOf(error)));
    }
    fill(tokenBody, ...children);
    renderPinStatus();
  }

  /** The mechanism table per slot: what a token offers does not change while the page runs. */
  const mechanismTables = new Map<number, HTMLElement>();
  async function mechanisms(): Promise<HTMLElement> {
    const known = mechanismTables.get(view.slot);
    if (known) return known;
    const list = await p.C_GetMechanismList(view.slot);
    const rows: HTMLElement[] = [];
    for (const m of list) {
      const info = await p.C_GetMechanismInfo(view.slot, m);
      rows.push(h('tr', null, h('td', null, h('code', null, ckmName(m))), h('td', null, `${info.minKeySize}–${info.maxKeySize}`), h('td', null, flagNames(info.flags, MECHANISM_FLAGS).join(', '))));
    }
    const table = h('details', null, h('summary', null, `${list.length} mechanisms`),
      h('table', { class: 'grid' }, h('thead', null, h('tr', null, h('th', null, 'Mechanism'), h('th', null, 'Key size'), h('th', null, 'Functions'))), h('tbody', null, ...rows)));
    mechanismTables.set(view.slot, table);
    return table;
  }

  function renderPinStatus(): void {
    const f = tokenInfo?.flags ?? 0;
    const state = (locked: number, final: number, low: number): HTMLElement =>
      (f & locked) !== 0 ? badge('LOCKED', 'bad') : (f & final) !== 0 ? badge('FINAL TRY', 'bad') : (f & low) !== 0 ? badge('COUNT LOW', 'warn') : badge('OK');
    fill(pinStatus,
      h('div', null, 'User PIN: ', (f & CKF_USER_PIN_INITIALIZED) === 0 ? badge('not set', 'off') : state(CKF_USER_PIN_LOCKED, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_COUNT_LOW)),
      h('div', null, 'SO PIN: ', (f & CKF_TOKEN_INITIALIZED) === 0 ? badge('not set', 'off') : state(CKF_SO_PIN_LOCKED, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_COUNT_LOW)),
      h('div', { 'data-testid': 'failed-logins' }, `Wrong PINs since the last good one (seen by this page): ${view.failedLogins}`),
      h('small', { class: 'muted' }, 'PKCS#11 reports the retry counter only as these flags; the token counts every wrong PIN persistently and locks after the last try.'));
  }

  async function renderSessions(): Promise<void> {
    const rows: HTMLElement[] = [];
    for (const s of view.sessions) {
      let state: string;
      try {
        const info = await p.C_GetSessionInfo(s.handle);
        state = cksName(info.state);
      } catch (error) {
        state = rvOf(error);
        view.sessions = view.sessions.filter((x) => x.handle !== s.handle);
        if (view.session === s.handle) view.session = view.sessions[0]?.handle;
        continue;
      }
      const radio = h('input', { type: 'radio', name: 'current-session', checked: view.session === s.handle, 'aria-label': `Use session ${s.handle}` });
      radio.addEventListener('change', () => { view.session = s.handle; view.changed(); });
      rows.push(h('tr', null, h('td', null, radio), h('td', null, String(s.handle)), h('td', null, h('code', { 'data-testid': 'session-state' }, state)),
        h('td', null, flagNames(s.flags, SESSION_FLAGS).join(' | ')),
        h('td', null, button('Close', async () => { await view.closeSession(s.handle).catch(() => undefined); view.changed(); }, { 'aria-label': `Close session ${s.handle}` }))));
    }
    fill(sessionsBody, rows.length === 0 ? h('p', { class: 'muted' }, 'No session open.') :
      h('table', { class: 'grid' }, h('thead', null, h('tr', null, h('th', null, 'Use'), h('th', null, 'Handle'), h('th', null, 'State'), h('th', null, 'Flags'), h('th', null, ''))), h('tbody', null, ...rows)));
  }

  async function renderObjects(): Promise<void> {
    try {
      await view.refreshObjects();
    } catch (error) {
      fill(objectsBody, h('p', { class: 'outcome fail' }, rvOf(error)));
      return;
    }
    const flag = (row: ObjectRow, type: number): HTMLElement => {
      const v = row.attrs.get(type);
      return h('td', { class: 'flag' }, v === true ? '✔' : v === false ? '·' : '');
    };
    const rows = view.objects.map((row) => {
      const keyType = row.attrs.get(CKA_KEY_TYPE);
      const id = row.attrs.get(CKA_ID);
      return h('tr', { class: row.handle === selected ? 'selected' : null, 'data-handle': row.handle },
        h('td', null, button(String(row.handle), () => { selected = row.handle; void renderObjects(); void renderDetails(); }, { class: 'link', 'aria-label': `Show object ${row.handle} (${row.label})` })),
        h('td', null, ckoName(row.objectClass).replace('CKO_', '')), h('td', null, row.label),
        h('td', null, h('code', null, id instanceof Uint8Array ? hex(id) : '')),
        h('td', null, typeof keyType === 'number' ? ckkName(keyType).replace('CKK_', '') : ''),
        h('td', null, row.token ? 'token' : 'session', row.private ? ' · private' : ''),
        ...USAGE_FLAGS.map(([t]) => flag(row, t)), ...PROTECTION_FLAGS.map(([t]) => flag(row, t)));
    });
    const headers = ['Handle', 'Class', 'Label', 'ID', 'Key type', 'Storage', ...USAGE_FLAGS.map(([, n]) => n), ...PROTECTION_FLAGS.map(([, n]) => n)];
    fill(objectsBody, view.session === undefined ? h('p', { class: 'muted' }, 'Open a session to list objects.') : rows.length === 0 ? h('p', { class: 'muted' }, 'No objects visible in this session.') :
      h('div', { class: 'scroll' }, h('table', { class: 'grid objects', 'aria-label': 'Objects' },
        h('thead', null, h('tr', null, ...headers.map((t, i) => h('th', { class: i >= 6 ? 'vertical' : null, scope: 'col' }, t)))),
        h('tbody', null, ...rows))));
  }

  async function renderDetails(): Promise<void> {
    const session = view.session;
    if (selected === undefined || session === undefined) return;
    const handle = selected;
    const readable: HTMLElement[] = [];
    const withheld: HTMLElement[] = [];
    let invalid = 0;
    const values = new Map<number, AttributeValue>();
    const row = view.objects.find((o) => o.handle === handle);
    const keyType = row?.attrs.get(CKA_KEY_TYPE);
    for (const type of detailAttributes(row?.objectClass ?? -1, typeof keyType === 'number' ? keyType : undefined)) {
      try {
        const [a] = await p.C_GetAttributeValue(session, handle, [{ type }]);
        if (a?.value === undefined) continue;
        values.set(type, a.value);
        readable.push(h('tr', null, h('th', { scope: 'row' }, h('code', null, ckaName(type))), h('td', null, h('code', { class: 'value' }, formatAttribute(type, a.value)))));
      } catch (error) {
        if (isPkcs11Error(error) && error.code === CKR_ATTRIBUTE_TYPE_INVALID) invalid++;
        else withheld.push(h('tr', { class: 'withheld' }, h('th', { scope: 'row' }, h('code', null, ckaName(type))), h('td', null, 'withheld: ', badge(rvOf(error), 'bad'))));
      }
    }
    const label = String(values.get(CKA_LABEL) ?? '');
    fill(detailsBody,
      h('h4', null, `Object ${handle}`, label ? ` — ${label}` : ''),
      h('table', { class: 'grid attrs', 'aria-label': `Attributes of object ${handle}` }, h('tbody', null, ...readable, ...withheld)),
      invalid === 0 ? null : h('p', { class: 'muted' }, `${invalid} attribute types answered ${ckrName(CKR_ATTRIBUTE_TYPE_INVALID)}.`),
      objectActions(handle, values));
  }

  function objectActions(handle: number, values: Map<number, AttributeValue>): HTMLElement {
    const out = outcome();
    const attr = select(SETTABLE.map(([t]) => [String(t), ckaName(t)] as const), String(CKA_LABEL), { 'aria-label': 'Attribute' });
    const value = h('input', { 'aria-label': 'New value', autocomplete: 'off', value: String(values.get(CKA_LABEL) ?? '') });
    const boolValue = select([['true', 'true'], ['false', 'false']], 'true', { 'aria-label': 'New value (boolean)', hidden: true });
    const kindOf = (): string => SETTABLE.find(([t]) => String(t) === attr.value)?.[1] ?? 'string';
    attr.addEventListener('change', () => {
      const k = kindOf();
      value.hidden = k === 'bool';
      boolValue.hidden = k !== 'bool';
      const current = values.get(Number(attr.value));
      if (k === 'hex') value.value = current instanceof Uint8Array ? hex(current) : '';
      else if (k === 'string') value.value = String(current ?? '');
      else boolValue.value = String(current ?? true);
    });
    const copyLabel = h('input', { 'aria-label': 'Label of the copy', value: `${String(values.get(CKA_LABEL) ?? '')} (copy)`, autocomplete: 'off' });
    return h('div', { class: 'object-actions' },
      h('div', { class: 'row' }, h('div', { class: 'field' }, h('span', null, 'C_SetAttributeValue'), h('div', { class: 'inline' }, attr, value, boolValue,
        button('Set', async () => {
          const k = kindOf();
          const v = k === 'bool' ? boolValue.value === 'true' : k === 'hex' ? fromHex(value.value) : value.value;
          await act(out, async () => p.C_SetAttributeValue(await view.requireSession(), handle, [{ type: Number(attr.value), value: v }]), () => `${ckaName(Number(attr.value))} set`);
          view.changed();
        })))),
      h('div', { class: 'row' }, h('div', { class: 'field' }, h('span', null, 'C_CopyObject'), h('div', { class: 'inline' }, copyLabel,
        button('Copy', async () => {
          await act(out, async () => p.C_CopyObject(await view.requireSession(), handle, [{ type: CKA_LABEL, value: copyLabel.value }]), (h2) => `Copy is object ${h2}`);
          view.changed();
        }),
        button('Destroy', async () => {
          if (!confirm(`Destroy object ${handle}? This cannot be undone.`)) return;
          await act(out, async () => p.C_DestroyObject(await view.requireSession(), handle), () => `Object ${handle} destroyed`);
          view.changed();
        }, { class: 'danger' })))),
      out);
  }

  const objectsCard = card('Objects', h('p', { class: 'muted' }, 'What the current session can see (C_FindObjects). Private objects appear only after login.'), objectsBody);
  const detailsCard = card('Object details', detailsBody);
  const tokenCard = card('Slot and token', tokenBody);

  const el = h('div', { class: 'explorer' },
    h('div', { class: 'column' }, tokenCard, loginCard, sessionCard, initCard, changePinCard),
    h('div', { class: 'column wide' }, objectsCard, detailsCard, generateCard, importCard));

  let rendering = Promise.resolve();
  return {
    el,
    render() {
      rendering = rendering.then(async () => {
        await renderToken();
        await renderSessions();
        await renderObjects();
        if (selected !== undefined && !view.objects.some((o) => o.handle === selected)) {
          selected = undefined;
          fill(detailsBody, h('p', { class: 'muted' }, 'Choose an object to see every attribute the token will tell.'));
        } else await renderDetails();
      });
      return rendering;
    },
  };
}

function fact(term: string, value: string): HTMLElement[] {
  return [h('dt', null, term), h('dd', null, value)];
}
