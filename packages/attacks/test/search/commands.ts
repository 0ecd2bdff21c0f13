/**
 * The attacker's moves as fast-check commands. Each picks its operands by index into what exists
 * when it runs (keys, blobs, known values), calls the token, and hands every output to the world,
 * which tries it offline. A refusal (any Pkcs11Error) is just a move that did nothing.
 */
import fc from 'fast-check';
import {
  CKA_CLASS, CKA_KEY_TYPE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PRIVATE, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE,
  CKA_TOKEN, CKA_TRUSTED, CKA_VALUE, CKA_VALUE_LEN, CKA_WRAP_WITH_TRUSTED,
  CKF_HKDF_SALT_DATA, CKK_AES, CKK_GENERIC_SECRET, CKK_RSA, CKM_HKDF_DERIVE, CKM_PKCS5_PBKD2, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_SHA256, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKA_EXTRACTABLE, CKP_PKCS5_PBKD2_HMAC_SHA256, CKZ_SALT_SPECIFIED,
  isPkcs11Error, ckaName,
} from '@vhsm/token';
import type { Attribute } from '@vhsm/token';
import { gcmEncrypt, kwWrap, oaepEncrypt, pbkdf2 } from '../../src/offline.js';
import { IVS, MODES, ROLES, mechanismFor, wishTemplate } from './world.js';
import type { Mode, Wish, World } from './world.js';

type Command = fc.AsyncCommand<World, World>;

/** Run a token call; a refusal is a no-op, anything else propagates (a leak, or a bug). */
async function attempt<T>(world: World, call: () => Promise<T>): Promise<T | undefined> {
  world.shared.steps++;
  try {
    return await call();
  } catch (e) {
    if (isPkcs11Error(e)) return undefined;
    throw e;
  }
}

abstract class Move implements Command {
  check(): boolean {
    return true;
  }
  abstract run(model: World, real: World): Promise<void>;
  abstract toString(): string;
}

const wish: fc.Arbitrary<Wish> = fc.record({
  roles: fc.subarray([...ROLES]),
  sensitive: fc.constantFrom(undefined, true, false),
  extractable: fc.constantFrom(undefined, true, false),
});
const showWish = (w: Wish) => `{${[...w.roles.map((r) => ckaName(r).slice(4).toLowerCase()),
  ...(w.sensitive === undefined ? [] : [`sensitive=${w.sensitive}`]),
  ...(w.extractable === undefined ? [] : [`extractable=${w.extractable}`])].join(',')}}`;
/** Mostly one of the newest few objects, sometimes anything. */
const index = fc.oneof({ arbitrary: fc.nat({ max: 1 }), weight: 4 }, { arbitrary: fc.nat({ max: 63 }), weight: 1 });
/** AES-KW most often: it is what a careful token still allows. */
const mode = fc.oneof({ arbitrary: fc.constant<Mode>('kw'), weight: 3 }, { arbitrary: fc.constantFrom(...MODES), weight: 2 });
/** A copy's CKA_PRIVATE or CKA_TOKEN: most often the value that exposes a key (public, stored), sometimes left alone. */
const lowered = (risky: boolean) => fc.oneof({ arbitrary: fc.constant(risky), weight: 2 }, { arbitrary: fc.constantFrom(undefined, !risky), weight: 2 });
/** Usually an operand related to the blob (its key's family): the attacker's obvious first try. */
const related = fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 });

export class GenerateKey extends Move {
  constructor(readonly bytes: number, readonly wish: Wish) { super(); }
  async run(_: World, w: World) {
    const template: Attribute[] = [{ type: CKA_VALUE_LEN, value: this.bytes }, ...wishTemplate(this.wish)];
    const handle = await attempt(w, () => w.generate(template));
    if (handle === undefined) return;
    w.keys.push({ handle, kind: 'secret', family: handle, ...await w.recordGenerated(handle, 'a generated sensitive key') });
  }
  toString() { return `GK(AES-${this.bytes * 8} ${showWish(this.wish)})`; }
}

const PASSWORDS = ['attacker', 'hunter2'];
const PBKDF2_SALT = new TextEncoder().encode('search salt');
const PBKDF2_ITERATIONS = 1;

