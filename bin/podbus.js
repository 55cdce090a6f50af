#!/usr/bin/env node
// The installed `podbus` command: runs the compiled CLI (npm run build writes dist/).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv);
