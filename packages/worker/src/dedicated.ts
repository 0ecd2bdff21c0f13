/** The packaged dedicated worker script: one engine per page, coordinated with other tabs by Web Locks. */
import { hostDedicatedWorker } from './host.js';

hostDedicatedWorker();
