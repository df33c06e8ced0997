// The embedded mode when its checkpoints cannot be written: a real EFBIG (a file size limit below a state's
// size, `ulimit -f` around the CLI, as on a full disk) and the checkpoint directory made read-only in the
// middle of a run. Each must stop the run with E_CHECKPOINT_WRITE naming the file in the checkpoint
// directory, exit non-zero and keep the last good checkpoint; once the condition is fixed the same command
// resumes and prints exactly what an undisturbed run prints.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { tinyModel } from '../../helpers/fixtures.ts';
import {
  cli,
  isolatedEnv,
  committedHead,
  startCli,
  waitForCheckpoint,
  type CliOptions,
  type CliRun,
} from '../../embedded/helpers.ts';
import type { Row } from '../report.ts';
import type { Scenario, SuiteContext } from '../scenario.ts';

const exec = promisify(execFile);

interface Setup {
  ctx: SuiteContext;
  input: string;
  args: string[];
  expected: string;
  run(checkpoints: string, options?: CliOptions): Promise<CliRun>;
}

type HeadSnapshot = NonNullable<ReturnType<typeof committedHead>>;

export const diskFull: Scenario = {
  name: 'disk-full',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const env = isolatedEnv(path.join(ctx.tmp, 'home'));
    const input = path.join(ctx.tmp, 'report.txt');
    writeFileSync(
      input,
      Array.from(
        { length: ctx.quick ? 160 : 480 },
        (_, i) => `Entry ${i}: the river rose after ${i % 7} days of rain, and the town watched it.\n`,
      ).join(''),
    );
    const args = ['--model', tinyModel, '--chunk-tokens', '16', '--max-tokens', '24', '--json'];
    const run = (checkpoints: string, options: CliOptions = {}) =>
      cli(['summarize', input, ...args, '--checkpoint-dir', checkpoints], {
        ...options,
        env: { ...env, ...options.env },
      });
    const undisturbed = await run(dir(ctx, 'undisturbed'), {});
    if (undisturbed.code !== 0) throw new Error(`the undisturbed run failed: ${undisturbed.stderr.slice(-300)}`);
    const setup: Setup = { ctx, input, args, expected: undisturbed.stdout, run };
    report(await fileSizeLimit(setup, env));
    report(await readOnlyMidRun(setup, env));
  },
};

