import { describe, expect, it } from 'vitest';
import { hardwareSupport } from '../src/index.js';

const chromeUa = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

describe('hardwareSupport', () => {
  it('an ordinary Chrome page: WebUSB and WebHID exist, but neither smart cards nor FIDO over HID can work', async () => {
    const support = await hardwareSupport({
      navigator: { usb: {}, hid: {}, userAgent: chromeUa }, isSecureContext: true,
      PublicKeyCredential: { getClientCapabilities: async () => ({ 'extension:prf': true }) },
    });
    expect(support).toEqual({ webUsb: true, webHid: true, isolated: false, electron: false, smartCards: false, fidoHid: false, webAuthnPrf: true });
  });

  it('an Isolated Web App may use smart cards; Electron may use both', async () => {
    expect((await hardwareSupport({ navigator: { usb: {}, userAgent: chromeUa }, isIsolatedContext: true })).smartCards).toBe(true);
    const electron = await hardwareSupport({ navigator: { usb: {}, hid: {}, userAgent: `${chromeUa} Electron/33.0.0` } });
    expect([electron.smartCards, electron.fidoHid]).toEqual([true, true]);
  });

  it('Firefox-like and insecure contexts: no WebUSB, no WebHID; PRF unknown or absent', async () => {
    const firefox = await hardwareSupport({ navigator: { userAgent: 'Mozilla/5.0 Firefox/140.0' }, isSecureContext: true, PublicKeyCredential: {} });
    expect(firefox).toMatchObject({ webUsb: false, webHid: false, smartCards: false, fidoHid: false, webAuthnPrf: undefined });
    expect((await hardwareSupport({ navigator: {}, isSecureContext: false, PublicKeyCredential: {} })).webAuthnPrf).toBe(false);
    expect((await hardwareSupport({})).webAuthnPrf).toBe(false);
  });
});
