// The public entry of 'drupe/testing' (test/exports.test.ts pins the list).
export * from './testing/client.js';
