#!/usr/bin/env node
// The `drupe` command: the CLI itself is built into dist/cli/ (drupe --help).
import { main } from '../dist/cli/main.js';

await main(process.argv.slice(2));
