/**
 * The cryptographic cases: one operation = what a PKCS#11 caller must issue for it (…Init then the
 * single-part call), or one crypto.subtle call for raw WebCrypto. Keys are token objects, made once
 * before the runs; every backend gets the same data.
 */
import {
  CKA_CLASS, CKA_DECRYPT, CKA_EC_PARAMS, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_MODULUS_BITS,
  CKA_PRIVATE, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_VALUE_LEN, CKA_VERIFY,
  CKA_WRAP, CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKK_GENERIC_SECRET, CKM_AES_GCM, CKM_AES_KEY_GEN,
  CKM_AES_KEY_WRAP, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256, CKM_GENERIC_SECRET_KEY_GEN,
  CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import type { Attribute, AttributeValue, Mechanism } from '@vhsm/pkcs11';
import { createHash } from 'node:crypto';
import type { TokenHandle } from './backends.js';
import type { Operation } from './harness.js';

/** DER OID of P-256 (CKA_EC_PARAMS). */
export const P256 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const F4 = Uint8Array.from([1, 0, 1]);

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 64 KiB per call.
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  return out;
}

const KIB = randomBytes(1024);
const MIB = randomBytes(1 << 20);

export interface OpCase {
  id: string;
  title: string;
  /** Calls in flight to measure at. */
  inFlight: number[];
  /** Ceiling on operations per run (slow cases). */
  maxOps: number;
  note?: string;
  p11(t: TokenHandle): Promise<Operation>;
  web(subtle: SubtleCrypto): Promise<Operation>;
}

const t = (type: number, value: AttributeValue): Attribute => ({ type, value });

/** Twelve-byte IVs from a counter: unique per key within a run, and free to make. */
function ivMaker(): () => Uint8Array<ArrayBuffer> {
  let n = 0;
  return () => {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(8, ++n);
    return iv;
  };
}

async function aesKey(t0: TokenHandle, roles: Attribute[], extractable = false): Promise<number> {
  return t0.p11.C_GenerateKey(t0.sessions[0] as number, { mechanism: CKM_AES_KEY_GEN }, [
    t(CKA_VALUE_LEN, 32), t(CKA_TOKEN, true), t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true),
    t(CKA_EXTRACTABLE, extractable), ...roles,
  ]);
}

async function ecPair(t0: TokenHandle, token = true) {
  return t0.p11.C_GenerateKeyPair(t0.sessions[0] as number, { mechanism: CKM_EC_KEY_PAIR_GEN },
    [t(CKA_EC_PARAMS, P256), t(CKA_VERIFY, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, false)],
    [t(CKA_SIGN, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true), t(CKA_EXTRACTABLE, false)]);
}

async function rsaPair(t0: TokenHandle, role: 'sign' | 'decrypt', token = true) {
  const [pub, priv] = role === 'sign' ? [CKA_VERIFY, CKA_SIGN] : [CKA_ENCRYPT, CKA_DECRYPT];
  return t0.p11.C_GenerateKeyPair(t0.sessions[0] as number, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
    [t(CKA_MODULUS_BITS, 2048), t(CKA_PUBLIC_EXPONENT, F4), t(pub, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, false)],
    [t(priv, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true), t(CKA_EXTRACTABLE, false)]);
}

function p11Sign(t0: TokenHandle, mechanism: Mechanism, key: number, data: Uint8Array): Operation {
  return {
    async op(lane) {
      const s = t0.sessions[lane] as number;
      await t0.p11.C_SignInit(s, mechanism, key);
      return t0.p11.C_Sign(s, data);
    },
  };
}

/**
 * SoftHSM2 has no CKM_ECDSA_SHA256 (CKR_MECHANISM_INVALID): its callers hash in the application and
 * sign the digest with CKM_ECDSA, so that is what it is measured doing.
 */
function ecdsaFor(t0: TokenHandle): { mechanism: Mechanism; input: (data: Uint8Array) => Uint8Array } {
  return t0.name === 'softhsm'
    ? { mechanism: { mechanism: CKM_ECDSA }, input: (data) => createHash('sha256').update(data).digest() }
    : { mechanism: { mechanism: CKM_ECDSA_SHA256 }, input: (data) => data };
}

const PSS: Mechanism = { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } };
// SoftHSM2 does OAEP with SHA-1 only, so every backend decrypts with SHA-1 (the cost is the RSA private operation).
const OAEP: Mechanism = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA1 } };

function gcmCase(id: string, title: string, data: Uint8Array<ArrayBuffer>, maxOps: number): OpCase {
  return {
    id, title, inFlight: [1, 8], maxOps,
    async p11(t0) {
      const key = await aesKey(t0, [t(CKA_ENCRYPT, true), t(CKA_DECRYPT, true)]);
      const iv = ivMaker();
      return {
        async op(lane) {
          const s = t0.sessions[lane] as number;
          await t0.p11.C_EncryptInit(s, { mechanism: CKM_AES_GCM, parameter: { iv: iv(), tagBits: 128 } }, key);
          return t0.p11.C_Encrypt(s, data);
        },
      };
    },
    async web(subtle) {
      const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      const iv = ivMaker();
      return { op: () => subtle.encrypt({ name: 'AES-GCM', iv: iv() }, key, data) };
    },
  };
}

