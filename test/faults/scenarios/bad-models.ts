// Wrong model files, tokenizers and state blobs, through the engine API in a child process (a crash would be
// seen as a crash) and through `rwkvstream inspect`: each refused with its code and a message saying what was
// expected. The fixture model and a blob of its own open fine in the same process, so the refusals are not
// an engine that refuses everything. A second row opens files crafted to crash a reader or to make it
// allocate gigabytes (written by the native test test_hostile_files), each in a fresh process, and reports
// each one's peak memory against the readers' bound (4 × the file's size + 16 MiB, native/src/io/read_budget.h)
// plus the file's mapped pages.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { tinyModel } from '../../helpers/fixtures.ts';
import { cliEntry, fixture, repoRoot, worldVocab } from '../../helpers/paths.ts';
import { runProbes } from '../probe-runner.ts';
import type { Row } from '../report.ts';
import type { Scenario, SuiteContext } from '../scenario.ts';

const exec = promisify(execFile);

interface ModelCase {
  name: string;
  probe: object;
  code: RegExp;
  message: RegExp;
}

function cases(tmp: string): { setup: object[]; controls: object[]; bad: ModelCase[] } {
  const file = (name: string, bytes: Uint8Array) => {
    const at = path.join(tmp, name);
    writeFileSync(at, bytes);
    return at;
  };
  const model = readFileSync(tinyModel);
  const otherVersion = fixture('older', 'tiny-rwkv-5v2-730K-FP32.bin');
  const ownBlob = path.join(tmp, 'own.state');
  const otherBlob = path.join(tmp, 'other-model.state');
  const setup = [
    { op: 'write-state', model: tinyModel, out: ownBlob },
    { op: 'write-state', model: otherVersion, out: otherBlob },
  ];
  const truncated = [10, 1000, Math.floor(model.length / 2), model.length - 10].map(
    (cut): ModelCase => ({
      name: `model cut at ${cut} of ${model.length} bytes`,
      probe: { op: 'model', model: file(`cut-${cut}.pth`, model.subarray(0, cut)) },
      code: /^E_MODEL_(TRUNCATED|FORMAT)$/,
      message: /expected|cut short|truncated|not a/i,
    }),
  );
  return {
    setup,
    controls: [{ op: 'load', model: tinyModel }],
    bad: [
      ...truncated,
      {
        name: 'random bytes as a model',
        probe: { op: 'model', model: file('random.pth', randomBytes(256 * 1024)) },
        code: /^E_MODEL_FORMAT$/,
        message: /expected|not a/i,
      },
      {
        name: 'tensors of no RWKV model',
        probe: { op: 'model', model: fixture('pth-container', '251016_rosa_1bit_run.pth') },
        code: /^E_MODEL_VERSION$/,
        message: /blocks/,
      },
      {
        name: 'an RWKV-6 file where an RWKV-7 state-tuning file is required',
        probe: { op: 'load', model: tinyModel, initialState: fixture('older', 'random-v6-L2-C128.pth') },
        code: /^E_STATE$/,
        message: /time_state.*not a state-tuning file/,
      },
      {
        name: 'tiny byte-level model with the World vocabulary',
        probe: { op: 'load', model: tinyModel, vocab: worldVocab },
        code: /^E_TOKENIZER_MISMATCH$/,
        message: /expected a tokenizer with between \d+ and 256 ids/,
      },
      // The setup cases make these blobs before the bad cases run.
      {
        name: 'a state blob of an RWKV-5 model read by the RWKV-7 model',
        probe: { op: 'state', model: tinyModel, blob: otherBlob },
        code: /^E_STATE_MISMATCH$/,
        message: /another model version: it has x052, this engine expects x070/,
      },
      {
        name: 'a state blob with a flipped byte',
        probe: { op: 'state', model: tinyModel, blob: path.join(tmp, 'flipped.state') },
        code: /^E_STATE$/,
        message: /checksum mismatch/,
      },
      {
        name: 'a state blob cut short',
        probe: { op: 'state', model: tinyModel, blob: path.join(tmp, 'cut.state') },
        code: /^E_STATE$/,
        message: /is \d+ bytes; its header announces \d+ floats/,
      },
    ],
  };
}

