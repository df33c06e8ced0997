#!/usr/bin/env node
// Runs the CLI from the TypeScript sources through tsx (a development dependency), so there is no build step
// between editing and running. The installed `rwkvstream` command is the compiled dist/services/cli/main.js
// (package.json `bin`); bench/gpu runs the sources through this file.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
