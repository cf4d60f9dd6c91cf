#!/usr/bin/env node
// The `drupe` command: the CLI itself is built into dist/cli/ (drupe --help).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  // A checkout that was never built: say so in one line rather than with a stack.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist')) throw error;
  process.stderr.write('drupe: the command is not built (dist/cli/main.js is missing); run npm run build\n');
  process.exit(1);
}
await cli.main(process.argv.slice(2));
