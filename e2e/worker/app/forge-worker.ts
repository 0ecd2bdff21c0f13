// The packaged SharedWorker script under a URL of the page's own, so the page can hold its raw port.
import '@vhsm/worker/shared';
