// A model file's configuration without loading it: the header and the version's parameter table are read
// (refused with the codes a load gives), no weights are converted, so this costs milliseconds where a load of
// a multi-gigabyte model costs minutes. For choosing a tokenizer before a load, `inspect` and `doctor`.
import { ModelFileInfoSchema, type ModelFileInfo } from '../schemas/engine.ts';
import { engineCall } from './errors.ts';
import { native } from './native.ts';

export interface InspectOptions {
  /** Also the fingerprint a loaded model reports: reads every byte of the weights once. */
  fingerprint?: boolean;
}

export async function inspectModel(file: string, options: InspectOptions = {}): Promise<ModelFileInfo> {
  const raw = await engineCall(() => native().inspectModel(file, { fingerprint: options.fingerprint === true }));
  return ModelFileInfoSchema.parse(raw);
}
