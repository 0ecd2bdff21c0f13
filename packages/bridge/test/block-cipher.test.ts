import { describe, expect, it } from 'vitest';
import { encryptBlock } from '../src/block-cipher.js';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => Number.parseInt(b, 16)));

describe('management-key block ciphers (known answers)', () => {
  it('triple DES: the SP 800-67 example', async () => {
    const key = hex('0123456789abcdef23456789abcdef01456789abcdef0123');
    expect(await encryptBlock('3des', key, new TextEncoder().encode('The qufc'))).toEqual(hex('a826fd8ce53b855f'));
  });

  it('AES-128 and AES-256: the FIPS-197 appendix C examples', async () => {
    const plaintext = hex('00112233445566778899aabbccddeeff');
    expect(await encryptBlock('aes128', hex('000102030405060708090a0b0c0d0e0f'), plaintext)).toEqual(hex('69c4e0d86a7b0430d8cdb78070b4c55a'));
    expect(await encryptBlock('aes256', hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'), plaintext))
      .toEqual(hex('8ea2b7ca516745bfeafc49904b496089'));
  });
});
