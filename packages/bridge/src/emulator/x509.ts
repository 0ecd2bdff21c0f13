/** The smallest self-signed X.509 v3 certificate (ECDSA P-256 or RSA, with SHA-256), for emulated cards. */
import { tlv } from '../tlv.js';

const OID_ECDSA_SHA256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);
const OID_SHA256_RSA = Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b);
const OID_COMMON_NAME = Uint8Array.of(0x06, 0x03, 0x55, 0x04, 0x03);

function name(cn: string): Uint8Array {
  return tlv(0x30, tlv(0x31, tlv(0x30, OID_COMMON_NAME, tlv(0x0c, new TextEncoder().encode(cn)))));
}

function integer(bytes: Uint8Array): Uint8Array {
  let v = bytes;
  while (v.length > 1 && v[0] === 0 && (v[1] as number) < 0x80) v = v.subarray(1);
  return tlv(0x02, (v[0] as number) & 0x80 ? Uint8Array.of(0, ...v) : v);
}

/** ECDSA r||s (WebCrypto) to DER ECDSA-Sig-Value. */
export function rawSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return tlv(0x30, integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}

export async function selfSignedCertificate(keys: CryptoKeyPair, commonName: string, serial: Uint8Array): Promise<Uint8Array> {
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const rsa = keys.privateKey.algorithm.name === 'RSASSA-PKCS1-v1_5';
  // sha256WithRSAEncryption carries a NULL parameter; ecdsa-with-SHA256 none.
  const algorithm = rsa ? tlv(0x30, OID_SHA256_RSA, Uint8Array.of(0x05, 0x00)) : tlv(0x30, OID_ECDSA_SHA256);
  const time = (text: string) => tlv(0x17, new TextEncoder().encode(text));
  const tbs = tlv(0x30,
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
    integer(serial),
    algorithm,
    name(commonName),
    tlv(0x30, time('250101000000Z'), time('350101000000Z')),
    name(commonName),
    spki);
  const raw = new Uint8Array(await crypto.subtle.sign(rsa ? 'RSASSA-PKCS1-v1_5' : { name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, tbs));
  return tlv(0x30, tbs, algorithm, tlv(0x03, Uint8Array.of(0), rsa ? raw : rawSignatureToDer(raw)));
}
