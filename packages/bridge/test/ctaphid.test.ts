import { CKR_DATA_LEN_RANGE, CKR_DEVICE_ERROR, CKR_FUNCTION_CANCELED } from '@vhsm/pkcs11';
import { describe, expect, it } from 'vitest';
import {
  CTAP2_SELECTION, CTAPHID_PING, CtapHidDevice, framePackets, KEEPALIVE_UP_NEEDED, MessageAssembler,
} from '../src/index.js';
import { EmulatedFidoDevice } from '../src/emulator/index.js';

const code = (rv: number) => ({ code: rv });

function bytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

/** The next reports on a channel, raw. */
function nextReport(device: EmulatedFidoDevice, cid: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const listener = (event: { data: DataView }) => {
      const packet = new Uint8Array(event.data.buffer);
      if (new DataView(packet.buffer).getUint32(0) !== cid) return;
      device.removeEventListener('inputreport', listener);
      resolve(packet);
    };
    device.addEventListener('inputreport', listener);
  });
}

describe('CTAPHID framing', () => {
  it('lays out initialization and continuation packets as the spec draws them', () => {
    const packets = framePackets(0x01020304, CTAPHID_PING, bytes(100));
    expect(packets.length).toBe(2);
    expect([...packets[0]!.subarray(0, 7)]).toEqual([1, 2, 3, 4, 0x81, 0, 100]);
    expect(packets[0]!.subarray(7)).toEqual(bytes(100).subarray(0, 57));
    expect([...packets[1]!.subarray(0, 5)]).toEqual([1, 2, 3, 4, 0]);
    expect(packets[1]!.subarray(5, 48)).toEqual(bytes(100).subarray(57));
    expect(packets.every((p) => p.length === 64)).toBe(true);
  });

  it('reassembles in sequence and refuses a continuation out of order', () => {
    const packets = framePackets(7, CTAPHID_PING, bytes(200));
    const assembler = new MessageAssembler();
    expect(assembler.push(packets[0]!)).toBeUndefined();
    expect(() => assembler.push(packets[2]!)).toThrow(/out of sequence/);
    const fresh = new MessageAssembler();
    let message;
    for (const p of packets) message = fresh.push(p);
    expect(message).toEqual({ command: 0x81, payload: bytes(200) });
  });

  it('refuses a message longer than 128 continuation packets can hold', () => {
    expect(() => framePackets(7, CTAPHID_PING, new Uint8Array(7610))).toThrow(expect.objectContaining(code(CKR_DATA_LEN_RANGE)));
  });
});

describe('CTAPHID with the emulated authenticator', () => {
  it('allocates a channel with INIT and reads the version and capabilities', async () => {
    const device = new EmulatedFidoDevice();
    const a = await CtapHidDevice.open(device);
    const b = await CtapHidDevice.open(device);
    expect(a.cid).not.toBe(0xffffffff);
    expect(b.cid).not.toBe(a.cid);
    expect(a.version).toMatchObject({ protocol: 2, capabilities: 0x05 });
  });

  it('PING echoes messages of one packet, many packets and the maximum size', async () => {
    const hid = await CtapHidDevice.open(new EmulatedFidoDevice());
    for (const n of [0, 57, 58, 1000, 7609]) expect(await hid.ping(bytes(n))).toEqual(bytes(n));
  });

  it('authenticatorGetInfo decodes versions, extensions, AAGUID and options', async () => {
    const aaguid = Uint8Array.from({ length: 16 }, (_, i) => i);
    const info = await (await CtapHidDevice.open(new EmulatedFidoDevice({ aaguid }))).getInfo();
    expect(info).toEqual({
      versions: ['FIDO_2_0', 'FIDO_2_1'], extensions: ['hmac-secret'], aaguid,
      options: { rk: true, up: true, plat: false, clientPin: false, pinUvAuthToken: true }, maxMsgSize: 1200, pinUvAuthProtocols: [2],
    });
  });

  it('passes KEEPALIVE (user presence needed) to the caller until the key is touched', async () => {
    const device = new EmulatedFidoDevice();
    const hid = await CtapHidDevice.open(device);
    const statuses: number[] = [];
    const pending = hid.cbor(CTAP2_SELECTION, undefined, {
      onKeepalive: (status) => {
        statuses.push(status);
        if (statuses.length === 3) device.touch();
      },
    });
    expect(await pending).toBeUndefined();
    expect(statuses).toEqual([KEEPALIVE_UP_NEEDED, KEEPALIVE_UP_NEEDED, KEEPALIVE_UP_NEEDED]);
  });

  it('an aborted request sends CANCEL and ends with CKR_FUNCTION_CANCELED; the channel stays usable', async () => {
    const device = new EmulatedFidoDevice();
    const hid = await CtapHidDevice.open(device);
    const controller = new AbortController();
    const pending = hid.cbor(CTAP2_SELECTION, undefined, { signal: controller.signal, onKeepalive: () => controller.abort() });
    await expect(pending).rejects.toMatchObject(code(CKR_FUNCTION_CANCELED));
    expect(device.waitingForTouch).toBe(false);
    expect(device.received.some((r) => r[4] === 0x91)).toBe(true);
    expect(await hid.ping(bytes(3))).toEqual(bytes(3));
  });

  it('a second channel is told the authenticator is busy while one request waits for a touch', async () => {
    const device = new EmulatedFidoDevice();
    const [a, b] = [await CtapHidDevice.open(device), await CtapHidDevice.open(device)];
    const waiting = a.cbor(CTAP2_SELECTION);
    await expect(b.ping(bytes(1))).rejects.toMatchObject({ code: CKR_DEVICE_ERROR, message: expect.stringMatching(/error 0x6/) });
    device.touch();
    await waiting;
  });

  it('answers an unallocated channel and a broken sequence with CTAPHID_ERROR', async () => {
    const device = new EmulatedFidoDevice();
    await device.open();
    const invalidChannel = nextReport(device, 0x0badcafe);
    await device.sendReport(0, framePackets(0x0badcafe, CTAPHID_PING, bytes(4))[0]!);
    expect([...(await invalidChannel).subarray(4, 8)]).toEqual([0xbf, 0, 1, 0x0b]);
    const hid = await CtapHidDevice.open(device);
    const packets = framePackets(hid.cid, CTAPHID_PING, bytes(200));
    const badSequence = nextReport(device, hid.cid);
    await device.sendReport(0, packets[0]!);
    await device.sendReport(0, packets[2]!);
    expect([...(await badSequence).subarray(4, 8)]).toEqual([0xbf, 0, 1, 0x04]);
  });
});
