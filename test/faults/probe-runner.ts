// Runs engine probe cases (test/faults/model-probe.ts) in child processes: a case that kills its process with a
// signal is a crash, one that does not answer in time is a hang (its process is killed); either way a fresh
// child takes the remaining cases.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const probeScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model-probe.ts');

export interface ProbeOutcome {
  status: 'ok' | 'refused' | 'uncoded' | 'crash' | 'hang';
  code?: string;
  message?: string;
  detail?: string;
  ms?: number;
  /** Peak resident memory of the child process so far (KiB). */
  maxRssKiB?: number;
}

interface ProbeLine {
  case: number;
  start?: boolean;
  ok?: boolean;
  uncoded?: boolean;
  code?: string;
  message?: string;
  detail?: string;
  ms?: number;
  maxRssKiB?: number;
}

/** Runs cases[from..] in one child until it finishes, crashes or hangs; records outcomes; returns where it stopped. */
function runChild(
  cases: object[],
  from: number,
  outcomes: ProbeOutcome[],
  file: string,
  timeoutMs: number,
): Promise<number> {
  writeFileSync(file, JSON.stringify(cases.slice(from)));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', probeScript, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    let current = -1;
    let hung = false;
    // The first case also pays for starting node and loading the addon.
    let timer = setTimeout(() => onHang(), timeoutMs + 30_000);
    const onHang = () => {
      hung = true;
      child.kill('SIGKILL');
    };
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: ProbeLine;
      try {
        line = JSON.parse(text) as ProbeLine;
      } catch {
        return;
      }
      const index = from + line.case;
      if (line.start) {
        current = index;
        clearTimeout(timer);
        timer = setTimeout(onHang, timeoutMs);
        return;
      }
      current = -1;
      outcomes[index] = {
        status: line.ok ? 'ok' : line.uncoded ? 'uncoded' : 'refused',
        ...(line.code ? { code: line.code } : {}),
        ...(line.message ? { message: line.message } : {}),
        ...(line.detail ? { detail: line.detail } : {}),
        ms: line.ms!,
        maxRssKiB: line.maxRssKiB!,
      };
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (current >= 0) {
        outcomes[current] = hung
          ? { status: 'hang', message: `no answer in ${timeoutMs} ms` }
          : {
              status: 'crash',
              message: `the process exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
            };
        return resolve(current + 1);
      }
      const done = outcomes.length;
      if (code !== 0 && done < cases.length) {
        // It died between cases (or before the first): the next case is blamed, so the run always moves on.
        outcomes[done] = {
          status: hung ? 'hang' : 'crash',
          message: `the process exited with ${signal ?? code}: ${stderr.trim().slice(-300)}`,
        };
        return resolve(done + 1);
      }
      resolve(done);
    });
  });
}

/** Each case's outcome, in order. */
export async function runProbes(cases: object[], options: { tmp: string; timeoutMs: number }): Promise<ProbeOutcome[]> {
  const outcomes: ProbeOutcome[] = [];
  const file = path.join(options.tmp, `probe-cases-${process.pid}-${Date.now()}.json`);
  let next = 0;
  while (next < cases.length) next = await runChild(cases, next, outcomes, file, options.timeoutMs);
  return outcomes;
}
