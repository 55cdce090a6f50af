#!/usr/bin/env node
// The installed `servicebus-emulator` command (npx @podbus/servicebus-emulator): runs the compiled CLI.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
