/**
 * What this page can reach, so an application shows a hardware panel only where it can work
 * (docs/hardware.md, "Where it can run"). Smart cards need WebUSB plus a context that may claim
 * the smart-card class (an Isolated Web App with usb-unrestricted, or Electron); FIDO over HID needs
 * WebHID where the FIDO block is lifted (Electron with the blocklist disabled); WebAuthn PRF works
 * on ordinary secure pages where the browser offers it.
 */
export interface HardwareSupport {
  webUsb: boolean;
  webHid: boolean;
  /** An Isolated Web App (`isIsolatedContext`). */
  isolated: boolean;
  electron: boolean;
  /** CCID smart cards through `openUsbToken` can be expected to work. */
  smartCards: boolean;
  /** FIDO keys through `openHidToken` may work (Electron, if the app disabled the HID blocklist). */
  fidoHid: boolean;
  /** WebAuthn with the PRF extension: true, false, or undefined when the browser does not say. */
  webAuthnPrf: boolean | undefined;
}

interface Environment {
  navigator?: { usb?: unknown; hid?: unknown; userAgent?: string } | undefined;
  isIsolatedContext?: boolean | undefined;
  isSecureContext?: boolean | undefined;
  PublicKeyCredential?: { getClientCapabilities?: () => Promise<Record<string, boolean>> } | undefined;
}

export async function hardwareSupport(environment: Environment = globalThis as unknown as Environment): Promise<HardwareSupport> {
  const nav = environment.navigator;
  const webUsb = nav?.usb !== undefined;
  const webHid = nav?.hid !== undefined;
  const isolated = environment.isIsolatedContext === true;
  const electron = /\bElectron\//.test(nav?.userAgent ?? '');
  let webAuthnPrf: boolean | undefined;
  const credential = environment.PublicKeyCredential;
  if (!credential || environment.isSecureContext === false) {
    webAuthnPrf = false;
  } else if (typeof credential.getClientCapabilities === 'function') {
    try {
      const capabilities = await credential.getClientCapabilities();
      webAuthnPrf = capabilities['extension:prf'];
    } catch {
      webAuthnPrf = undefined;
    }
  }
  return {
    webUsb, webHid, isolated, electron,
    smartCards: webUsb && (isolated || electron),
    fidoHid: webHid && electron,
    webAuthnPrf,
  };
}
