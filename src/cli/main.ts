#!/usr/bin/env node
/** The `xrepl` executable: `main()` wired to the real process. */
import { processIO } from './io.js';
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2), processIO());
