/**
 * openUsbToken: a WebUSB-shaped device with a CCID interface and a PIV or OpenPGP card becomes a
 * TokenProvider for `cryptoki.attachToken`. It also watches for removal: the browser's disconnect
 * event, the reader's slot-change notices on its interrupt endpoint, and failed transfers.
 */
import { CKR_TOKEN_NOT_RECOGNIZED } from '@vhsm/pkcs11';
import { CardChannel } from './apdu.js';
import { CcidReader, RDR_TO_PC_NOTIFY_SLOT_CHANGE } from './ccid.js';
import { fail } from './errors.js';
import { OpenPgpProvider, selectOpenPgp } from './openpgp.js';
import { PivProvider, selectPiv } from './piv.js';
import type { CardProvider } from './provider-base.js';
import type { UsbDeviceLike, UsbEvents } from './usb.js';

export interface OpenUsbTokenOptions {
  /** Where disconnects are announced (pass `navigator.usb` in a browser). */
  usb?: UsbEvents;
  /** Card slot of a multi-slot reader. */
  slot?: number;
}

export async function openUsbToken(device: UsbDeviceLike, options: OpenUsbTokenOptions = {}): Promise<CardProvider> {
  const reader = await CcidReader.open(device, options.slot === undefined ? {} : { slot: options.slot });
  await reader.powerOn();
  const channel = new CardChannel(reader, { extended: reader.descriptor.level === 'extended' });
  let provider: CardProvider;
  if (await selectPiv(channel)) {
    const piv = new PivProvider({ reader, channel });
    await piv.init();
    provider = piv;
  } else if (await selectOpenPgp(channel)) {
    const openpgp = new OpenPgpProvider({ reader, channel });
    await openpgp.init();
    provider = openpgp;
  } else {
    await reader.close();
    throw fail(CKR_TOKEN_NOT_RECOGNIZED, 'the card has neither a PIV nor an OpenPGP application');
  }
  watchRemoval(provider, reader, options.usb);
  return provider;
}

function watchRemoval(provider: CardProvider, reader: CcidReader, usb: UsbEvents | undefined): void {
  if (usb) {
    const onDisconnect = (event: { readonly device: unknown }) => {
      if (event.device !== reader.device) return;
      usb.removeEventListener('disconnect', onDisconnect);
      provider.markRemoved();
    };
    usb.addEventListener('disconnect', onDisconnect);
  }
  const interrupt = reader.interrupt;
  if (!interrupt) return;
  void (async () => {
    // Slot-change notices: two bits per slot, the low one says whether a card is present.
    const bit = 1 << ((reader.slot % 4) * 2);
    const byteIndex = 1 + Math.floor(reader.slot / 4);
    while (!provider.removed) {
      try {
        const r = await reader.device.transferIn(interrupt.endpointNumber, interrupt.packetSize);
        const data = r.data;
        if (r.status !== 'ok' || !data || data.byteLength <= byteIndex) continue;
        if (data.getUint8(0) === RDR_TO_PC_NOTIFY_SLOT_CHANGE && !(data.getUint8(byteIndex) & bit)) provider.markRemoved();
      } catch {
        provider.markRemoved();
      }
    }
  })();
}
