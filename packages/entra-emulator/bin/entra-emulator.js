#!/usr/bin/env node
// The installed `entra-emulator` command (npx @podbus/entra-emulator): runs the compiled CLI.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
