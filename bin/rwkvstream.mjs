#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx compiles on load), so there is no build step between editing and running.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
