// Telemetry of one process: the embedded mode serves no metrics (a run's progress is reported on stderr
// instead), so what the pipelines measure is not kept.
import type { Telemetry } from '../../../pipelines/ports.ts';

export class NoTelemetry implements Telemetry {
  chunk(): void {}
  checkpoint(): void {}
  commitRejected(): void {}
  record(): void {}
  deadLetter(): void {}
}
