// Telemetry of one process: no metrics endpoint to feed, so it keeps the totals a command may report.
import type { StateKey, Telemetry } from '../../pipelines/ports.ts';

export class TotalsTelemetry implements Telemetry {
  tokens = 0;
  modelSeconds = 0;
  checkpointBytes = 0;
  checkpointSeconds = 0;
  commitsRejected = 0;

  chunk(_kind: StateKey['kind'], tokens: number, seconds: number): void {
    this.tokens += tokens;
    this.modelSeconds += seconds;
  }

  checkpoint(op: 'load' | 'commit', bytes: number, seconds: number): void {
    if (op === 'commit') this.checkpointBytes += bytes;
    this.checkpointSeconds += seconds;
  }

  commitRejected(): void {
    this.commitsRejected++;
  }

  record(): void {}

  deadLetter(): void {}
}
