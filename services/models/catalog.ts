// The official RWKV-7 releases rwkvstream knows by name. BlinkDL retrains and re-uploads models under new file
// names (rwkv7-g1-0.1b-20250307-..., rwkv7-g1a-0.1b-20250728-..., ...), so each entry matches a family of file
// names and the newest release wins; parameter counts and dimensions are the same across releases of a size.
import {
  ModelCatalogSchema,
  VocabSpecSchema,
  type CatalogModel,
  type ModelCatalog,
  type ModelFamily,
  type VocabSpec,
} from '../../schemas/models.ts';

const WORLD_VOCAB_SIZE = 65536;
/** Working memory beside the weights: state, activations of a chunk, logits, tokenizer. */
const RAM_OVERHEAD = 256 * 1024 * 1024;

interface Size {
  label: string;
  params: number;
  nLayer: number;
  nEmbd: number;
}

/** Parameter counts from the official shapes (65536-id embedding and head included). */
const SIZES: Size[] = [
  { label: '0.1b', params: 191_000_000, nLayer: 12, nEmbd: 768 },
  { label: '0.4b', params: 452_000_000, nLayer: 24, nEmbd: 1024 },
  { label: '1.5b', params: 1_527_000_000, nLayer: 24, nEmbd: 2048 },
  { label: '2.9b', params: 2_947_000_000, nLayer: 32, nEmbd: 2560 },
  { label: '7.2b', params: 7_199_000_000, nLayer: 32, nEmbd: 4096 },
];

const escapeDots = (label: string): string => label.replace('.', '\\.');

/** G1 ("GooseOne") files: rwkv7-g1-…, rwkv7-g1a-…, rwkv7-g1a3-…, rwkv7-g1c-…; never rwkv7a-/rwkv7b- (other architectures). */
const g1Pattern = (label: string): string => `^rwkv7-g1[a-z]?\\d*-${escapeDots(label)}-(?<date>\\d{8})-ctx\\d+\\.pth$`;

/** World files: RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth. */
const worldPattern = (label: string): string =>
  `^RWKV-x070-World-${escapeDots(label.toUpperCase())}-v[\\d.]+-(?<date>\\d{8})-ctx\\d+\\.pth$`;

function entry(family: ModelFamily, size: Size): CatalogModel {
  const g1 = family === 'g1';
  return {
    name: `${family}-${size.label}`,
    family,
    description: g1
      ? `RWKV-7 G1 ${size.label.toUpperCase()}: the newest G1 release (World data plus reasoning and instruction data)`
      : `RWKV-7 World ${size.label.toUpperCase()}: base model trained on the multilingual World data`,
    repo: g1 ? 'BlinkDL/rwkv7-g1' : 'BlinkDL/rwkv-7-world',
    filePattern: g1 ? g1Pattern(size.label) : worldPattern(size.label),
    params: size.params,
    nLayer: size.nLayer,
    nEmbd: size.nEmbd,
    vocabSize: WORLD_VOCAB_SIZE,
    // Official releases are bf16: two bytes per parameter.
    fileBytes: size.params * 2,
    ramBytes: { f32: size.params * 4 + RAM_OVERHEAD, bf16: size.params * 2 + RAM_OVERHEAD },
  };
}

export const MODEL_CATALOG: ModelCatalog = ModelCatalogSchema.parse([
  ...SIZES.map((s) => entry('g1', s)),
  // No World release of the 7.2B size exists; G1 is its successor.
  ...SIZES.filter((s) => s.label !== '7.2b').map((s) => entry('world', s)),
]);

/** Small enough to download on first use; good enough for summaries of plain documents. */
export const DEFAULT_MODEL_NAME = 'g1-0.1b';

/** The vocabulary every World and G1 model was trained with (checksum of the RWKV-LM copy). */
export const WORLD_VOCAB: VocabSpec = VocabSpecSchema.parse({
  name: 'world',
  file: 'rwkv_vocab_v20230424.txt',
  sha256: 'e6dee3d4e31b4d5c40ac99508ac6c701ceef4bed681bf2167ce9a908552bca89',
  size: 1_093_733,
  vocabSize: 65530,
  repo: 'BlinkDL/rwkv-7-world',
});

/** Where the vocabulary is fetched when the Hugging Face repository does not hold a copy. */
export const DEFAULT_VOCAB_URL = 'https://raw.githubusercontent.com/BlinkDL/RWKV-LM/main/RWKV-v7/rwkv_vocab_v20230424.txt';

/** How the World vocabulary is named where a file could be given: `models pull vocab`, `--vocab world`. */
export function isVocabName(value: string): boolean {
  return value === WORLD_VOCAB.name || value === 'vocab';
}

export function findCatalogModel(name: string, catalog: ModelCatalog = MODEL_CATALOG): CatalogModel | undefined {
  return catalog.find((m) => m.name === name.toLowerCase());
}

export function catalogNames(catalog: ModelCatalog = MODEL_CATALOG): string[] {
  return catalog.map((m) => m.name);
}
