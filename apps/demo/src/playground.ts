// Playground: use the token's keys. Every button is one or two C_ calls, visible in the call trace.
import {
  CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_EC_POINT, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL,
  CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP, CKF_DECRYPT, CKF_DERIVE,
  CKF_DIGEST, CKF_ENCRYPT, CKF_SIGN, CKF_UNWRAP, CKF_WRAP, CKK_AES, CKK_EC, CKK_EC_EDWARDS, CKK_GENERIC_SECRET, CKK_RSA, CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKM_ECDH1_DERIVE, ckkName, ckmName, ckoName,
} from '@vhsm/pkcs11';
import type { Template } from '@vhsm/pkcs11';
import { makeCsr, makeSelfSigned, storeCertificate } from './certs.js';
import { button, card, field, fill, h, select } from './dom.js';
import { fromHex, hex, pem, utf8 } from './format.js';
import { publicKeyInfo, unwrapOctetString } from './keys.js';
import { deriveMechanism, ivLength, mechanismFor } from './params.js';
import type { ObjectRow, TokenView } from './state.js';
import { act, outcome, randomBytes } from './ui.js';

export interface Playground {
  el: HTMLElement;
  show(): Promise<void>;
}

export function playground(view: TokenView): Playground {
  const p = view.pkcs11;
  const mechanismsByFlag = new Map<number, number[]>();
  /** Selects refilled from the object list each time the view is shown. */
  const keyPickers: { el: HTMLSelectElement; accepts: (o: ObjectRow) => boolean }[] = [];
  const mechPickers: { el: HTMLSelectElement; flag: number; key?: HTMLSelectElement }[] = [];

  /** A key select; its accessible name is the visible label of its field. */
  const keyPicker = (accepts: (o: ObjectRow) => boolean): HTMLSelectElement => {
    const el = h('select');
    keyPickers.push({ el, accepts });
    return el;
  };
  /** Mechanisms with `flag`; with `key`, only those that fit the chosen key's type. */
  const mechPicker = (flag: number, key?: HTMLSelectElement): HTMLSelectElement => {
    const el = h('select');
    const entry = key ? { el, flag, key } : { el, flag };
    mechPickers.push(entry);
    key?.addEventListener('change', () => fillMechanisms(entry));
    return el;
  };
  const has = (type: number) => (o: ObjectRow): boolean => o.attrs.get(type) === true;
  const session = (): Promise<number> => view.requireSession();
  const handleOf = (el: HTMLSelectElement): number => {
    if (el.value === '') throw new Error('choose a key first (generate one in the explorer)');
    return Number(el.value);
  };

  // --- Sign / verify ----------------------------------------------------------------------
  const signKey = keyPicker(has(CKA_SIGN));
  const signMech = mechPicker(CKF_SIGN, signKey);
  const verifyKey = keyPicker(has(CKA_VERIFY));
  const signData = h('textarea', { rows: 2 });
  signData.value = 'Hello from a key nobody can read.';
  const signature = h('textarea', { rows: 3, spellcheck: 'false' });
  const signOut = outcome();
  const signCard = card('Sign and verify',
    h('div', { class: 'row' }, field('Mechanism', signMech), field('Signing key', signKey), field('Verification key', verifyKey)),
    field('Message (UTF-8)', signData), field('Signature (hex)', signature),
    h('div', { class: 'actions' },
      button('Sign', () => act(signOut, async () => {
        const s = await session();
        await p.C_SignInit(s, mechanismFor(Number(signMech.value), new Uint8Array()), handleOf(signKey));
        const sig = await p.C_Sign(s, utf8(signData.value));
        signature.value = hex(sig);
        return sig;
      }, (sig) => `C_Sign: ${sig.length}-byte signature`), { class: 'primary' }),
      button('Verify', () => act(signOut, async () => {
        const s = await session();
        await p.C_VerifyInit(s, mechanismFor(Number(signMech.value), new Uint8Array()), handleOf(verifyKey));
        return p.C_Verify(s, utf8(signData.value), fromHex(signature.value));
      }, (ok) => (ok ? 'C_Verify: signature valid' : 'C_Verify: signature INVALID (CKR_SIGNATURE_INVALID)')))),
    signOut);

  // --- Encrypt / decrypt -------------------------------------------------------------------
  const encKey = keyPicker(has(CKA_ENCRYPT));
  const encMech = mechPicker(CKF_ENCRYPT, encKey);
  const decKey = keyPicker(has(CKA_DECRYPT));
  const plain = h('textarea', { rows: 2 });
  plain.value = 'attack at dawn';
  const iv = h('input', { 'aria-label': 'IV (hex)', spellcheck: 'false', autocomplete: 'off' });
  const cipher = h('textarea', { rows: 3, spellcheck: 'false' });
  const encOut = outcome();
  const encCard = card('Encrypt and decrypt',
    h('div', { class: 'row' }, field('Mechanism', encMech), field('Encryption key', encKey), field('Decryption key', decKey)),
    field('Plaintext (UTF-8)', plain), field('IV / counter block (hex, fresh for each encryption)', iv), field('Ciphertext (hex)', cipher),
    h('div', { class: 'actions' },
      button('Encrypt', () => act(encOut, async () => {
        const s = await session();
        const m = Number(encMech.value);
        const fresh = randomBytes(ivLength(m));
        iv.value = hex(fresh);
        await p.C_EncryptInit(s, mechanismFor(m, fresh), handleOf(encKey));
        const c = await p.C_Encrypt(s, utf8(plain.value));
        cipher.value = hex(c);
        return c;
      }, (c) => `C_Encrypt: ${c.length} bytes`), { class: 'primary' }),
      button('Decrypt', () => act(encOut, async () => {
        const s = await session();
        await p.C_DecryptInit(s, mechanismFor(Number(encMech.value), fromHex(iv.value)), handleOf(decKey));
        return new TextDecoder().decode(await p.C_Decrypt(s, fromHex(cipher.value)));
      }, (text) => `C_Decrypt: "${text}"`))),
    encOut);

  // --- Wrap / unwrap -------------------------------------------------------------------------
  const wrapper = keyPicker(has(CKA_WRAP));
  const wrapMech = mechPicker(CKF_WRAP, wrapper);
  const wrapTarget = keyPicker((o) => o.objectClass === CKO_SECRET_KEY || o.objectClass === CKO_PRIVATE_KEY);
  const unwrapper = keyPicker(has(CKA_UNWRAP));
  const wrapIv = h('input', { 'aria-label': 'Wrap IV (hex)', spellcheck: 'false', autocomplete: 'off' });
  const wrapped = h('textarea', { rows: 3, spellcheck: 'false' });
  const unwrapAs = select([['aes', 'AES secret key'], ['secret', 'Generic secret key']], 'aes');
  const unwrapLabel = h('input', { value: 'unwrapped', autocomplete: 'off' });
  const wrapOut = outcome();
  const wrapCard = card('Wrap and unwrap',
    h('p', { class: 'muted' }, 'A key leaves the token only encrypted under another key, and only if it is CKA_EXTRACTABLE.'),
    h('div', { class: 'row' }, field('Mechanism', wrapMech), field('Wrapping key', wrapper), field('Key to wrap', wrapTarget)),
    field('IV (hex, for GCM/CBC/CTR)', wrapIv), field('Wrapped key (hex)', wrapped),
    h('div', { class: 'row' }, field('Unwrapping key', unwrapper), field('Unwrap as', unwrapAs), field('Label of the unwrapped key', unwrapLabel)),
    h('div', { class: 'actions' },
      button('Wrap', () => act(wrapOut, async () => {
        const m = Number(wrapMech.value);
        const fresh = randomBytes(ivLength(m));
        wrapIv.value = hex(fresh);
        const w = await p.C_WrapKey(await session(), mechanismFor(m, fresh), handleOf(wrapper), handleOf(wrapTarget));
        wrapped.value = hex(w);
        return w;
      }, (w) => `C_WrapKey: ${w.length} bytes`), { class: 'primary' }),
      button('Unwrap', async () => {
        await act(wrapOut, async () => {
          const template: Template = [
            { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: unwrapAs.value === 'aes' ? CKK_AES : CKK_GENERIC_SECRET },
            { type: CKA_LABEL, value: unwrapLabel.value }, { type: CKA_TOKEN, value: false }, { type: CKA_SENSITIVE, value: true },
            ...(unwrapAs.value === 'aes' ? [{ type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }] : [{ type: CKA_SIGN, value: true }, { type: CKA_VERIFY, value: true }]),
          ];
          return p.C_UnwrapKey(await session(), mechanismFor(Number(wrapMech.value), fromHex(wrapIv.value)), handleOf(unwrapper), fromHex(wrapped.value), template);
        }, (k) => `C_UnwrapKey: session object ${k}`);
        view.changed();
      })),
    wrapOut);

  // --- Digest ----------------------------------------------------------------------------------
  const digestMech = mechPicker(CKF_DIGEST);
  const digestData = h('textarea', { rows: 2 });
  digestData.value = 'abc';
  const digestOut = outcome();
  const digestCard = card('Digest',
    h('div', { class: 'row' }, field('Mechanism', digestMech)), field('Data (UTF-8)', digestData),
    h('div', { class: 'actions' }, button('Digest', () => act(digestOut, async () => {
      const s = await session();
      await p.C_DigestInit(s, { mechanism: Number(digestMech.value) });
      return p.C_Digest(s, utf8(digestData.value));
    }, (d) => hex(d)), { class: 'primary' })),
    digestOut);

  // --- Derive ----------------------------------------------------------------------------------
  const deriveBase = keyPicker(has(CKA_DERIVE));
  const deriveMech = mechPicker(CKF_DERIVE, deriveBase);
  const peer = keyPicker((o) => o.objectClass === CKO_PUBLIC_KEY && o.attrs.get(CKA_KEY_TYPE) === CKK_EC);
  const deriveInfo = h('input', { value: 'vhsm demo session key', autocomplete: 'off' });
  const deriveOut = outcome();
  const deriveCard = card('Derive',
    h('p', { class: 'muted' }, 'ECDH between two EC keys (the other party is a public key object), or HKDF from a secret with CKA_DERIVE. The result is a sensitive AES-256 session key.'),
    h('div', { class: 'row' }, field('Mechanism', deriveMech), field('Base key', deriveBase), field('Other party (ECDH)', peer)),
    field('HKDF info (UTF-8)', deriveInfo),
    h('div', { class: 'actions' }, button('Derive', async () => {
      await act(deriveOut, async () => {
        const s = await session();
        const m = Number(deriveMech.value);
        let point: Uint8Array | undefined;
        if (m === CKM_ECDH1_DERIVE) {
          const [a] = await p.C_GetAttributeValue(s, handleOf(peer), [{ type: CKA_EC_POINT }]);
          point = unwrapOctetString(a?.value as Uint8Array);
        }
        const mechanism = deriveMechanism(m, point, utf8(deriveInfo.value));
        if (!mechanism) throw new Error(`the playground does not build parameters for ${ckmName(m)}`);
        return p.C_DeriveKey(s, mechanism, handleOf(deriveBase), [
          { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 32 },
          { type: CKA_LABEL, value: `derived (${ckmName(m)})` }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
          { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false },
        ]);
      }, (k) => `C_DeriveKey: session object ${k}`);
      view.changed();
    }, { class: 'primary' })),
    deriveOut);

  // --- Export public keys ----------------------------------------------------------------------------
  const exportKey = keyPicker((o) => o.objectClass === CKO_PUBLIC_KEY);
  const exported = h('pre', { class: 'out', 'aria-label': 'Exported public key', tabindex: 0 });
  const exportOut = outcome();
  const exportCard = card('Export a public key',
    h('div', { class: 'row' }, field('Public key', exportKey)),
    h('div', { class: 'actions' },
      ...(['SPKI', 'PEM', 'JWK'] as const).map((format) => button(format, () => act(exportOut, async () => {
        const info = await publicKeyInfo(p, await session(), handleOf(exportKey));
        if (format === 'SPKI') return hex(info.spki);
        if (format === 'PEM') return pem('PUBLIC KEY', info.spki);
        const key = await crypto.subtle.importKey('spki', info.spki.slice(), info.algorithm, true, ['verify']);
        return JSON.stringify(await crypto.subtle.exportKey('jwk', key), null, 2);
      }, (text) => {
        exported.textContent = text;
        return `${format} below`;
      })))),
    exportOut, exported);

  // --- Certificates --------------------------------------------------------------------------------
  const certKey = keyPicker((o) => o.objectClass === CKO_PRIVATE_KEY && o.attrs.get(CKA_SIGN) === true);
  const subject = h('input', { value: 'CN=vhsm demo, O=vhsm', autocomplete: 'off' });
  const certText = h('pre', { class: 'out', 'aria-label': 'Certificate or request', tabindex: 0 });
  const certOut = outcome();
  /** The public key object of a pair: same CKA_ID. */
  const pairOf = async (s: number, privateHandle: number): Promise<{ publicHandle: number; id: Uint8Array }> => {
    const [idAttr] = await p.C_GetAttributeValue(s, privateHandle, [{ type: CKA_ID }]);
    const id = idAttr?.value as Uint8Array;
    const pub = view.objects.find((o) => o.objectClass === CKO_PUBLIC_KEY && hex((o.attrs.get(CKA_ID) as Uint8Array | undefined) ?? new Uint8Array()) === hex(id));
    if (!pub) throw new Error('no public key object with the same CKA_ID');
    return { publicHandle: pub.handle, id };
  };
  const certCard = card('Certificate request and self-signed certificate',
    h('p', { class: 'muted' }, 'Built with @peculiar/x509; the signature is made by the token (C_SignInit/C_Sign) and checked in the page.'),
    h('div', { class: 'row' }, field('Key pair (private key)', certKey), field('Subject', subject)),
    h('div', { class: 'actions' },
      button('Make CSR', () => act(certOut, async () => {
        const s = await session();
        const { publicHandle } = await pairOf(s, handleOf(certKey));
        return makeCsr(p, s, handleOf(certKey), await publicKeyInfo(p, s, publicHandle), subject.value);
      }, (text) => {
        certText.textContent = text;
        return 'PKCS#10 request below';
      })),
      button('Make self-signed certificate and store it', async () => {
        await act(certOut, async () => {
          const s = await session();
          const { publicHandle, id } = await pairOf(s, handleOf(certKey));
          const cert = await makeSelfSigned(p, s, handleOf(certKey), await publicKeyInfo(p, s, publicHandle), subject.value);
          certText.textContent = cert.toString('pem');
          return storeCertificate(p, s, cert, id, subject.value);
        }, (handle) => `Stored as CKO_CERTIFICATE object ${handle}`);
        view.changed();
      }, { class: 'primary' })),
    certOut, certText);

  const el = h('div', { class: 'playground' },
    h('div', { class: 'column' }, digestCard, exportCard, certCard),
    h('div', { class: 'column wide' }, signCard, encCard, wrapCard, deriveCard));

  async function loadMechanisms(): Promise<void> {
    mechanismsByFlag.clear();
    const list = await p.C_GetMechanismList(view.slot);
    const infos = await Promise.all(list.map(async (m) => [m, await p.C_GetMechanismInfo(view.slot, m)] as const));
    for (const flag of [CKF_SIGN, CKF_ENCRYPT, CKF_DECRYPT, CKF_DIGEST, CKF_WRAP, CKF_UNWRAP, CKF_DERIVE]) {
      mechanismsByFlag.set(flag, infos.filter(([, info]) => (info.flags & flag) !== 0).map(([m]) => m));
    }
  }

  function fillMechanisms(entry: { el: HTMLSelectElement; flag: number; key?: HTMLSelectElement }): void {
    const keyType = view.objects.find((o) => String(o.handle) === entry.key?.value)?.attrs.get(CKA_KEY_TYPE);
    const fits = typeof keyType === 'number' ? (m: number): boolean => fitsKeyType(m, keyType) : (): boolean => true;
    refill(entry.el, (mechanismsByFlag.get(entry.flag) ?? []).filter(fits).map((m) => [String(m), ckmName(m)] as const));
  }

  function refill(el: HTMLSelectElement, options: readonly (readonly [string, string])[]): void {
    const previous = el.value;
    fill(el, ...options.map(([v, text]) => h('option', { value: v }, text)));
    if (options.some(([v]) => v === previous)) el.value = previous;
  }

  return {
    el,
    async show() {
      try {
        if (mechanismsByFlag.size === 0) await loadMechanisms();
        await view.refreshObjects();
      } catch {
        // No token or no session yet: the pickers stay empty and say so.
      }
      for (const { el: pick, accepts } of keyPickers) {
        const options = view.objects.filter(accepts).map((o) => {
          const type = o.attrs.get(CKA_KEY_TYPE);
          return [String(o.handle), `${o.handle}: ${o.label || '(no label)'} — ${ckoName(o.objectClass).slice(4)}${typeof type === 'number' ? ` ${ckkName(type).slice(4)}` : ''}`] as const;
        });
        refill(pick, options.length ? options : [['', view.session === undefined ? '(open a session and log in)' : '(no suitable key)']]);
      }
      for (const entry of mechPickers) fillMechanisms(entry);
    },
  };
}

/** Whether mechanism `m` takes keys of `keyType`, judged by the spec's naming. */
function fitsKeyType(m: number, keyType: number): boolean {
  const name = ckmName(m);
  if (keyType === CKK_EC) return /ECDSA|ECDH/.test(name);
  if (keyType === CKK_EC_EDWARDS) return name.includes('EDDSA');
  if (keyType === CKK_RSA) return name.includes('RSA');
  if (keyType === CKK_AES) return name.startsWith('CKM_AES');
  return /HMAC|HKDF/.test(name);
}