/** C_GenerateKey(CKM_PKCS5_PBKD2) from a password of the attacker's: the token calls it local, the attacker knows it. */
class GeneratePbkdf2 extends Move {
  constructor(readonly password: number, readonly bytes: number, readonly wish: Wish) { super(); }
  async run(_: World, w: World) {
    const password = PASSWORDS[this.password % PASSWORDS.length] as string;
    const handle = await attempt(w, () => w.p11.C_GenerateKey(w.session, {
      mechanism: CKM_PKCS5_PBKD2,
      parameter: { saltSource: CKZ_SALT_SPECIFIED, saltSourceData: PBKDF2_SALT, iterations: PBKDF2_ITERATIONS, prf: CKP_PKCS5_PBKD2_HMAC_SHA256, password },
    }, [{ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: this.bytes }, ...wishTemplate(this.wish)]));
    if (handle === undefined) return;
    const value = await pbkdf2(crypto, password, PBKDF2_SALT, PBKDF2_ITERATIONS, this.bytes);
    w.keys.push({ handle, kind: 'secret', family: handle });
    w.knownHandles.set(handle, value);
    await w.learn(value, 'PBKDF2 of its own password');
  }
  toString() { return `GK(PBKDF2 "${PASSWORDS[this.password % PASSWORDS.length]}" AES-${this.bytes * 8} ${showWish(this.wish)})`; }
}

class GenerateRsa extends Move {
  constructor(readonly pub: Wish, readonly priv: Wish) { super(); }
  async run(_: World, w: World) {
    w.shared.captured.length = 0;
    const pair = await attempt(w, () => w.p11.C_GenerateKeyPair(w.session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 2048 }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) },
        ...wishTemplate({ ...this.pub, sensitive: undefined, extractable: undefined })],
      wishTemplate(this.priv)));
    if (!pair) return;
    const found = await w.recordGenerated(pair.privateKey, 'a generated RSA private key');
    w.keys.push({ handle: pair.publicKey, kind: 'public', family: pair.publicKey },
      { handle: pair.privateKey, kind: 'private', family: pair.publicKey, ...found });
  }
  toString() { return `GKP(RSA-2048 pub ${showWish(this.pub)} priv ${showWish(this.priv)})`; }
}

class CreateSecret extends Move {
  constructor(readonly valueIndex: number | undefined, readonly wish: Wish) { super(); }
  async run(_: World, w: World) {
    const value = (this.valueIndex === undefined ? undefined : w.knownValue(this.valueIndex)) ?? crypto.getRandomValues(new Uint8Array(32));
    const handle = await attempt(w, () => w.p11.C_CreateObject(w.session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value },
      ...wishTemplate(this.wish),
    ]));
    await w.learn(value, 'its own value');
    if (handle === undefined) return;
    w.keys.push({ handle, kind: 'secret', family: handle });
    w.knownHandles.set(handle, value);
  }
  toString() { return `CO(AES ${this.valueIndex === undefined ? 'fresh' : `known#${this.valueIndex}`} ${showWish(this.wish)})`; }
}

class CreatePublic extends Move {
  constructor(readonly pair: number, readonly wish: Wish) { super(); }
  async run(_: World, w: World) {
    const own = w.shared.attackerKeys[this.pair % w.shared.attackerKeys.length];
    if (!own) return;
    const handle = await attempt(w, () => w.p11.C_CreateObject(w.session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_KEY_TYPE, value: CKK_RSA },
      { type: CKA_MODULUS, value: own.modulus }, { type: CKA_PUBLIC_EXPONENT, value: own.exponent },
      ...wishTemplate({ ...this.wish, sensitive: undefined, extractable: undefined }),
    ]));
    if (handle !== undefined) w.keys.push({ handle, kind: 'public', family: handle, attackerPair: this.pair % w.shared.attackerKeys.length });
  }
  toString() { return `CO(attacker's RSA public key #${this.pair} ${showWish(this.wish)})`; }
}