/** CLI refusals: exit 1 and "rwkvstream: CODE: message" on stderr. Run in the scratch directory (summarize keeps checkpoints in the working directory). */
async function cliRefusal(args: string[], cwd: string): Promise<{ code: string; message: string } | string> {
  try {
    const { stdout } = await exec(process.execPath, [cliEntry, ...args], { timeout: 60_000, cwd });
    return `opened: ${stdout.slice(0, 100)}`;
  } catch (err) {
    const e = err as { code?: number | string; signal?: string; stderr?: string };
    if (e.signal) return `killed by ${e.signal}`;
    const match = /rwkvstream: (E_[A-Z_]+): (.*)/.exec(e.stderr ?? '');
    return match
      ? { code: match[1]!, message: match[2]! }
      : `exit ${e.code} without a coded error: ${(e.stderr ?? '').slice(0, 200)}`;
  }
}

interface HostileFile {
  name: string;
  file: string;
  bytes: number;
  code: string;
}

const MiB = 1024 * 1024;
/**
 * The readers' bound (read_budget.h: 4 × the file + 16 MiB), plus the file itself, whose mapped pages count as
 * resident, plus 16 MiB for the probe process itself: a reader refuses a hostile file only when it has spent
 * its budget, and the node process around it (the addon's worker thread has a malloc arena of its own) varies
 * by several MiB from the baseline probe.
 */
const boundBytes = (bytes: number) => 5 * bytes + 32 * MiB;

/** Hostile model files, each opened in a fresh probe process: refused with the expected code, no crash, and peak memory within the bound. */
async function hostileFiles(ctx: SuiteContext): Promise<Row> {
  const dir = path.join(ctx.tmp, 'hostile');
  mkdirSync(dir, { recursive: true });
  const writer = path.join(repoRoot, 'native', 'build', 'test_hostile_files');
  if (!existsSync(writer)) {
    // A checkout whose native build holds only the addon (a prebuilt rwkv.node) lacks the C++ test that writes
    // the files: build that one target (minutes on 2 cores), as the suite starts the services it needs.
    ctx.log('native/build/test_hostile_files missing: building it');
    await exec(process.execPath, [path.join(repoRoot, 'native', 'build.mjs'), '--quiet'], {
      env: { ...process.env, RWKVSTREAM_NATIVE_TARGETS: 'test_hostile_files' },
      timeout: 900_000,
      maxBuffer: 64 << 20,
    });
  }
  await exec(writer, ['--write', dir], { timeout: 120_000 });
  const files = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as HostileFile[];
  // A state blob whose header announces 2^62 floats, read by the fixture model's engine.
  const own = readFileSync(path.join(ctx.tmp, 'own.state'));
  const huge = Buffer.from(own);
  huge.writeBigUInt64LE(1n << 62n, 80);
  writeFileSync(path.join(dir, 'huge.state'), huge);
  // The baseline: a probe that refuses a 4 KiB file of garbage costs node, the addon and the model-less open.
  const garbage = path.join(dir, 'garbage.bin');
  writeFileSync(garbage, randomBytes(4096));
  const probes = [
    { op: 'model', model: garbage },
    ...files.map((f) => ({ op: 'model', model: path.join(dir, f.file) })),
    { op: 'state', model: tinyModel, blob: path.join(dir, 'huge.state') },
  ];
  const expected = [
    ...files,
    { name: 'state blob announcing 2^62 floats', file: 'huge.state', bytes: huge.length, code: 'E_STATE' },
  ];
  // One process per file: a probe's peak RSS is the high-water mark of its whole process.
  const outcomes = [];
  for (const probe of probes) outcomes.push((await runProbes([probe], { tmp: ctx.tmp, timeoutMs: 60_000 }))[0]!);
  const baseline = outcomes[0]!;
  const problems: string[] = [];
  if (baseline.status !== 'refused') problems.push(`baseline probe: ${baseline.status} ${baseline.message ?? ''}`);
  const baseKiB = baseline.maxRssKiB ?? 0;
  let refused = 0;
  let worst = '';
  let worstRatio = -1;
  const figures: string[] = [];
  for (const [i, f] of expected.entries()) {
    const o = outcomes[i + 1]!;
    const grew = Math.max(0, (o.maxRssKiB ?? 0) - baseKiB) * 1024;
    const ratio = grew / boundBytes(f.bytes);
    figures.push(`${f.file} ${o.code ?? o.status} +${(grew / MiB).toFixed(0)} MiB`);
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = `${f.name}: +${(grew / MiB).toFixed(1)} MiB of ${(boundBytes(f.bytes) / MiB).toFixed(0)} MiB allowed`;
    }
    if (o.status !== 'refused' || o.code !== f.code)
      problems.push(`${f.name}: ${o.status} ${o.code ?? ''} ${(o.message ?? '').slice(0, 120)}, wanted ${f.code}`);
    else if (grew > boundBytes(f.bytes))
      problems.push(
        `${f.name}: peak memory grew by ${(grew / MiB).toFixed(0)} MiB, more than ${(boundBytes(f.bytes) / MiB).toFixed(0)} MiB`,
      );
    else refused++;
  }
  return {
    category: 'bad input',
    name: 'hostile model files (crash, memory blow-up) with peak RSS',
    tries: expected.length,
    identical: 0,
    refused,
    lost: expected.length - refused,
    note:
      problems.length > 0
        ? problems.slice(0, 3).join('; ')
        : `probe baseline ${(baseKiB / 1024).toFixed(0)} MiB; worst ${worst}; ${figures.join(', ')}`,
  };
}

