// Preloaded (`node --import ./load/alloc-sample.mjs`) to find what a request allocates: the first
// SIGUSR2 starts V8's sampling heap profiler (every ALLOC_INTERVAL bytes, 512 by default, objects
// the collector has since freed included), the second stops it and writes the profile as JSON to
// ALLOC_PROFILE. bench/alloc-top.mjs sums it by function.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const session = new Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    session.post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env.ALLOC_INTERVAL ?? 512),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, res) => {
    writeFileSync(process.env.ALLOC_PROFILE ?? 'alloc.json', JSON.stringify(err ?? res.profile));
    sampling = false;
  });
});
