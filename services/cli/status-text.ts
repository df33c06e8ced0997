// A status report as one line a person reads: `rwkvstream status ID` and the reason `result` gives for
// having no result.
import type { StatusReport } from '../../schemas/status.ts';
import { formatAmount, formatCount, formatDuration, formatRate } from './progress.ts';

/** Where to look when an id is unknown: the deployment the command looked in. */
export interface LookedIn {
  prefix: string;
  redis: string;
}

export function statusLine(report: StatusReport, lookedIn?: LookedIn): string {
  switch (report.state) {
    case 'unknown': {
      const where = lookedIn
        ? ` in prefix "${lookedIn.prefix}" at ${lookedIn.redis} (check --prefix and --redis / REDIS_URL)`
        : '';
      return `unknown: nothing under this ${report.kind} id${where}; not submitted yet, refused before its id could be read (see the dead-letter topic), or expired`;
    }
    case 'queued': {
      const parts =
        report.parts !== null
          ? `${report.partsReceived} of ${report.parts} parts`
          : `${report.partsReceived} part${report.partsReceived === 1 ? '' : 's'}`;
      if (report.step === 'planning')
        return `queued: being tokenized and planned by ${report.worker ?? 'a worker'} (${parts} received)`;
      if (report.step === 'waiting') return `queued: all ${parts} received, waiting for a worker to plan it`;
      return `queued: receiving parts (${parts} so far)`;
    }
    case 'running': {
      const pct = report.totalTokens > 0 ? ` (${Math.floor((100 * report.tokens) / report.totalTokens)}%)` : '';
      const rate = report.rate !== null ? `, ${formatRate(report.rate, 'tokens')}` : '';
      const eta = report.etaSeconds !== null ? `, about ${formatDuration(report.etaSeconds * 1000)} left` : '';
      const who = report.worker !== null ? `, on ${report.worker}` : ', next step waiting for a worker';
      return `running: chunk ${report.chunk} of ${report.chunks}, ${formatCount(report.tokens)} of ${formatAmount(report.totalTokens, 'tokens')}${pct}${rate}${eta}${who}`;
    }
    case 'done':
      return `done: ${report.task}, ${formatAmount(report.tokens, 'tokens')} in ${report.chunks} chunk${report.chunks === 1 ? '' : 's'} (rwkvstream result ${report.id})`;
    case 'failed':
      return `failed at ${report.stage}: ${report.code}: ${report.message}`;
    case 'refused':
      return `refused at ${report.stage}: ${report.code}: ${report.message}`;
    case 'active': {
      const who = report.worker !== null ? `, scoring on ${report.worker}` : '';
      return `active: ${report.batches} batch${report.batches === 1 ? '' : 'es'} scored, ${formatAmount(report.tokens, 'tokens')} read, ${report.waiting} event${report.waiting === 1 ? '' : 's'} waiting${who}`;
    }
  }
}
