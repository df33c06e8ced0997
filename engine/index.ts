export { Engine, capabilities } from './engine.ts';
export { EngineError } from './errors.ts';
export { inspectModel, type InspectOptions } from './inspect.ts';
export { addonFile, DEFAULT_ADDON_PATH, useAddon } from './native.ts';
export { isNamedTokenizer, NEOX_20B, type NamedTokenizer } from './neox-20b.ts';
export { Model, readStateInfo, type ModelOptions, type StreamInput } from './model.ts';
export { ResidentState } from './resident-state.ts';
export { RnnState } from './state.ts';
export { Tokenizer } from './tokenizer.ts';
