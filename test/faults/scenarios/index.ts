// Every scenario of the fault suite, in the order they run.
import type { Scenario } from '../scenario.ts';

export const scenarios: Scenario[] = [];
