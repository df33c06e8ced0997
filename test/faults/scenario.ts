// The shape of one scenario of the fault suite, and what the runner hands it.
import type { Category, Row } from './report.ts';

export interface SuiteContext {
  /** The CI subset: fewer tries and smaller inputs, same checks. */
  quick: boolean;
  /** The shared Kafka broker (infra/kafka/start.sh; started on first use). Scenarios that stop a broker start their own. */
  brokers(): Promise<string[]>;
  /** The shared Redis. Scenarios that restart Redis start their own (infra/redis/start.sh on another port). */
  redisUrl: string;
  /** A scratch directory for this run, removed afterwards. */
  tmp: string;
  /** Progress for a human watching (stderr). */
  log(message: string): void;
}

export interface Scenario {
  /** Short name used by --only. */
  name: string;
  category: Category;
  /** Part of the CI subset (`npm test`), not only of `npm run test:faults`. */
  quick: boolean;
  /** Runs the tries and reports one or more rows. A throw counts as a crash of the whole scenario. */
  run(ctx: SuiteContext, report: (row: Row) => void): Promise<void>;
}