export const OP_CASES: OpCase[] = [
  gcmCase('aes-gcm-1k', 'AES-256-GCM encrypt 1 KiB', KIB, 20000),
  gcmCase('aes-gcm-1m', 'AES-256-GCM encrypt 1 MiB', MIB, 400),
  {
    id: 'aes-kw-wrap', title: 'AES-KW wrap (AES-256 under AES-256)', inFlight: [1, 8], maxOps: 20000,
    async p11(t0) {
      const kek = await aesKey(t0, [t(CKA_WRAP, true)]);
      const target = await aesKey(t0, [t(CKA_ENCRYPT, true)], true);
      return {
        op: (lane) => t0.p11.C_WrapKey(t0.sessions[lane] as number, { mechanism: CKM_AES_KEY_WRAP }, kek, target),
      };
    },
    async web(subtle) {
      const kek = await subtle.generateKey({ name: 'AES-KW', length: 256 }, false, ['wrapKey']);
      const target = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
      return { op: () => subtle.wrapKey('raw', target, kek, 'AES-KW') };
    },
  },
  {
    id: 'ecdsa-sign', title: 'ECDSA P-256 sign (SHA-256, 1 KiB)', inFlight: [1, 8], maxOps: 20000,
    note: 'SoftHSM2 lacks CKM_ECDSA_SHA256: it signs a SHA-256 digest made by the caller (node:crypto) with CKM_ECDSA',
    async p11(t0) {
      const { privateKey } = await ecPair(t0);
      const { mechanism, input } = ecdsaFor(t0);
      return {
        async op(lane) {
          const s = t0.sessions[lane] as number;
          await t0.p11.C_SignInit(s, mechanism, privateKey);
          return t0.p11.C_Sign(s, input(KIB));
        },
      };
    },
    async web(subtle) {
      const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
      return { op: () => subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, KIB) };
    },
  },
  {
    id: 'ecdsa-verify', title: 'ECDSA P-256 verify (SHA-256, 1 KiB)', inFlight: [1, 8], maxOps: 20000,
    note: 'SoftHSM2 lacks CKM_ECDSA_SHA256: it signs a SHA-256 digest made by the caller (node:crypto) with CKM_ECDSA',
    async p11(t0) {
      const { publicKey, privateKey } = await ecPair(t0);
      const { mechanism, input } = ecdsaFor(t0);
      const s0 = t0.sessions[0] as number;
      await t0.p11.C_SignInit(s0, mechanism, privateKey);
      const signature = await t0.p11.C_Sign(s0, input(KIB));
      return {
        async op(lane) {
          const s = t0.sessions[lane] as number;
          await t0.p11.C_VerifyInit(s, mechanism, publicKey);
          if (!(await t0.p11.C_Verify(s, input(KIB), signature))) throw new Error('ECDSA signature did not verify');
        },
      };
    },
    async web(subtle) {
      const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
      const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
      const signature = await subtle.sign(algorithm, pair.privateKey, KIB);
      return {
        async op() {
          if (!(await subtle.verify(algorithm, pair.publicKey, signature, KIB))) throw new Error('ECDSA signature did not verify');
        },
      };
    },
  },
  {
    id: 'rsa-pkcs1-sign', title: 'RSA-2048 sign PKCS#1 v1.5 (SHA-256, 1 KiB)', inFlight: [1, 8], maxOps: 4000,
    async p11(t0) {
      const { privateKey } = await rsaPair(t0, 'sign');
      return p11Sign(t0, { mechanism: CKM_SHA256_RSA_PKCS }, privateKey, KIB);
    },
    async web(subtle) {
      const pair = await subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: F4, hash: 'SHA-256' }, false, ['sign', 'verify']);
      return { op: () => subtle.sign('RSASSA-PKCS1-v1_5', pair.privateKey, KIB) };
    },
  },
  {
    id: 'rsa-pss-sign', title: 'RSA-2048 sign PSS (SHA-256, salt 32, 1 KiB)', inFlight: [1, 8], maxOps: 4000,
    async p11(t0) {
      const { privateKey } = await rsaPair(t0, 'sign');
      return p11Sign(t0, PSS, privateKey, KIB);
    },
    async web(subtle) {
      const pair = await subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: F4, hash: 'SHA-256' }, false, ['sign', 'verify']);
      return { op: () => subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, pair.privateKey, KIB) };
    },
  },
  {
    id: 'rsa-oaep-decrypt', title: 'RSA-2048 OAEP decrypt (SHA-1, 32 B)', inFlight: [1, 8], maxOps: 4000,
    async p11(t0) {
      const { publicKey, privateKey } = await rsaPair(t0, 'decrypt');
      const s0 = t0.sessions[0] as number;
      await t0.p11.C_EncryptInit(s0, OAEP, publicKey);
      const ciphertext = await t0.p11.C_Encrypt(s0, KIB.slice(0, 32));
      return {
        async op(lane) {
          const s = t0.sessions[lane] as number;
          await t0.p11.C_DecryptInit(s, OAEP, privateKey);
          return t0.p11.C_Decrypt(s, ciphertext);
        },
      };
    },
    async web(subtle) {
      const pair = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: F4, hash: 'SHA-1' }, false, ['encrypt', 'decrypt']);
      const ciphertext = await subtle.encrypt('RSA-OAEP', pair.publicKey, KIB.slice(0, 32));
      return { op: () => subtle.decrypt('RSA-OAEP', pair.privateKey, ciphertext) };
    },
  },
  {
    id: 'hmac-1k', title: 'HMAC-SHA-256 sign 1 KiB', inFlight: [1, 8], maxOps: 20000,
    async p11(t0) {
      const key = await t0.p11.C_GenerateKey(t0.sessions[0] as number, { mechanism: CKM_GENERIC_SECRET_KEY_GEN }, [
        t(CKA_CLASS, CKO_SECRET_KEY), t(CKA_KEY_TYPE, CKK_GENERIC_SECRET), t(CKA_VALUE_LEN, 32), t(CKA_TOKEN, true),
        t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true), t(CKA_EXTRACTABLE, false), t(CKA_SIGN, true), t(CKA_VERIFY, true),
      ]);
      return p11Sign(t0, { mechanism: CKM_SHA256_HMAC }, key, KIB);
    },
    async web(subtle) {
      const key = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign', 'verify']);
      return { op: () => subtle.sign('HMAC', key, KIB) };
    },
  },
  {
    id: 'sha256-1m', title: 'SHA-256 digest 1 MiB', inFlight: [1, 8], maxOps: 400,
    async p11(t0) {
      return {
        async op(lane) {
          const s = t0.sessions[lane] as number;
          await t0.p11.C_DigestInit(s, { mechanism: CKM_SHA256 });
          return t0.p11.C_Digest(s, MIB);
        },
      };
    },
    async web(subtle) {
      return { op: () => subtle.digest('SHA-256', MIB) };
    },
  },
];

