// What a run started, stopped when the run is cut off: a timeout's SIGTERM or a Ctrl-C must not leave a
// scenario's Redis, broker or worker processes behind (the next run would find their ports busy). Steps run
// newest first (workers before the services they use), each once, within a time limit.
import { setTimeout as sleep } from 'node:timers/promises';

type Step = () => Promise<unknown>;

const steps: { what: string; step: Step }[] = [];
/** Longest the stopping may take before the process exits anyway. */
const LIMIT_MS = 60_000;

/** Registers a step to run if the process is interrupted; the returned function unregisters it (the step is done). */
export function onInterrupt(what: string, step: Step): () => void {
  const entry = { what, step };
  steps.push(entry);
  return () => {
    const at = steps.indexOf(entry);
    if (at >= 0) steps.splice(at, 1);
  };
}

/** Runs every registered step, newest first; failures are reported and do not stop the others. */
export async function runInterruptSteps(log: (message: string) => void): Promise<void> {
  while (steps.length > 0) {
    const { what, step } = steps.pop()!;
    log(`stopping ${what}`);
    await step().catch((err: Error) => log(`could not stop ${what}: ${err.message}`));
  }
}

/** SIGINT and SIGTERM stop what the run started, then end the process with 130 or 143. */
export function stopStartedOnSignals(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): void {
  let stopping = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping what this run started`);
      void Promise.race([runInterruptSteps(log), sleep(LIMIT_MS)]).finally(() => process.exit(code));
    });
  }
}
