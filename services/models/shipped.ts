// Models that ship inside the package, so a command works on a fresh machine with no download. The log model
// (models/log/, made by tools/train-log-model/) is `scan`'s default when no model is configured.
import { existsSync } from 'node:fs';
import path from 'node:path';

import { packageRoot } from '../../engine/package-root.ts';

export interface ShippedModel {
  /** The name that selects it (`--model log`). */
  name: string;
  path: string;
  /** Its vocabulary size (256: the byte tokenizer), so no vocabulary needs resolving. */
  vocabSize: number;
  description: string;
}

export const LOG_MODEL: ShippedModel = {
  name: 'log',
  path: path.join(packageRoot, 'models', 'log', 'rwkv7-log.pth'),
  vocabSize: 256,
  description: 'byte-level RWKV-7 (L3, C128, 0.8M parameters) trained on service and application logs',
};

export const SHIPPED_MODELS: readonly ShippedModel[] = [LOG_MODEL];

export function findShippedModel(name: string): ShippedModel | undefined {
  return SHIPPED_MODELS.find((m) => m.name === name && existsSync(m.path));
}
