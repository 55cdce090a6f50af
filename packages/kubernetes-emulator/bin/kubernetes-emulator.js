#!/usr/bin/env node
// The installed `kubernetes-emulator` command (npx @podbus/kubernetes-emulator): runs the compiled CLI.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
