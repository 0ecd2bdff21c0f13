/** The packaged SharedWorker script: one engine for every tab of the origin. */
import { hostSharedWorker } from './host.js';

hostSharedWorker();
