import { setFlagsFromString } from "node:v8";

/**
 * For the processes that stay up (`schedule`, `exporter`), issue 14's idle RSS
 * under 80 MB: V8 grows the young generation's semi-spaces from 1 MB to 16 MB
 * each after a burst of allocation and keeps them committed while the process
 * idles (about 30 MB of a daemon's resident memory, none of it live objects).
 * V8 reads --semi-space-growth-factor each time it would grow them, so setting
 * it to 1 at run time keeps them at 1 MB, unlike --max-semi-space-size, which it
 * reads only when the heap is created. The price is more frequent scavenges,
 * which these processes can afford (benchmarks exporter and schedule-idle).
 * Called first thing in the command's action, before the heavy modules load.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}
