// The compiled addon and its raw surface. Everything here is untyped at the boundary; engine.ts parses what
// comes back with the zod schemas.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { EngineError } from './errors.ts';
import { packageRoot } from './package-root.ts';

export interface NativeModel {
  info(): unknown;
  forward(streams: { tokens: Int32Array; state: Float32Array; logits: string }[]): Promise<(Float32Array | null)[]>;
  /** The state a document starts from (the version's official initial state, or a state-tuned file's). */
  initialState(): Float32Array;
  /** A state-tuning file (blocks.{i}.att.time_state) as a state of this model. */
  readStateTuning(path: string): Promise<Float32Array>;
  /** Resident state slots (native/include/rwkv/state_slots.h): a free slot holding `state` (else the initial state). */
  acquireSlot(state?: Float32Array): number;
  writeSlot(slot: number, state: Float32Array): void;
  readSlot(slot: number): Float32Array;
  releaseSlot(slot: number): void;
  forwardSlots(streams: { tokens: Int32Array; slot: number; logits: string }[]): Promise<(Float32Array | null)[]>;
  /** Whether slots live in device memory (CUDA) rather than host memory. */
  slotsOnDevice(): boolean;
  dispose(): void;
}

export interface NativeTokenizer {
  info(): unknown;
  encode(bytes: Uint8Array): Promise<Int32Array>;
  encodeSync(bytes: Uint8Array): Int32Array;
  decode(ids: Int32Array): Buffer;
}

export interface NativeAddon {
  inspectModel(path: string, options: { fingerprint: boolean }): Promise<unknown>;
  loadModel(path: string, options: { weights: string; threads: number; device: string }): Promise<NativeModel>;
  loadWorldTokenizer(path: string): Promise<NativeTokenizer>;
  byteTokenizer(): NativeTokenizer;
  capabilities(): unknown;
  encodeStateBlob(info: object, state: Float32Array): Buffer;
  decodeStateBlob(blob: Uint8Array, expected?: object): { info: unknown; state: Float32Array };
  writeRandomModel(path: string, shape: RandomModelShape, seed: number): Promise<void>;
}

/** Dimensions of a random x070 model (defaults: the official 0.1B shape). */
export interface RandomModelShape {
  layers?: number;
  embd?: number;
  headSize?: number;
  vocab?: number;
  ffn?: number;
  rankW?: number;
  rankA?: number;
  rankV?: number;
  rankG?: number;
}

/** Where `npm install` builds the addon. */
export const DEFAULT_ADDON_PATH = path.join(packageRoot, 'native', 'build', 'rwkv.node');

// The file is chosen by whoever starts the process (the services layer's settings), before the first engine
// call; the engine itself reads no environment.
let addonPath = DEFAULT_ADDON_PATH;
let addon: NativeAddon | undefined;

/**
 * Makes the engine load its addon from `file` (a build elsewhere, e.g. one with CUDA). A process holds one
 * addon: naming another file after the first engine call is refused.
 */
export function useAddon(file: string): void {
  const wanted = path.resolve(file);
  if (addon && wanted !== addonPath) {
    throw new EngineError(
      'E_ARGUMENT',
      `the native engine is already loaded from ${addonPath}; it cannot be switched to ${wanted}`,
    );
  }
  addonPath = wanted;
}

/** The file the addon is (or will be) loaded from. */
export function addonFile(): string {
  return addonPath;
}

export function native(): NativeAddon {
  if (addon) return addon;
  if (!existsSync(addonPath)) {
    throw new EngineError(
      'E_ADDON_MISSING',
      `the native engine is not built (${addonPath} is missing); run: npm run build:native`,
    );
  }
  addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
  return addon;
}
