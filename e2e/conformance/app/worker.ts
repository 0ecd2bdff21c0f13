/** The engine as the packaged dedicated worker hosts it, with the conformance run's options: spec policy, in memory. */
import { hostDedicatedWorker } from '@vhsm/worker';

hostDedicatedWorker({ policy: 'spec', pbkdf2Iterations: 1000 });
