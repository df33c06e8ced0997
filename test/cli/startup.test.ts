// The CLI's start: `--version` and the help texts build the command tree only, so they load no service
// client, no schema library and no engine — each command imports what it runs when it runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { cliEntry } from '../helpers/paths.ts';

const exec = promisify(execFile);

// Preloaded into the CLI's process: every ES module as it loads (a loader hook) and, at exit, every CommonJS
// module (required from the ES modules, or the addon), each as a line on stderr.
const RECORDER = `
import { createRequire, register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  "export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\\\n'); return next(url, context); }"));
const cache = createRequire(process.cwd() + '/').cache;
process.on('exit', () => { for (const file of Object.keys(cache)) process.stderr.write('LOADED ' + file + '\\n'); });
`;

/** What a run of the CLI with `args` loaded (URLs and paths). */
async function loaded(args: string[]): Promise<string[]> {
  const preload = `data:text/javascript,${encodeURIComponent(RECORDER)}`;
  const { stderr } = await exec(process.execPath, ['--import', preload, cliEntry, ...args]);
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => line.slice('LOADED '.length));
}

/** Packages and files that only running a command needs. */
const HEAVY = [
  /node_modules\/bullmq\//,
  /node_modules\/kafkajs\//,
  /node_modules\/ioredis\//,
  /node_modules\/zod\//,
  /node_modules\/@huggingface\//,
  /node_modules\/pino\//,
  /node_modules\/prom-client\//,
  /\.node$/,
  /\/engine\/(engine|model|native|tokenizer)\.js$/,
];

for (const args of [['--version'], ['--help'], ['summarize', '--help'], ['worker', '--help']]) {
  test(`rwkvstream ${args.join(' ')} loads the command tree only`, async () => {
    const modules = await loaded(args);
    assert.ok(
      modules.some((m) => m.endsWith('/services/cli/program.js')),
      `the compiled CLI ran (${modules.length} modules recorded)`,
    );
    const heavy = modules.filter((m) => HEAVY.some((re) => re.test(m)));
    assert.deepEqual(heavy, [], `loaded by ${args.join(' ')}`);
  });
}

test('a command loads what it runs when it runs', async () => {
  // tokenize loads the engine (its tokenizer) only in its action.
  const modules = await loaded(['tokenize', '--vocab', 'bytes', 'ab']);
  assert.ok(
    modules.some((m) => /\/engine\/tokenizer\.js$/.test(m)),
    'the tokenizer was loaded',
  );
});
