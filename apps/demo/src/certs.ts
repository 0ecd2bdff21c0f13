// CSRs and self-signed certificates with @peculiar/x509, signed by a key that stays on the token:
// x509 gets a Crypto whose subtle.sign goes to C_SignInit/C_Sign; everything else is the page's own.
import * as x509 from '@peculiar/x509';
import {
  CKA_CERTIFICATE_TYPE, CKA_CLASS, CKA_ID, CKA_ISSUER, CKA_LABEL, CKA_PRIVATE, CKA_SERIAL_NUMBER, CKA_SUBJECT, CKA_TOKEN,
  CKA_VALUE, CKC_X_509, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_EDDSA, CKM_SHA256_RSA_PKCS,
  CKO_CERTIFICATE,
} from '@vhsm/pkcs11';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';
import { fromHex } from './format.js';
import type { PublicKeyExport } from './keys.js';

interface TokenKey {
  p: CryptokiApiV3;
  session: number;
  handle: number;
}

const tokenKeys = new WeakMap<object, TokenKey>();

function hashName(alg: unknown): string {
  const hash = (alg as { hash?: unknown }).hash;
  return typeof hash === 'string' ? hash : String((hash as { name?: unknown } | undefined)?.name ?? 'SHA-256');
}

function signMechanism(alg: unknown): number {
  const name = String((alg as { name?: unknown }).name ?? alg);
  if (name === 'Ed25519') return CKM_EDDSA;
  if (name === 'ECDSA') return ({ 'SHA-384': CKM_ECDSA_SHA384, 'SHA-512': CKM_ECDSA_SHA512 } as Record<string, number>)[hashName(alg)] ?? CKM_ECDSA_SHA256;
  return CKM_SHA256_RSA_PKCS;
}

/** A Crypto for x509 in which signing with a token key object calls the token. */
function tokenCrypto(): Crypto {
  const subtle = crypto.subtle;
  const sign = async (alg: AlgorithmIdentifier, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> => {
    const token = tokenKeys.get(key);
    if (!token) return subtle.sign(alg, key, data);
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    await token.p.C_SignInit(token.session, { mechanism: signMechanism(alg) }, token.handle);
    const signature = await token.p.C_Sign(token.session, bytes.slice());
    return signature.slice().buffer;
  };
  const proxy = new Proxy(subtle, {
    get(target, property) {
      if (property === 'sign') return sign;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { subtle: proxy, getRandomValues: crypto.getRandomValues.bind(crypto), randomUUID: crypto.randomUUID.bind(crypto) } as Crypto;
}

async function keyPair(p: CryptokiApiV3, session: number, privateHandle: number, pub: PublicKeyExport): Promise<CryptoKeyPair> {
  const publicKey = await crypto.subtle.importKey('spki', pub.spki.slice(), pub.algorithm, true, ['verify']);
  // Stands in for the private key: it names the algorithm for x509 and carries the token handle.
  const privateKey = { type: 'private', extractable: false, algorithm: publicKey.algorithm, usages: ['sign'] } as unknown as CryptoKey;
  tokenKeys.set(privateKey, { p, session, handle: privateHandle });
  return { publicKey, privateKey };
}

export async function makeCsr(p: CryptokiApiV3, session: number, privateHandle: number, pub: PublicKeyExport, subject: string): Promise<string> {
  const keys = await keyPair(p, session, privateHandle, pub);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: pub.signing }, tokenCrypto());
  return csr.toString('pem');
}

export async function makeSelfSigned(p: CryptokiApiV3, session: number, privateHandle: number, pub: PublicKeyExport, subject: string): Promise<x509.X509Certificate> {
  const keys = await keyPair(p, session, privateHandle, pub);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject, keys, signingAlgorithm: pub.signing, notBefore: new Date(), notAfter: new Date(Date.now() + 365 * 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  }, tokenCrypto());
  // The page checks the token's signature with its own WebCrypto before anyone stores it.
  if (!(await cert.verify({ signatureOnly: true }, crypto))) throw new Error('the certificate signature does not verify');
  return cert;
}

/** Stores `cert` as a CKO_CERTIFICATE token object beside its key (same CKA_ID). */
export function storeCertificate(p: CryptokiApiV3, session: number, cert: x509.X509Certificate, id: Uint8Array, label: string): Promise<number> {
  const der = new Uint8Array(cert.rawData);
  return p.C_CreateObject(session, [
    { type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 }, { type: CKA_TOKEN, value: true },
    // A certificate is public: readable without login, like the public key it carries.
    { type: CKA_PRIVATE, value: false },
    { type: CKA_LABEL, value: label }, { type: CKA_ID, value: id }, { type: CKA_VALUE, value: der },
    { type: CKA_SUBJECT, value: new Uint8Array(cert.subjectName.toArrayBuffer()) },
    { type: CKA_ISSUER, value: new Uint8Array(cert.issuerName.toArrayBuffer()) },
    { type: CKA_SERIAL_NUMBER, value: derInteger(fromHex(cert.serialNumber)) },
  ]);
}

/** CKA_SERIAL_NUMBER is the DER encoding of the serial INTEGER. */
function derInteger(bytes: Uint8Array): Uint8Array {
  const body = (bytes[0] ?? 0) >= 0x80 ? Uint8Array.from([0, ...bytes]) : bytes;
  return Uint8Array.from([0x02, body.length, ...body]);
}
