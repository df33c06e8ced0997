export { Engine, capabilities } from './engine.ts';
export { EngineError } from './errors.ts';
export { Model, readStateInfo, type ModelOptions, type StreamInput } from './model.ts';
export { ResidentState } from './resident-state.ts';
export { RnnState } from './state.ts';
export { Tokenizer } from './tokenizer.ts';
