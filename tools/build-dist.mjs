#!/usr/bin/env node
// Compiles the product's TypeScript (engine/, schemas/, pipelines/, services/; tsconfig.build.json) into dist/,
// the JavaScript the `rwkvstream` command runs. `npm run build` builds; `--if-stale` builds only when a source is
// newer than the last build (npm's install lifecycle, and the tests before they spawn the CLI), so a fresh clone
// gets dist/ in `npm ci` and a repeated install costs nothing.
//
// The compiler writes into a directory of its own that replaces dist/ once it is complete: a CLI started during
// a build never reads half-written files, and the output of a deleted source does not linger. Builds started at
// the same time (test files run in parallel) wait for the first one instead of compiling the same sources again.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
/** Written last into a complete build; its time is when that build started reading the sources. */
const stamp = path.join(dist, '.built');
const lock = path.join(root, '.dist-lock');
const SOURCES = ['engine', 'schemas', 'pipelines', 'services', 'tsconfig.json', 'tsconfig.build.json'];
/** A lock older than this was left by a build that died. */
const LOCK_STALE_MS = 5 * 60_000;

/** The newest modification time under `p` (directories count: a deleted or renamed file changes its directory's). */
function newest(p) {
  const info = statSync(p, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = info.mtimeMs;
  for (const entry of readdirSync(p)) latest = Math.max(latest, newest(path.join(p, entry)));
  return latest;
}

/** Why dist/ must be built, or null when it is as new as every source. */
export function staleReason() {
  const built = statSync(stamp, { throwIfNoEntry: false });
  if (!built) return existsSync(dist) ? 'dist/ is incomplete' : 'dist/ is missing';
  for (const source of SOURCES) {
    if (newest(path.join(root, source)) > built.mtimeMs) return `${source} changed since the last build`;
  }
  return null;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn` holding the build lock (a directory: creating it is atomic). */
function withLock(fn) {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function tscPath() {
  try {
    const manifest = createRequire(import.meta.url).resolve('typescript/package.json');
    return path.join(path.dirname(manifest), 'bin', 'tsc');
  } catch {
    return null;
  }
}

function compile() {
  const tsc = tscPath();
  if (tsc === null) {
    // An install without development dependencies: a dist/ that came with the package is what there is.
    if (existsSync(stamp)) {
      process.stderr.write('rwkvstream: TypeScript is not installed; keeping the JavaScript in dist/\n');
      return;
    }
    throw new Error(
      'dist/ is missing and TypeScript is not installed: run npm install with the development dependencies, then npm run build',
    );
  }
  const started = new Date();
  const next = path.join(root, `.dist-${process.pid}`);
  const old = path.join(root, `.dist-old-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next], {
      cwd: root,
      stdio: 'inherit',
    });
    // package.json's commands are files to execute (tsc writes them as plain files).
    const { bin } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    for (const file of Object.values(bin ?? {})) {
      const relative = path.relative(dist, path.join(root, file));
      if (!relative.startsWith('..')) chmodSync(path.join(next, relative), 0o755);
    }
    writeFileSync(path.join(next, '.built'), '');
    utimesSync(path.join(next, '.built'), started, started);
    rmSync(old, { recursive: true, force: true });
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(next, dist);
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

/** Builds dist/ (with `ifStale`, only when a source changed since the last build). Says whether it built. */
export function buildDist({ ifStale = false } = {}) {
  if (ifStale && staleReason() === null) return false;
  return withLock(() => {
    // Another process may have built while this one waited for the lock.
    if (ifStale && staleReason() === null) return false;
    compile();
    return true;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    buildDist({ ifStale: process.argv.includes('--if-stale') });
  } catch (err) {
    process.stderr.write(`rwkvstream: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
