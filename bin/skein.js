#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2));
// Exit once stdout and stderr have drained, even if a socket's closing handshake or a retry timer
// would keep the event loop alive: a finished command (or a stopped node) must not linger.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