/** C_CopyObject with new roles and, maybe, CKA_PRIVATE and CKA_TOKEN changed (a public token copy is sealed under DK). */
class Copy extends Move {
  constructor(readonly key: number, readonly wish: Wish, readonly isPrivate: boolean | undefined, readonly token: boolean | undefined) { super(); }
  async run(_: World, w: World) {
    const source = w.key(this.key);
    if (!source) return;
    const template = wishTemplate(this.wish).filter((a) => a.type !== CKA_TOKEN);
    if (this.isPrivate !== undefined) template.push({ type: CKA_PRIVATE, value: this.isPrivate });
    if (this.token !== undefined) template.push({ type: CKA_TOKEN, value: this.token });
    const handle = await attempt(w, () => w.p11.C_CopyObject(w.session, source.handle, template));
    if (handle === undefined) return;
    w.keys.push({ ...source, handle });
    const value = w.knownHandles.get(source.handle);
    if (value) w.knownHandles.set(handle, value);
    if (this.token !== true) return;
    w.tokenObjects.push(handle);
    // The store is the attacker's to read at any time: it looks as soon as something is stored.
    await w.raidStore();
  }
  toString() {
    const where = [...(this.isPrivate === undefined ? [] : [`private=${this.isPrivate}`]), ...(this.token === undefined ? [] : [`token=${this.token}`])];
    return `CP(key#${this.key} ${showWish(this.wish)}${where.length ? ` ${where.join(',')}` : ''})`;
  }
}

const SETTABLE = [...ROLES, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED, CKA_TRUSTED];

class SetAttribute extends Move {
  constructor(readonly key: number, readonly type: number, readonly value: boolean) { super(); }
  async run(_: World, w: World) {
    const target = w.key(this.key);
    if (!target) return;
    await attempt(w, () => w.p11.C_SetAttributeValue(w.session, target.handle, [{ type: this.type, value: this.value }]));
  }
  toString() { return `SA(key#${this.key}, ${ckaName(this.type)}=${this.value})`; }
}

export class Wrap extends Move {
  constructor(readonly mode: Mode, readonly iv: number, readonly wrapper: number, readonly target: number,
    readonly secret: boolean, readonly again: boolean) { super(); }
  async run(_: World, w: World) {
    // `again`: under the wrapper of the newest blob, the way twin-IV and re-wrap attacks need.
    const family = this.again ? w.blob(0)?.keyFamily : undefined;
    const wrapper = w.key(this.wrapper, this.mode === 'oaep' ? 'public' : 'secret', family);
    const target = this.secret ? w.secretKey(this.target) : w.key(this.target);
    if (!wrapper || !target) return;
    const data = await attempt(w, () => w.p11.C_WrapKey(w.session, mechanismFor(this.mode, this.iv), wrapper.handle, target.handle));
    if (!data) return;
    // Wrapping a key whose value it knows gives the attacker a known plaintext (GCM twins, below).
    const inside = w.knownHandles.get(target.handle);
    await w.addBlob({
      data, mode: this.mode, ivIndex: this.iv, keyFamily: wrapper.family, contentFamily: target.family,
      ...(inside ? { plaintext: inside } : {}),
    });
  }
  toString() { return `W(${this.mode}/iv${this.iv}, ${this.again ? 'same wrapper' : 'wrapper'}#${this.wrapper}, ${this.secret ? 'secret' : 'key'}#${this.target})`; }
}

class Unwrap extends Move {
  constructor(readonly mode: Mode, readonly iv: number, readonly unwrapper: number, readonly blob: number,
    readonly related: boolean, readonly generic: boolean, readonly wish: Wish) { super(); }
  async run(_: World, w: World) {
    const blob = w.blob(this.blob);
    if (!blob) return;
    const unwrapper = w.key(this.unwrapper, this.mode === 'oaep' ? 'private' : 'secret', this.related ? blob.keyFamily : undefined);
    if (!unwrapper) return;
    const handle = await attempt(w, () => w.p11.C_UnwrapKey(w.session, mechanismFor(this.mode, this.iv), unwrapper.handle, blob.data, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: this.generic ? CKK_GENERIC_SECRET : CKK_AES },
      ...wishTemplate(this.wish),
    ]));
    if (handle === undefined) return;
    w.keys.push({ handle, kind: 'secret', family: blob.contentFamily ?? handle });
    // What the attacker put in (or already opened) is what came out, when mode and key match.
    if (blob.plaintext && blob.mode === this.mode) w.knownHandles.set(handle, blob.plaintext);
  }
  toString() { return `U(${this.mode}/iv${this.iv}, ${this.related ? 'its wrapper family' : 'unwrapper'}#${this.unwrapper}, blob#${this.blob}, ${this.generic ? 'generic' : 'AES'} ${showWish(this.wish)})`; }
}

