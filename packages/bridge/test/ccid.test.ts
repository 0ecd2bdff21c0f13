import { CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT } from '@vhsm/pkcs11';
import { describe, expect, it } from 'vitest';
import { CardChannel, CcidReader, encodeApdu, findCcidDescriptor, parseCcidDescriptor } from '../src/index.js';
import { EmulatedCcidDevice, IsoCard, SW } from '../src/emulator/index.js';
import type { Command, Reply } from '../src/emulator/index.js';

/** A card whose INS 0x01 echoes its data n times (n = P1), so response sizes are chosen by the test. */
class EchoCard extends IsoCard {
  readonly atr = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);
  protected async handle(c: Command): Promise<Reply> {
    if (c.ins !== 0x01) return { sw: SW.INS_NOT_SUPPORTED };
    const out = new Uint8Array(c.data.length * c.p1);
    for (let i = 0; i < c.p1; i++) out.set(c.data, i * c.data.length);
    return { data: out, sw: SW.OK };
  }
}

function bytes(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

async function reader(options: ConstructorParameters<typeof EmulatedCcidDevice>[1] = {}) {
  const card = new EchoCard();
  const device = new EmulatedCcidDevice(card, options);
  const r = await CcidReader.open(device);
  return { card, device, reader: r };
}

describe('CCID descriptor', () => {
  it('finds the class-0x0B interface and reads its level and message size', async () => {
    const { reader: r } = await reader({ level: 'short', maxMessageLength: 271 });
    expect(r.interfaceNumber).toBe(0);
    expect(r.descriptor.level).toBe('short');
    expect(r.descriptor.maxMessageLength).toBe(271);
    expect(r.interrupt?.endpointNumber).toBe(3);
  });

  it('skips interfaces of other classes and refuses a device without CCID', () => {
    const hid = Uint8Array.of(9, 4, 0, 0, 1, 0x03, 0, 0, 0, 9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x22, 0);
    expect(findCcidDescriptor(Uint8Array.of(9, 2, 27, 0, 1, 1, 0, 0x80, 50, ...hid))).toBeUndefined();
    expect(() => parseCcidDescriptor(new Uint8Array(20))).toThrow(/54 bytes/);
  });
});

describe('CCID exchange', () => {
  it('powers on, returns the ATR and numbers its messages', async () => {
    const { reader: r, device, card } = await reader();
    expect(await r.powerOn()).toEqual(card.atr);
    await r.transmit(encodeApdu({ cla: 0, ins: 1, p1: 1, p2: 0, data: bytes(3), le: 256 }, false));
    expect(device.sent.map((m) => m[6])).toEqual([0, 1]);
    expect(device.sent.map((m) => m[0])).toEqual([0x62, 0x6f]);
  });

  it('reassembles replies from 64-byte packets, including ones that fill their last packet', async () => {
    const { reader: r } = await reader({ packetSize: 64 });
    await r.powerOn();
    // 10-byte header + 52 + 2 = 64: the reply fills one packet exactly and a zero-length packet follows.
    for (const n of [52, 54, 116, 250]) {
      const raw = await r.transmit(encodeApdu({ cla: 0, ins: 1, p1: 1, p2: 0, data: bytes(n), le: 256 }, false));
      expect(raw.subarray(0, -2)).toEqual(bytes(n));
    }
  });

  it('waits through time-extension replies', async () => {
    const { reader: r } = await reader({ timeExtensions: 3 });
    await r.powerOn();
    const raw = await r.transmit(encodeApdu({ cla: 0, ins: 1, p1: 2, p2: 0, data: bytes(4), le: 256 }, false));
    expect(raw.length).toBe(10);
    expect(raw.subarray(-2)).toEqual(Uint8Array.of(0x90, 0));
  });

  it('chains long extended APDUs and long responses at the extended level (wLevelParameter/bChainParameter)', async () => {
    const { reader: r, device } = await reader({ level: 'extended', maxMessageLength: 271 });
    await r.powerOn();
    const channel = new CardChannel(r, { extended: true });
    const data = bytes(1000);
    const response = await channel.send({ cla: 0, ins: 1, p1: 3, p2: 0, data, le: 65536 });
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(3000);
    expect(response.data.subarray(2000)).toEqual(data);
    const levels = device.sent.slice(1).map((m) => (m[8] as number) | ((m[9] as number) << 8));
    expect(levels.slice(0, 4)).toEqual([1, 3, 3, 2]);
    expect(levels.slice(4).every((l) => l === 0x10)).toBe(true);
    expect(levels.length).toBeGreaterThan(4 + 10);
  });

  it('uses command chaining and GET RESPONSE on a short-APDU reader', async () => {
    const { reader: r, card } = await reader({ level: 'short' });
    await r.powerOn();
    const channel = new CardChannel(r, { extended: false });
    const data = bytes(600, 7);
    const response = await channel.send({ cla: 0, ins: 1, p1: 2, p2: 0, data, le: 256 });
    expect(response.sw).toBe(0x9000);
    expect(response.data).toEqual(Uint8Array.from([...data, ...data]));
    const clas = card.log.filter((c) => c.ins === 1).map((c) => c.cla);
    expect(clas).toEqual([0x10, 0x10, 0x00]);
    expect(card.log.filter((c) => c.ins === 0xc0).length).toBe(4); // 1200 bytes = 256 + 4 × GET RESPONSE
  });

  it('reports a missing card and an unplugged reader as CK_RVs', async () => {
    const { reader: r, device } = await reader();
    device.remove();
    await expect(r.powerOn()).rejects.toMatchObject({ code: CKR_TOKEN_NOT_PRESENT });
    device.disconnect();
    await expect(r.powerOn()).rejects.toMatchObject({ code: CKR_DEVICE_REMOVED });
    expect(r.removed).toBe(true);
  });
});
