/**
 * certStorage: X.509 certificates as CKO_CERTIFICATE token objects, checked against Node's own
 * X509Certificate parser and the PKCS#11 attributes any application would read.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CKA_CLASS, CKA_ID, CKA_ISSUER, CKA_LABEL, CKA_SERIAL_NUMBER, CKA_SUBJECT, CKO_CERTIFICATE, CertStorage, parseCertificate,
} from '../src/index.js';
import type { VhsmConnection, VhsmCryptoKeyPair } from '../src/index.js';
import { connectTo, initToken, login, newHost } from './helpers.js';

// openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=vhsm cert storage test/O=vhsm" -set_serial 0x1234abcd
const PEM = `-----BEGIN CERTIFICATE-----
MIIBpDCCAUugAwIBAgIEEjSrzTAKBggqhkjOPQQDAjAwMR8wHQYDVQQDDBZ2aHNt
IGNlcnQgc3RvcmFnZSB0ZXN0MQ0wCwYDVQQKDAR2aHNtMB4XDTI2MTEyNzEwNTEz
OFoXDTM2MTEyNDEwNTEzOFowMDEfMB0GA1UEAwwWdmhzbSBjZXJ0IHN0b3JhZ2Ug
dGVzdDENMAsGA1UECgwEdmhzbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABO2a
S4pFEDsesWEcIr6CyszqZKhEZnksm6sV3sHDrxfDl48zz24u8lVQz9xcQtPrHhEc
22WgfiAiZc0r3oDVfaujUzBRMB0GA1UdDgQWBBSbUpMmxHLm4Iv0VJcxHht1vnky
HDAfBgNVHSMEGDAWgBSbUpMmxHLm4Iv0VJcxHht1vnkyHDAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0cAMEQCIEGZXSLJZO1fuVg3yDTfgSWO3TqcdQaH5guV
GWyyZzPmAiBxj+p1YOlWnUz36KUpDPD/zkLAKXny2hjQJWfSQW/mdw==
-----END CERTIFICATE-----`;
const DER = new Uint8Array(new X509Certificate(PEM).raw);

let vhsm: VhsmConnection;
let certs: CertStorage;

beforeAll(async () => {
  vhsm = await connectTo(newHost());
  await initToken(vhsm);
  await login(vhsm);
  certs = new CertStorage(vhsm.subtle);
});
afterAll(() => vhsm.close());

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('certStorage', () => {
  it('reads subject, issuer and serial number from the DER', () => {
    const { subject, issuer, serial } = parseCertificate(DER);
    expect(serial).toEqual(Uint8Array.of(0x02, 0x04, 0x12, 0x34, 0xab, 0xcd));
    expect(subject[0]).toBe(0x30);
    expect(text(subject)).toContain('vhsm cert storage test');
    expect(issuer).toEqual(subject);
  });

  it('stores a certificate beside its key, finds it by value, and removes it', async () => {
    const pair = (await vhsm.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as VhsmCryptoKeyPair;
    const id = await certs.setItem(PEM, { key: pair.privateKey, label: 'my cert' });
    expect(id).toBe(`x509-${Buffer.from(pair.privateKey.id).toString('hex')}`);
    expect(await certs.setItem(DER)).toBe(id);
    expect(await certs.keys()).toEqual([id]);
    expect(new Uint8Array((await certs.getItem(id)) as ArrayBuffer)).toEqual(DER);
    expect(await certs.indexOf(DER.buffer)).toBe(id);
    expect(await certs.hasItem(PEM)).toBe(true);

    const p11 = vhsm.pkcs11;
    const session = await p11.C_OpenSession(0, 0x4 /* CKF_SERIAL_SESSION */);
    await p11.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_ID, value: pair.privateKey.id }]);
    const [handle] = await p11.C_FindObjects(session, 2);
    await p11.C_FindObjectsFinal(session);
    const [subject, issuer, serial, label] = await p11.C_GetAttributeValue(session, handle as number, [
      { type: CKA_SUBJECT }, { type: CKA_ISSUER }, { type: CKA_SERIAL_NUMBER }, { type: CKA_LABEL },
    ]);
    expect(text(subject?.value as Uint8Array)).toContain('vhsm cert storage test');
    expect(issuer?.value).toEqual(subject?.value);
    const serialNumber = serial?.value as Uint8Array;
    expect(Buffer.from(serialNumber.subarray(2)).toString('hex').toUpperCase()).toBe(new X509Certificate(PEM).serialNumber);
    expect(label?.value).toBe('my cert');

    await certs.removeItem(id);
    expect(await certs.getItem(id)).toBeNull();
    expect(await certs.hasItem(DER)).toBe(false);
    await certs.setItem(DER);
    await certs.clear();
    expect(await certs.keys()).toEqual([]);
  });

  it('refuses what is not an X.509 certificate with DataError', async () => {
    await expect(certs.setItem(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).rejects.toMatchObject({ name: 'DataError' });
    await expect(certs.setItem(DER.subarray(0, 100))).rejects.toMatchObject({ name: 'DataError' });
    await expect(certs.setItem('-----BEGIN PRIVATE KEY-----')).rejects.toMatchObject({ name: 'DataError' });
    expect(await certs.keys()).toEqual([]);
  });
});
