// How the tasks call the model: a function rather than the model itself, so a worker that batches the calls of
// many jobs (pipelines/forward-batcher.ts) can stand in for the engine without the tasks knowing about it.
import type { LogitsMode } from '../../schemas/engine.ts';
import type { RnnState } from '../../engine/index.ts';

/** A model call as the chunk and drain jobs make it: `state` is updated in place, the logits asked for come back. */
export type Forward = (tokens: Int32Array, state: RnnState, logits: LogitsMode) => Promise<Float32Array | null>;
