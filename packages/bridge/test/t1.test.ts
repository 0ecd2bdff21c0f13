import { CKR_DEVICE_ERROR } from '@vhsm/pkcs11';
import { describe, expect, it } from 'vitest';
import { CardChannel, CcidReader } from '../src/index.js';
import { EmulatedCcidDevice, IsoCard, SW } from '../src/emulator/index.js';
import type { Command, Reply } from '../src/emulator/index.js';
import { atrT1Parameters, decodeBlock, encodeBlock, iBlock, rBlock, sBlock, S_IFS, T1Transport } from '../src/t1.js';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => Number.parseInt(b, 16)));

/** INS 0x01 echoes its data P1 times. */
class EchoCard extends IsoCard {
  readonly atr = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);
  protected async handle(c: Command): Promise<Reply> {
    if (c.ins !== 0x01) return { sw: SW.INS_NOT_SUPPORTED };
    return { data: Uint8Array.from({ length: c.data.length * c.p1 }, (_, i) => c.data[i % c.data.length]!), sw: SW.OK };
  }
}

describe('T=1 blocks', () => {
  it('encodes the textbook blocks with their LRC', () => {
    expect(encodeBlock(iBlock(0, false, hex('00a4040000')))).toEqual(hex('00000500a4040000a5'));
    expect(encodeBlock(sBlock(S_IFS, Uint8Array.of(0xfe)))).toEqual(hex('00c101fe3e'));
    expect(encodeBlock(rBlock(1))).toEqual(hex('00900090'));
  });

  it('refuses a block with a bad LRC or length', () => {
    expect(decodeBlock(hex('00000500a4040000a5'))).toEqual({ nad: 0, pcb: 0, inf: hex('00a4040000') });
    expect(decodeBlock(hex('00000500a4040000a4'))).toBeUndefined();
    expect(decodeBlock(hex('00000600a4040000a5'))).toBeUndefined();
  });

  it('reads IFSC and T=1 from the ATR', () => {
    expect(atrT1Parameters(hex('3b80811120b0'))).toEqual({ t1: true, ifsc: 0x20 });
    expect(atrT1Parameters(hex('3b8081110fbf'))).toEqual({ t1: true, ifsc: 0x0f });
    expect(atrT1Parameters(hex('3b02'))).toEqual({ t1: false, ifsc: 32 });
  });

  it('asks again for a garbled block and gives up after three tries', async () => {
    let calls = 0;
    const t1 = new T1Transport(async () => {
      calls++;
      return hex('00000100ff');
    }, { ifsc: 32 });
    await expect(t1.transmit(hex('00a40400'))).rejects.toMatchObject({ code: CKR_DEVICE_ERROR });
    expect(calls).toBe(4);
  });
});

describe('CCID reader at the TPDU level (T=1)', () => {
  async function open(options: { ifsc: number; wtx: number }) {
    const device = new EmulatedCcidDevice(new EchoCard(), { level: 'tpdu', ...options });
    const reader = await CcidReader.open(device);
    await reader.powerOn();
    return { device, reader, channel: new CardChannel(reader, { extended: false }) };
  }

  it('sets the T=1 parameters, announces IFSD 254 and chains commands and responses by IFSC/IFSD', async () => {
    const { device, channel } = await open({ ifsc: 16, wtx: 0 });
    expect(device.sent.map((m) => m[0])).toEqual([0x62, 0x61, 0x6f]);
    expect(device.t1!.ifsd).toBe(254);
    const data = Uint8Array.from({ length: 200 }, (_, i) => i);
    const response = await channel.send({ cla: 0, ins: 1, p1: 2, p2: 0, data, le: 256 });
    expect(response.sw).toBe(0x9000);
    expect(response.data).toEqual(Uint8Array.from([...data, ...data]));
    // 206-byte APDU in 16-byte pieces: 13 I-blocks, all chained but the last.
    const iBlocks = device.t1!.received.filter((b) => (b.pcb & 0x80) === 0);
    expect(iBlocks.slice(0, 13).map((b) => b.inf.length)).toEqual([...Array(12).fill(16), 14]);
    expect(iBlocks.slice(0, 13).map((b) => (b.pcb >> 5) & 1)).toEqual([...Array(12).fill(1), 0]);
    expect(iBlocks.slice(0, 13).map((b) => (b.pcb >> 6) & 1)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    // 258 response bytes over IFSD 254: one R-block asked for the second piece (GET RESPONSE's 146 fit in one).
    expect(device.t1!.received.filter((b) => (b.pcb & 0xc0) === 0x80).length).toBe(1);
  });

  it('answers the card waiting-time extension requests', async () => {
    const { device, channel } = await open({ ifsc: 32, wtx: 2 });
    const response = await channel.send({ cla: 0, ins: 1, p1: 1, p2: 0, data: Uint8Array.of(7, 8), le: 256 });
    expect(response.data).toEqual(Uint8Array.of(7, 8));
    const wtxResponses = device.t1!.received.filter((b) => b.pcb === 0xe3);
    expect(wtxResponses.length).toBe(2);
  });
});
