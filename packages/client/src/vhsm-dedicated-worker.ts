// The packaged dedicated worker script, beside connect() so bundlers resolve it from new URL(…, import.meta.url).
import '@vhsm/worker/dedicated';