/** Key generation, as session objects and as token objects; new keys are destroyed after each run. */
function keygenCase(id: string, title: string, maxOps: number, inFlight: number[],
  generate: (t0: TokenHandle, lane: number, token: boolean) => Promise<number[]>,
  web: (subtle: SubtleCrypto) => Promise<unknown>): (token: boolean) => OpCase {
  return (token) => ({
    id: `${id}-${token ? 'token' : 'session'}`, title: `${title}, ${token ? 'token' : 'session'} object`, inFlight, maxOps,
    ...(token ? { note: 'raw WebCrypto has no persistence: its figure is the bare generateKey' } : {}),
    async p11(t0) {
      const made: [number, number][] = [];
      return {
        async op(lane) {
          for (const h of await generate(t0, lane, token)) made.push([lane, h]);
        },
        async afterRun() {
          for (const [lane, h] of made.splice(0)) await t0.p11.C_DestroyObject(t0.sessions[lane] as number, h);
        },
      };
    },
    async web(subtle) {
      return { op: () => web(subtle) };
    },
  });
}

const aesGen = keygenCase('keygen-aes', 'Generate AES-256 key', 2000, [1, 8], async (t0, lane, token) => [
  await t0.p11.C_GenerateKey(t0.sessions[lane] as number, { mechanism: CKM_AES_KEY_GEN }, [
    t(CKA_VALUE_LEN, 32), t(CKA_TOKEN, token), t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true),
    t(CKA_EXTRACTABLE, false), t(CKA_ENCRYPT, true), t(CKA_DECRYPT, true),
  ]),
], (subtle) => subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']));

const ecGen = keygenCase('keygen-ec', 'Generate EC P-256 key pair', 2000, [1, 8], async (t0, lane, token) => {
  const { publicKey, privateKey } = await t0.p11.C_GenerateKeyPair(t0.sessions[lane] as number, { mechanism: CKM_EC_KEY_PAIR_GEN },
    [t(CKA_EC_PARAMS, P256), t(CKA_VERIFY, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, false)],
    [t(CKA_SIGN, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true), t(CKA_EXTRACTABLE, false)]);
  return [publicKey, privateKey];
}, (subtle) => subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']));

const rsaGen = keygenCase('keygen-rsa', 'Generate RSA-2048 key pair', 40, [1, 8], async (t0, lane, token) => {
  const { publicKey, privateKey } = await t0.p11.C_GenerateKeyPair(t0.sessions[lane] as number, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
    [t(CKA_MODULUS_BITS, 2048), t(CKA_PUBLIC_EXPONENT, F4), t(CKA_VERIFY, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, false)],
    [t(CKA_SIGN, true), t(CKA_TOKEN, token), t(CKA_PRIVATE, true), t(CKA_SENSITIVE, true), t(CKA_EXTRACTABLE, false)]);
  return [publicKey, privateKey];
}, (subtle) => subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: F4, hash: 'SHA-256' }, false, ['sign', 'verify']));

export const KEYGEN_CASES: OpCase[] = [aesGen(false), aesGen(true), ecGen(false), ecGen(true), rsaGen(false), rsaGen(true)];
