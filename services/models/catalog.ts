// The official RWKV releases rwkvstream knows by name. BlinkDL retrains and re-uploads models under new file
// names (rwkv7-g1-0.1b-20250307-…, rwkv7-g1a-0.1b-20250728-…, rwkv7-g1d-0.1b-20260129-…), so each entry matches
// a family of file names and the newest release wins; `file` is the newest known when this was written.
// File names are those of the Hugging Face repositories BlinkDL/rwkv7-g1, rwkv-7-world, rwkv-6-world,
// rwkv-5-world, rwkv-4-world, rwkv-4-raven and rwkv-4-pile-*. Parameter counts come from the official shapes
// (embedding and head included); where only the file size is published (13.3B, the older families) they are
// derived from it, as the releases store bf16 weights: two bytes per parameter.
import {
  ModelCatalogSchema,
  VocabSpecSchema,
  type CatalogModel,
  type ModelCatalog,
  type ModelFamily,
  type VocabSpec,
} from '../../schemas/models.ts';
import { NEOX_20B } from '../../engine/neox-20b.ts';

const WORLD_VOCAB_SIZE = 65536;
/** Working memory beside the weights: state, activations of a chunk, logits, tokenizer. */
const RAM_OVERHEAD = 256 * 1024 * 1024;

interface Release {
  /** Size in the catalog name (lowercase). */
  label: string;
  params: number;
  nLayer: number;
  nEmbd: number;
  /** The newest known release of this size. */
  file: string;
}