export const badModels: Scenario = {
  name: 'bad-models',
  category: 'bad input',
  quick: true,
  async run(ctx, report) {
    const { setup, controls, bad } = cases(ctx.tmp);
    const made = await runProbes(setup, { tmp: ctx.tmp, timeoutMs: 60_000 });
    if (made.some((o) => o.status !== 'ok'))
      throw new Error(`could not write the state blobs: ${JSON.stringify(made)}`);
    // A blob of the model's own, damaged two ways.
    const own = readFileSync(path.join(ctx.tmp, 'own.state'));
    const flippedCopy = Buffer.from(own);
    flippedCopy[flippedCopy.length - 5]! ^= 0x40;
    writeFileSync(path.join(ctx.tmp, 'flipped.state'), flippedCopy);
    writeFileSync(path.join(ctx.tmp, 'cut.state'), own.subarray(0, Math.floor(own.length / 2)));

    const outcomes = await runProbes(
      [
        ...controls,
        { op: 'state', model: tinyModel, blob: path.join(ctx.tmp, 'own.state') },
        ...bad.map((b) => b.probe),
      ],
      { tmp: ctx.tmp, timeoutMs: 60_000 },
    );
    const controlProblems = outcomes
      .slice(0, 2)
      .filter((o) => o.status !== 'ok')
      .map((o) => `control case ${o.status}: ${o.message ?? ''}`);
    const problems: string[] = [...controlProblems];
    let refused = 0;
    const codes = new Set<string>();
    for (const [i, b] of bad.entries()) {
      const o = outcomes[i + 2]!;
      if (o.status === 'refused' && b.code.test(o.code ?? '') && b.message.test(o.message ?? '')) {
        refused++;
        codes.add(o.code!);
      } else {
        problems.push(`${b.name}: ${o.status} ${o.code ?? ''} ${(o.message ?? o.detail ?? '').slice(0, 160)}`);
      }
    }

    // The same refusals through the CLI.
    const document = path.join(ctx.tmp, 'document.txt');
    writeFileSync(document, 'A short document to summarize.\n');
    const cli: [string, string[], RegExp][] = [
      ['inspect: truncated model', ['inspect', path.join(ctx.tmp, 'cut-1000.pth')], /^E_MODEL_(TRUNCATED|FORMAT)$/],
      ['inspect: random bytes', ['inspect', path.join(ctx.tmp, 'random.pth')], /^E_MODEL_FORMAT$/],
      [
        'summarize: World vocabulary for a byte-level model',
        ['summarize', '--model', tinyModel, '--vocab', worldVocab, document],
        /^E_TOKENIZER_MISMATCH$/,
      ],
    ];
    for (const [name, args, code] of cli) {
      const answer = await cliRefusal(args, ctx.tmp);
      if (typeof answer !== 'string' && code.test(answer.code) && answer.message.length > 20) {
        refused++;
        codes.add(answer.code);
      } else {
        problems.push(`${name}: ${typeof answer === 'string' ? answer : `${answer.code}: ${answer.message}`}`);
      }
    }
    const tries = bad.length + cli.length;
    if (controlProblems.length > 0) refused = 0;
    const rss = Math.max(...outcomes.map((o) => o.maxRssKiB ?? 0));
    const example = outcomes[bad.findIndex((b) => b.name.includes('flipped')) + 2];
    report({
      category: 'bad input',
      name: 'bad model files, tokenizers and state blobs',
      tries,
      identical: 0,
      refused,
      lost: tries - refused,
      note:
        problems.length > 0
          ? problems.slice(0, 3).join('; ')
          : `${[...codes].join(', ')}; e.g. ${example?.code}: '${(example?.message ?? '').slice(0, 100)}'; probe peak RSS ${Math.round(rss / 1024)} MiB`,
    });
    report(await hostileFiles(ctx));
  },
};
