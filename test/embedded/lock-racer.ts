// One contender for a job directory's lock, run as a process of its own by job-lock.test.ts: waits for the
// agreed moment, tries to take the lock, says whether it did and when (a JSON line: took from/until, or
// busy with the code and when it tried), holds it a while, gives it back.
import { setTimeout as sleep } from 'node:timers/promises';

import { EMBEDDED_FORMAT, type DocumentJob } from '../../schemas/embedded.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { JobDir } from '../../services/embedded/index.ts';

const [root, startAt, holdMs] = process.argv.slice(2) as [string, string, string];
const description: DocumentJob = {
  format: EMBEDDED_FORMAT,
  command: 'summarize',
  id: 'doc.txt',
  source: 'doc.txt',
  sha256: 'b'.repeat(64),
  bytes: 100,
  task: SummarizeTaskSchema.parse({ kind: 'summarize' }),
  chunkTokens: 4096,
  model: { version: 'x070', fingerprint: '1111111111111111' },
  tokenizer: { kind: 'bytes', fingerprint: '2222222222222222' },
  weights: 'f32',
  device: 'cpu',
};

await sleep(Math.max(0, Number(startAt) - Date.now()));
const tried = Date.now();
try {
  const job = await JobDir.open(root, description);
  const from = Date.now();
  await sleep(Number(holdMs));
  const until = Date.now();
  await job.release();
  process.stdout.write(`${JSON.stringify({ took: true, tried, from, until })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ took: false, tried, code: (err as { code?: string }).code })}\n`);
}
