// Serve a card emulator to pcscd through vsmartcard's vpcd, for trying tools by hand:
//   pnpm --filter @vhsm/bridge build && node packages/bridge/scripts/vicc.mjs [piv|openpgp]
//   pkcs11-tool --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so --login --pin 123456 -O
// (pcscd must be running with the vpcd reader: packages/bridge/scripts/pcscd-setup.sh.)
import net from 'node:net';
import { OpenPgpCard, PivCard, VPCD_PORT, VpcdSession } from '../dist/emulator/index.js';

let card;
if (process.argv[2] === 'openpgp') {
  card = new OpenPgpCard({ pin: '123456', adminPin: '12345678' });
  await card.provision();
  await card.provisionKey('dec');
  await card.provisionKey('aut');
} else {
  card = new PivCard({ pin: '123456' });
  await card.provision(0x9a, 'vhsm emulated PIV auth');
  await card.provision(0x9c, 'vhsm emulated PIV sign');
}
const socket = net.connect(VPCD_PORT, '127.0.0.1', () => console.log(`connected to vpcd on port ${VPCD_PORT}`));
const session = new VpcdSession(card, { write: (bytes) => socket.write(bytes) });
socket.on('data', (chunk) => void session.receive(new Uint8Array(chunk)));
socket.on('error', (e) => {
  console.error(`vpcd: ${e.message}`);
  process.exitCode = 1;
});