class Encrypt extends Move {
  constructor(readonly mode: Mode, readonly iv: number, readonly key: number, readonly dataIndex: number | undefined) { super(); }
  async run(_: World, w: World) {
    const key = w.key(this.key, this.mode === 'oaep' ? 'public' : 'secret');
    if (!key) return;
    const data = (this.dataIndex === undefined ? undefined : w.knownValue(this.dataIndex)) ?? crypto.getRandomValues(new Uint8Array(32));
    await w.learn(data, 'its own data');
    const out = await attempt(w, async () => {
      await w.p11.C_EncryptInit(w.session, mechanismFor(this.mode, this.iv), key.handle);
      return w.p11.C_Encrypt(w.session, data);
    });
    if (out) await w.addBlob({ data: out, mode: this.mode, ivIndex: this.iv, keyFamily: key.family, plaintext: data });
  }
  toString() { return `E(${this.mode}/iv${this.iv}, key#${this.key}, ${this.dataIndex === undefined ? 'fresh' : `known#${this.dataIndex}`})`; }
}

export class Decrypt extends Move {
  constructor(readonly mode: Mode, readonly iv: number, readonly key: number, readonly blob: number, readonly related: boolean) { super(); }
  async run(_: World, w: World) {
    const blob = w.blob(this.blob);
    if (!blob) return;
    const key = w.key(this.key, this.mode === 'oaep' ? 'private' : 'secret', this.related ? blob.keyFamily : undefined);
    if (!key) return;
    const out = await attempt(w, async () => {
      await w.p11.C_DecryptInit(w.session, mechanismFor(this.mode, this.iv), key.handle);
      return w.p11.C_Decrypt(w.session, blob.data);
    });
    if (out) await w.learn(out, this.toString());
  }
  toString() { return `D(${this.mode}/iv${this.iv}, ${this.related ? 'its wrapper family' : 'key'}#${this.key}, blob#${this.blob})`; }
}

const SALT = new TextEncoder().encode('search');

class Derive extends Move {
  constructor(readonly base: number, readonly bytes: number, readonly wish: Wish) { super(); }
  async run(_: World, w: World) {
    const base = w.key(this.base, 'secret');
    if (!base) return;
    w.shared.captured.length = 0;
    const handle = await attempt(w, () => w.p11.C_DeriveKey(w.session, {
      mechanism: CKM_HKDF_DERIVE,
      parameter: { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA, salt: SALT },
    }, base.handle, [{ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: this.bytes }, ...wishTemplate(this.wish)]));
    if (handle === undefined) return;
    const value = w.recordDerived(base.handle, 'a key derived from a secret base');
    w.keys.push({ handle, kind: 'secret', family: handle, secret: !w.knownHandles.has(base.handle) });
    // From a base it knows, the attacker computes the same HKDF offline.
    if (value && w.knownHandles.has(base.handle)) {
      w.knownHandles.set(handle, value);
      await w.learn(value, 'HKDF of a known base');
    }
  }
  toString() { return `DK(HKDF, base#${this.base}, AES-${this.bytes * 8} ${showWish(this.wish)})`; }
}

class Read extends Move {
  constructor(readonly key: number) { super(); }
  async run(_: World, w: World) {
    const key = w.key(this.key);
    if (!key) return;
    const got = await attempt(w, () => w.p11.C_GetAttributeValue(w.session, key.handle, [{ type: CKA_VALUE }]));
    const value = got?.[0]?.value;
    if (value instanceof Uint8Array) await w.learn(value, `GA(key#${this.key}, CKA_VALUE)`);
  }
  toString() { return `GA(key#${this.key}, CKA_VALUE)`; }
}

/** Offline: a blob only a known key (or the token's RSA key) opens, with a fresh known value inside. */
class Craft extends Move {
  constructor(readonly mode: 'kw' | 'gcm' | 'oaep', readonly key: number, readonly iv: number) { super(); }
  async run(_: World, w: World) {
    w.shared.steps++;
    const inside = crypto.getRandomValues(new Uint8Array(32));
    let data: Uint8Array | undefined;
    if (this.mode === 'oaep') {
      const pub = w.key(this.key, 'public');
      if (!pub) return;
      const got = await attempt(w, () => w.p11.C_GetAttributeValue(w.session, pub.handle, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]));
      const [n, e] = got ?? [];
      if (!(n?.value instanceof Uint8Array) || !(e?.value instanceof Uint8Array)) return;
      data = await oaepEncrypt(crypto, n.value, e.value, inside);
    } else {
      const key = w.knownValue(this.key);
      if (!key) return;
      const iv = (IVS[this.iv % IVS.length] as Uint8Array).slice(0, 12);
      data = this.mode === 'kw' ? await kwWrap(crypto, key, inside) : await gcmEncrypt(crypto, key, iv, inside);
    }
    await w.learn(inside, 'its own crafted value');
    await w.addBlob({ data, mode: this.mode, ivIndex: this.iv, keyFamily: -1, plaintext: inside });
  }
  toString() { return `craft(${this.mode}, key#${this.key}, iv${this.iv})`; }
}

