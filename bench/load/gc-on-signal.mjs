// Preloaded (`node --expose-gc --import ./load/gc-on-signal.mjs`) by bench/validate-gc.sh: SIGUSR2
// runs a young-generation collection, so a measured window starts and ends on one and the
// `allocated` of the collections inside it add up to exactly what was allocated in between.
process.on('SIGUSR2', () => globalThis.gc?.({ type: 'minor' }));