interface Family {
  family: ModelFamily;
  repo: (release: Release) => string;
  describe: (label: string) => string;
  /** The pattern of a size's release file names, from its newest file name. */
  pattern: (release: Release) => string;
  promptFormat: CatalogModel['promptFormat'];
  tokenizer: CatalogModel['tokenizer'];
  releases: Release[];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const DATE = '(?<date>\\d{8})';

const FAMILIES: Family[] = [
  {
    family: 'g1',
    repo: () => 'BlinkDL/rwkv7-g1',
    describe: (l) =>
      `RWKV-7 G1 ${l.toUpperCase()}: the newest G-series release (World data plus reasoning and instruction data)`,
    // rwkv7-g1-…, rwkv7-g1a-…, rwkv7-g1a3-…, rwkv7-g1d-…; never rwkv7a-/rwkv7b- (other architectures).
    pattern: (r) => `^rwkv7-g1[a-z]?\\d*-${escapeRegExp(r.label)}-${DATE}-ctx\\d+\\.pth$`,
    promptFormat: 'rwkv7-g',
    tokenizer: 'world',
    releases: [
      { label: '0.1b', params: 191_000_000, nLayer: 12, nEmbd: 768, file: 'rwkv7-g1d-0.1b-20260129-ctx8192.pth' },
      { label: '0.4b', params: 452_000_000, nLayer: 24, nEmbd: 1024, file: 'rwkv7-g1d-0.4b-20260210-ctx8192.pth' },
      { label: '1.5b', params: 1_527_000_000, nLayer: 24, nEmbd: 2048, file: 'rwkv7-g1d-1.5b-20260212-ctx8192.pth' },
      { label: '2.9b', params: 2_947_000_000, nLayer: 32, nEmbd: 2560, file: 'rwkv7-g1d-2.9b-20260131-ctx8192.pth' },
      { label: '7.2b', params: 7_199_000_000, nLayer: 32, nEmbd: 4096, file: 'rwkv7-g1d-7.2b-20260131-ctx8192.pth' },
      { label: '13.3b', params: 13_250_000_000, nLayer: 61, nEmbd: 4096, file: 'rwkv7-g1d-13.3b-20260131-ctx8192.pth' },
    ],
  },
  {
    family: 'world',
    repo: () => 'BlinkDL/rwkv-7-world',
    describe: (l) => `RWKV-7 World ${l.toUpperCase()}: base model trained on the multilingual World data`,
    pattern: (r) => `^RWKV-x070-World-${escapeRegExp(r.label.toUpperCase())}-v[\\d.]+-${DATE}-ctx\\d+\\.pth$`,
    promptFormat: 'world',
    tokenizer: 'world',
    releases: [
      {
        label: '0.1b',
        params: 191_000_000,
        nLayer: 12,
        nEmbd: 768,
        file: 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth',
      },
      {
        label: '0.4b',
        params: 452_000_000,
        nLayer: 24,
        nEmbd: 1024,
        file: 'RWKV-x070-World-0.4B-v2.9-20250107-ctx4096.pth',
      },
      {
        label: '1.5b',
        params: 1_527_000_000,
        nLayer: 24,
        nEmbd: 2048,
        file: 'RWKV-x070-World-1.5B-v3-20250127-ctx4096.pth',
      },
      {
        label: '2.9b',
        params: 2_947_000_000,
        nLayer: 32,
        nEmbd: 2560,
        file: 'RWKV-x070-World-2.9B-v3-20250211-ctx4096.pth',
      },
    ],
  },
  {
    family: 'world6',
    repo: () => 'BlinkDL/rwkv-6-world',
    describe: (l) => `RWKV-6 "Finch" World ${l.toUpperCase()}`,
    pattern: (r) => `^RWKV-x060-World-${escapeRegExp(r.file.split('-')[3]!)}-v[\\d.]+-${DATE}-ctx\\d+\\.pth$`,
    promptFormat: 'world',
    tokenizer: 'world',
    releases: [
      {
        label: '1.6b',
        params: 1_600_000_000,
        nLayer: 24,
        nEmbd: 2048,
        file: 'RWKV-x060-World-1B6-v2.1-20240328-ctx4096.pth',
      },
      {
        label: '3b',
        params: 3_100_000_000,
        nLayer: 32,
        nEmbd: 2560,
        file: 'RWKV-x060-World-3B-v2.1-20240417-ctx4096.pth',
      },
      {
        label: '7b',
        params: 7_640_000_000,
        nLayer: 32,
        nEmbd: 4096,
        file: 'RWKV-x060-World-7B-v2.1-20240507-ctx4096.pth',
      },
      {
        label: '14b',
        params: 14_070_000_000,
        nLayer: 61,
        nEmbd: 4096,
        file: 'RWKV-x060-World-14B-v2.1-20240719-ctx4096.pth',
      },
    ],
  },
  {
    family: 'world5',
    repo: () => 'BlinkDL/rwkv-5-world',
    describe: (l) => `RWKV-5 "Eagle" World ${l.toUpperCase()}`,
    pattern: (r) => `^RWKV-5-World-${escapeRegExp(r.file.split('-')[3]!)}-v[\\d.]+-${DATE}-ctx\\d+k?\\.pth$`,
    promptFormat: 'world',
    tokenizer: 'world',
    releases: [
      {
        label: '0.4b',
        params: 462_000_000,
        nLayer: 24,
        nEmbd: 1024,
        file: 'RWKV-5-World-0.4B-v2-20231113-ctx4096.pth',
      },
      {
        label: '1.5b',
        params: 1_578_000_000,
        nLayer: 24,
        nEmbd: 2048,
        file: 'RWKV-5-World-1B5-v2-20231025-ctx4096.pth',
      },
      { label: '3b', params: 3_063_000_000, nLayer: 32, nEmbd: 2560, file: 'RWKV-5-World-3B-v2-20231118-ctx16k.pth' },
    ],
  },
  {
    family: 'world4',
    repo: () => 'BlinkDL/rwkv-4-world',
    describe: (l) => `RWKV-4 World ${l.toUpperCase()}`,
    pattern: (r) => `^RWKV-4-World-${escapeRegExp(r.file.split('-')[3]!)}-v[\\d.]+-${DATE}-ctx\\d+\\.pth$`,
    promptFormat: 'world',
    tokenizer: 'world',
    releases: [
      { label: '0.1b', params: 190_000_000, nLayer: 12, nEmbd: 768, file: 'RWKV-4-World-0.1B-v1-20230520-ctx4096.pth' },
    ],
  },
  {
    family: 'raven4',
    repo: () => 'BlinkDL/rwkv-4-raven',
    describe: (l) => `RWKV-4 Raven ${l.toUpperCase()}: the Pile model tuned for Bob/Alice chat (English)`,
    pattern: (r) => `^RWKV-4-Raven-${escapeRegExp(r.file.split('-')[3]!)}-v\\d+-Eng[^/]*-${DATE}-ctx\\d+\\.pth$`,
    promptFormat: 'raven',
    tokenizer: '20b',
    releases: [
      {
        label: '1.5b',
        params: 1_515_000_000,
        nLayer: 24,
        nEmbd: 2048,
        file: 'RWKV-4-Raven-1B5-v12-Eng98%-Other2%-20230520-ctx4096.pth',
      },
      {
        label: '7b',
        params: 7_393_000_000,
        nLayer: 32,
        nEmbd: 4096,
        file: 'RWKV-4-Raven-7B-v12-Eng98%-Other2%-20230521-ctx8192.pth',
      },
    ],
  },
  {
    family: 'pile4',
    repo: (r) => `BlinkDL/rwkv-4-pile-${r.file.split('-')[3]!.toLowerCase()}`,
    describe: (l) => `RWKV-4 Pile ${l.toUpperCase()}: base model trained on the Pile (plain completion)`,
    pattern: (r) => `^RWKV-4-Pile-${escapeRegExp(r.file.split('-')[3]!)}-${DATE}-\\d+\\.pth$`,
    promptFormat: 'raw',
    tokenizer: '20b',
    releases: [
      { label: '169m', params: 169_000_000, nLayer: 12, nEmbd: 768, file: 'RWKV-4-Pile-169M-20220807-8023.pth' },
      { label: '430m', params: 430_000_000, nLayer: 24, nEmbd: 1024, file: 'RWKV-4-Pile-430M-20220808-8066.pth' },
      { label: '1.5b', params: 1_515_000_000, nLayer: 24, nEmbd: 2048, file: 'RWKV-4-Pile-1B5-20220903-8040.pth' },
    ],
  },
];

function entry(f: Family, r: Release): CatalogModel {
  return {
    name: `${f.family}-${r.label}`,
    family: f.family,
    description: f.describe(r.label),
    repo: f.repo(r),
    filePattern: f.pattern(r),
    file: r.file,
    promptFormat: f.promptFormat,
    tokenizer: f.tokenizer,
    params: r.params,
    nLayer: r.nLayer,
    nEmbd: r.nEmbd,
    vocabSize: f.tokenizer === 'world' ? WORLD_VOCAB_SIZE : NEOX_20B.vocabSize,
    // Official releases are bf16: two bytes per parameter.
    fileBytes: r.params * 2,
    ramBytes: { f32: r.params * 4 + RAM_OVERHEAD, bf16: r.params * 2 + RAM_OVERHEAD },
  };
}

export const MODEL_CATALOG: ModelCatalog = ModelCatalogSchema.parse(
  FAMILIES.flatMap((f) => f.releases.map((r) => entry(f, r))),
);

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
export const DEFAULT_VOCAB_URL =
  'https://raw.githubusercontent.com/BlinkDL/RWKV-LM/main/RWKV-v7/rwkv_vocab_v20230424.txt';

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