/** The moves and how often each is drawn (RSA generation is slow, so rare). */
const MOVES: { arbitrary: fc.Arbitrary<Command>; weight: number }[] = [
  { arbitrary: fc.tuple(fc.constantFrom(16, 32), wish).map(([b, w]) => new GenerateKey(b, w)), weight: 4 },
  { arbitrary: fc.noShrink(fc.tuple(wish, wish).map(([p, q]) => new GenerateRsa(p, q))), weight: 1 },
  { arbitrary: fc.tuple(fc.option(index), wish).map(([v, w]) => new CreateSecret(v ?? undefined, w)), weight: 3 },
  { arbitrary: fc.tuple(index, wish).map(([p, w]) => new CreatePublic(p, w)), weight: 2 },
  { arbitrary: fc.tuple(fc.nat({ max: 1 }), fc.constantFrom(16, 32), wish).map(([p, b, w]) => new GeneratePbkdf2(p, b, w)), weight: 3 },
  { arbitrary: fc.tuple(index, wish, lowered(false), lowered(true)).map(([k, w, p, t]) => new Copy(k, w, p, t)), weight: 3 },
  { arbitrary: fc.tuple(index, fc.constantFrom(...SETTABLE), fc.boolean()).map(([k, t, v]) => new SetAttribute(k, t, v)), weight: 3 },
  { arbitrary: fc.tuple(mode, index, index, index, related, fc.boolean()).map(([m, i, a, b, t, g]) => new Wrap(m, i, a, b, t, g)), weight: 5 },
  { arbitrary: fc.tuple(mode, index, index, index, related, fc.boolean(), wish).map(([m, i, a, b, r, g, w]) => new Unwrap(m, i, a, b, r, g, w)), weight: 5 },
  { arbitrary: fc.tuple(mode, index, index, fc.option(index)).map(([m, i, k, d]) => new Encrypt(m, i, k, d ?? undefined)), weight: 4 },
  { arbitrary: fc.tuple(mode, index, index, index, related).map(([m, i, k, b, r]) => new Decrypt(m, i, k, b, r)), weight: 5 },
  { arbitrary: fc.tuple(index, fc.constantFrom(16, 32), wish).map(([b, n, w]) => new Derive(b, n, w)), weight: 2 },
  { arbitrary: index.map((k) => new Read(k)), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom('kw', 'gcm', 'oaep') as fc.Arbitrary<'kw' | 'gcm' | 'oaep'>, index, index).map(([m, k, i]) => new Craft(m, k, i)), weight: 3 },
];

/** One move, drawn by weight. */
export const MOVE: fc.Arbitrary<Command> = fc.oneof(...MOVES);

/** For a failure report: every secret and known value, in short. */
export function summary(world: World): string {
  return `keys=${world.keys.length} blobs=${world.blobs.length} known=${world.known.size} secrets=${[...world.secrets.values()].join(', ')}; ` +
    `attacker knows ${[...world.known.keys()].map((h) => h.slice(0, 8)).join(' ')}`;
}
