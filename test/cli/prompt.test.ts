// The prompt on the command line: --show-prompt prints exactly what the model would read (a G1 model chosen by
// its release file name or catalog name, sections and the reduce step too) and loads nothing; --prompt-format
// overrides, raw gives the earlier completion prompt; a summary is printed as it is generated with --stream,
// and --json output is the result alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { SummarizeResultSchema } from '../../schemas/results.ts';
import { cli, isolatedEnv, tempDir } from '../embedded/helpers.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';

const home = tempDir('home');
const ENV = isolatedEnv(home);
const DOC = path.join(tempDir('inputs'), 'river.txt');
writeFileSync(DOC, 'Report\n\nThe river rose.\n\n\n  It rained for days.\n');

const run = (...args: string[]) => cli(args, { env: ENV });

test("--show-prompt for a G1 release: the user's turn, the folded document, the instruction, the fake think block", async () => {
  // The file does not exist: the format comes from the official name, and nothing is loaded.
  const out = await run('summarize', DOC, '--show-prompt', '--model', '/models/rwkv7-g1d-1.5b-20260212-ctx8192.pth');
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    out.stdout,
    'User: Report\nThe river rose.\n  It rained for days.\nSummarize the text above in a few sentences.\n\nAssistant: <think>\n</think>',
  );
  assert.match(out.stderr, /^prompt format: rwkv7-g \(from the file name rwkv7-g1d-1\.5b-20260212-ctx8192\.pth\)$/m);

  // A catalog name that is not downloaded (offline): its entry's format.
  const named = await run(
    'classify',
    DOC,
    '--labels',
    'flood,drought',
    '--show-prompt',
    '--model',
    'raven4-1.5b',
    '--quiet',
  );
  assert.equal(
    named.stdout,
    'Bob: Report\nThe river rose.\n  It rained for days.\nAnswer with one of: flood, drought\n\nAlice:',
  );
  assert.equal(named.stderr, '');
});

test('--show-prompt: think mode, a system turn, an instruction, standard input, and --prompt-format over the model', async () => {
  const think = await cli(
    [
      'summarize',
      '-',
      '--show-prompt',
      '--model',
      'g1-0.1b',
      '--think',
      '--system',
      'Be brief.',
      '--instruction',
      'What happened?',
    ],
    { env: ENV, stdin: 'a\n\n\nb\n' },
  );
  assert.equal(think.stdout, 'System: Be brief.\n\nUser: a\nb\nWhat happened?\n\nAssistant: <think');
  const raw = await run('summarize', DOC, '--show-prompt', '--model', 'g1-0.1b', '--prompt-format', 'raw');
  assert.equal(raw.stdout, 'Report\n\nThe river rose.\n\n\n  It rained for days.\n\n\nSummary:');
  assert.match(raw.stderr, /prompt format: raw \(from flag --prompt-format\)/);
  const env = await cli(['summarize', DOC, '--show-prompt', '--model', tinyModel], {
    env: { ...ENV, RWKVSTREAM_PROMPT_FORMAT: 'world' },
  });
  assert.match(env.stdout, /^User: Report\n/);
  assert.match(env.stderr, /from environment RWKVSTREAM_PROMPT_FORMAT/);
});

test('--show-prompt with sections: the document, the section prompt, and the reduce prompt with placeholders', async () => {
  const out = await run('summarize', DOC, '--show-prompt', '--model', 'g1-0.1b', '--sections', '64', '--quiet');
  assert.equal(out.code, 0, out.stderr);
  assert.ok(
    out.stdout.includes(
      'User: Report\nThe river rose.\n  It rained for days.\n\n----- at the end of each section -----\n' +
        '\nSummarize the last part of the text above in a few sentences.\n\nAssistant: <think>\n</think>',
    ),
  );
  assert.ok(
    out.stdout.includes(
      'User: Here are summaries of consecutive sections of one document:\nSection 1: {summary of section 1}\n' +
        'Section 2: {summary of section 2}\n…\nSummarize the whole document in a few sentences',
    ),
  );
});

test('prompt flags that do not fit the format are refused with the flag named', async () => {
  const cases: [string[], RegExp][] = [
    [['--prompt-format', 'world', '--think'], /--think: the world prompt format has no think mode/],
    [['--prompt-format', 'raw', '--instruction', 'x'], /--instruction: the raw prompt format has no instruction/],
    [['--prompt-format', 'rwkv7-g', '--instruction', 'x', '--template', 'y'], /--template and --instruction/],
    [['--prompt-format', 'chatml'], /promptFormat/],
  ];
  for (const [flags, message] of cases) {
    const out = await run('summarize', DOC, '--show-prompt', '--model', tinyModel, ...flags);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, message);
  }
});

test('--stream prints the summary as it is generated on a pipe; --json prints the result alone; both record the format', async () => {
  const args = [
    'summarize',
    DOC,
    '--model',
    tinyModel,
    '--prompt-format',
    'rwkv7-g',
    '--max-tokens',
    '12',
    '--restart',
  ];
  const json = await run(...args, '--json', '--stream');
  assert.equal(json.code, 0, json.stderr);
  const result = SummarizeResultSchema.parse(JSON.parse(json.stdout));
  assert.equal(result.promptFormat, 'rwkv7-g');
  assert.equal(json.stdout, `${JSON.stringify(result)}\n`, '--json output is the result alone');
  const streamed = await run(...args, '--stream');
  assert.equal(streamed.stdout, `${result.summary.text.trimStart()}\n`);
  const plain = await run(...args);
  assert.equal(plain.stdout, `${result.summary.text.trim()}\n`);
});

const hasScript = spawnSync('script', ['--version']).status === 0;

test('on a terminal the summary follows the closed progress line, printed as it is generated', {
  skip: !hasScript && 'no script(1) for a terminal',
}, async () => {
  const args = ['summarize', DOC, '--model', tinyModel, '--prompt-format', 'world', '--max-tokens', '12', '--restart'];
  const expected = SummarizeResultSchema.parse(JSON.parse((await run(...args, '--json')).stdout)).summary.text.trim();
  const command = [process.execPath, cliEntry, ...args].map((a) => `'${a}'`).join(' ');
  const tty = spawnSync('script', ['-qec', command, '/dev/null'], {
    env: { ...process.env, ...ENV },
    encoding: 'utf8',
  });
  assert.equal(tty.status, 0, tty.stderr);
  const lines = tty.stdout.split('\r\n');
  assert.match(lines[0]!, /summarize: \d+ tokens in \d+s \(.* tok\/s\)/);
  assert.equal(lines[1], expected);
});
