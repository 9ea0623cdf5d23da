import { parentPort, workerData } from "node:worker_threads";
import { type ThreadShare, probeClaimed } from "./probe-threads";
import { type ProbeResult, probe } from "./prober";

/**
 * A worker thread of probeAllThreaded: probes the targets it claims and posts
 * [index, result] pairs in batches, then "done".
 */
const port = parentPort!;
let batch: Array<readonly [number, ProbeResult]> = [];
void probeClaimed(workerData as ThreadShare, probe, (index, result) => {
  batch.push([index, result]);
  if (batch.length >= 64) {
    port.postMessage(batch);
    batch = [];
  }
}).then(() => {
  port.postMessage(batch);
  port.postMessage("done");
});