function dir(ctx: SuiteContext, name: string): string {
  const d = path.join(ctx.tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Starts the command, lets it commit `chunks` checkpoints, and stops it with Ctrl-C (it keeps its checkpoint). */
async function interrupt(
  setup: Setup,
  env: NodeJS.ProcessEnv,
  checkpoints: string,
  chunks: number,
): Promise<HeadSnapshot> {
  const started = startCli(['summarize', setup.input, ...setup.args, '--checkpoint-dir', checkpoints], { env });
  await waitForCheckpoint(started, checkpoints, chunks);
  started.child.kill('SIGINT');
  await started.done;
  const head = committedHead(checkpoints);
  if (!head) throw new Error('an interrupted run left no checkpoint');
  return head;
}

/** What is wrong with a failed run and the checkpoint it left (null: refused properly, last good one kept). */
function checkRefusal(failed: CliRun, checkpoints: string, before: HeadSnapshot | null, code: string): string | null {
  if (failed.code === 0 || failed.code === null)
    return `exit ${failed.code ?? failed.signal}, expected a non-zero exit`;
  if (!failed.stderr.includes('E_CHECKPOINT_WRITE')) return `no E_CHECKPOINT_WRITE in: ${failed.stderr.slice(-300)}`;
  if (!failed.stderr.includes(checkpoints))
    return `the error does not name the checkpoint directory: ${failed.stderr.slice(-300)}`;
  if (!failed.stderr.includes(`(${code})`)) return `the error does not give ${code}: ${failed.stderr.slice(-300)}`;
  if (failed.stdout !== '') return `printed a result: ${failed.stdout.slice(0, 200)}`;
  const after = committedHead(checkpoints);
  if (!after) return 'no checkpoint left';
  if (!existsSync(path.join(after.dir, after.blob))) return `the head names ${after.blob}, which is gone`;
  if (before && JSON.stringify(after) !== JSON.stringify(before))
    return `the checkpoint changed: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`;
  return null;
}

async function resume(setup: Setup, checkpoints: string): Promise<string | null> {
  const resumed = await setup.run(checkpoints);
  if (resumed.code !== 0) return `the resumed run failed (${resumed.code}): ${resumed.stderr.slice(-300)}`;
  if (!resumed.stderr.includes('resuming from the checkpoint'))
    return `the run started over instead of resuming: ${resumed.stderr.slice(0, 200)}`;
  if (resumed.stdout !== setup.expected)
    return `the resumed result differs: ${resumed.stdout.slice(0, 200)} vs ${setup.expected.slice(0, 200)}`;
  return null;
}

async function fileSizeLimit(setup: Setup, env: NodeJS.ProcessEnv): Promise<Row> {
  const checkpoints = dir(setup.ctx, 'efbig');
  const before = await interrupt(setup, env, checkpoints, 4);
  // 64 blocks of 512 bytes: below the size of one state, so the next blob write fails with EFBIG.
  const failed = await setup.run(checkpoints, { fileSizeLimitBlocks: 64 });
  const problem = checkRefusal(failed, checkpoints, before, 'EFBIG') ?? (await resume(setup, checkpoints));
  return {
    category: 'fault',
    name: 'checkpoint write fails with EFBIG (ulimit -f)',
    tries: 1,
    identical: problem === null ? 1 : 0,
    refused: 0,
    lost: problem === null ? 0 : 1,
    note:
      problem ??
      `exit ${failed.code}, '${firstError(failed.stderr, checkpoints)}'; checkpoint at chunk ${before.chunk} kept; resumed identical`,
  };
}

/**
 * Read-only for real: root ignores permission bits, so as root the directory tree is made immutable
 * (chattr +i), which refuses root's writes too; any other user gets chmod a-w.
 */
async function readOnlyMidRun(setup: Setup, env: NodeJS.ProcessEnv): Promise<Row> {
  const name = 'checkpoint directory made read-only mid-run';
  const checkpoints = dir(setup.ctx, 'readonly');
  const root = process.getuid?.() === 0;
  const lock = root
    ? (['chattr', ['-R', '+i', checkpoints]] as const)
    : (['chmod', ['-R', 'a-w', checkpoints]] as const);
  const unlock = root
    ? (['chattr', ['-R', '-i', checkpoints]] as const)
    : (['chmod', ['-R', 'u+w', checkpoints]] as const);
  const started = startCli(['summarize', setup.input, ...setup.args, '--checkpoint-dir', checkpoints], { env });
  let locked = false;
  try {
    await waitForCheckpoint(started, checkpoints, 4);
    try {
      await exec(lock[0], [...lock[1]]);
      locked = true;
    } catch (err) {
      started.child.kill('SIGINT');
      await started.done;
      // Not a pass: the variant could not be set up here, and the row says so.
      return {
        category: 'fault',
        name,
        tries: 1,
        identical: 0,
        refused: 0,
        lost: 1,
        note: `not tried: ${lock[0]} failed: ${(err as Error).message.split('\n')[0]}`,
      };
    }
    const failed = await started.done;
    const held = committedHead(checkpoints);
    const problem =
      (failed.code === 0 ? 'the run finished before the directory was made read-only (make the input longer)' : null) ??
      checkRefusal(failed, checkpoints, null, root ? 'EPERM' : 'EACCES');
    await exec(unlock[0], [...unlock[1]]);
    locked = false;
    const outcome = problem ?? (await resume(setup, checkpoints));
    return {
      category: 'fault',
      name,
      tries: 1,
      identical: outcome === null ? 1 : 0,
      refused: 0,
      lost: outcome === null ? 0 : 1,
      note:
        outcome ??
        `${lock[0]} ${lock[1].slice(0, 2).join(' ')} at chunk ${held?.chunk}; exit ${failed.code}, '${firstError(failed.stderr, checkpoints)}'; resumed identical`,
    };
  } finally {
    // The scratch directory cannot be removed while it is immutable or read-only.
    if (locked) await exec(unlock[0], [...unlock[1]]).catch(() => {});
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
  }
}

/** The error's code and reason, with the file it names shortened to its place under the checkpoint directory. */
function firstError(stderr: string, checkpoints: string): string {
  const line = stderr.split('\n').find((l) => l.includes('E_CHECKPOINT_WRITE')) ?? '';
  const file = /cannot write (\S+):/.exec(line)?.[1] ?? '';
  const reason = line.slice(line.indexOf(file) + file.length + 1).trim();
  return `E_CHECKPOINT_WRITE in ${file.startsWith(checkpoints) ? '<checkpoint-dir>' : file}: ${reason}`.slice(0, 160);
}
