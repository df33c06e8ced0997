// Prompt formats, golden: for a small document, the exact text and World token ids each profile feeds (the
// prefix, the folded document, the instruction and the assistant's turn), the section and reduce prompts, the
// folding of a document that arrives in pieces, the formats implied by official file names, and the stop rules.
// The expected ids were computed with an independent greedy longest-match tokenizer over the same vocabulary
// file (the official algorithm: fixtures/tokenizer/tokenizer_cases.json).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { DocumentTokenizer } from '../../pipelines/document-tokens.ts';
import {
  MAX_HELD_WHITESPACE,
  TurnFolder,
  documentPrefix,
  foldTurnText,
  formatFromFileName,
} from '../../schemas/prompt-formats.ts';
import { groupPrompt } from '../../pipelines/reduce.ts';
import { summarize } from '../../pipelines/tasks/index.ts';
import {
  ClassifyTaskSchema,
  SummarizeTaskSchema,
  type DocumentTaskInput,
  type SummarizeTask,
} from '../../schemas/tasks.ts';
import { Tokenizer, type Engine } from '../../engine/index.ts';
import { worldVocab } from '../helpers/paths.ts';

let world: Tokenizer;
before(async () => {
  world = await Tokenizer.world(worldVocab);
});

const DOC = 'Report\n\nThe river rose.\n\n\n  It rained for days.\r\n\r\nEnd.\n\n';
const FOLDED = 'Report\nThe river rose.\n  It rained for days.\r\nEnd.';
const SYSTEM = 'You are a careful reader.\n\nBe brief.';

interface Golden {
  task: DocumentTaskInput;
  /** What the document is read as. */
  read: string;
  readIds: number[];
  /** What follows it, before the answer. */
  template: string;
  templateIds: number[];
  stop: string[];
}

const GOLDEN: Record<string, Golden> = {
  raw: {
    task: { kind: 'summarize' },
    read: DOC,
    readIds: [40716, 261, 6699, 39533, 31901, 47, 19240, 3918, 31820, 1843, 21700, 30582, 47, 19244, 5886, 47, 261],
    template: '\n\nSummary:',
    templateIds: [261, 48743, 59],
    stop: ['\n\n'],
  },
  world: {
    task: { kind: 'summarize', promptFormat: 'world' },
    read: `User: ${FOLDED}`,
    // "User: Report": the prefix's space and the document's first word are one token, as in the official demos.
    readIds: [24281, 59, 44782, 11, 6699, 39533, 31901, 47, 3331, 1141, 31820, 1843, 21700, 30582, 47, 263, 5886, 47],
    template: '\nSummarize the text above in a few sentences.\n\nAssistant:',
    templateIds: [11, 6654, 8150, 7946, 22590, 32224, 37599, 4596, 332, 21674, 60476, 47, 261, 5585, 41693, 59],
    stop: ['\n\n', 'User:'],
  },
  'rwkv7-g': {
    task: { kind: 'summarize', promptFormat: 'rwkv7-g', system: SYSTEM },
    read: `System: You are a careful reader.\nBe brief.\n\nUser: ${FOLDED}`,
    readIds: [
      40812, 59, 21189, 21286, 332, 51137, 47006, 47, 11, 886, 37909, 47, 261, 24281, 59, 44782, 11, 6699, 39533, 31901,
      47, 3331, 1141, 31820, 1843, 21700, 30582, 47, 263, 5886, 47,
    ],
    template: '\nSummarize the text above in a few sentences.\n\nAssistant: <think>\n</think>',
    templateIds: [
      11, 6654, 8150, 7946, 22590, 32224, 37599, 4596, 332, 21674, 60476, 47, 261, 5585, 41693, 59, 295, 35762, 63, 11,
      754, 35762, 63,
    ],
    stop: ['\n\n', 'User:'],
  },
  raven: {
    task: { kind: 'summarize', promptFormat: 'raven' },
    read: `Bob: ${FOLDED}`,
    readIds: [5641, 59, 44782, 11, 6699, 39533, 31901, 47, 3331, 1141, 31820, 1843, 21700, 30582, 47, 263, 5886, 47],
    template: '\nSummarize the text above in a few sentences.\n\nAlice:',
    templateIds: [11, 6654, 8150, 7946, 22590, 32224, 37599, 4596, 332, 21674, 60476, 47, 261, 32890, 59],
    stop: ['\n\n', 'Bob:'],
  },
};

async function readIds(task: SummarizeTask, pieces: Uint8Array[], windowBytes?: number): Promise<number[]> {
  const t = new DocumentTokenizer(world, task, windowBytes);
  const ids: number[] = [];
  for (const piece of pieces) ids.push(...(await t.push(piece)));
  ids.push(...(await t.end()));
  return ids;
}

for (const [name, g] of Object.entries(GOLDEN)) {
  test(`${name}: the prefix once, the folded document, the instruction and the assistant's turn, as text and token ids`, async () => {
    const task = SummarizeTaskSchema.parse(g.task);
    assert.equal(task.promptFormat, name);
    assert.equal(documentPrefix(task.promptFormat, task.system) + (name === 'raw' ? DOC : foldTurnText(DOC)), g.read);
    assert.deepEqual(await readIds(task, [Buffer.from(DOC)]), g.readIds);
    assert.deepEqual([...world.encodeSync(g.read)], g.readIds, 'the ids are those of the whole text encoded at once');
    // Byte by byte: folding and the prefix do not depend on how the document arrives.
    assert.deepEqual(
      await readIds(
        task,
        [...Buffer.from(DOC)].map((b) => Uint8Array.of(b)),
      ),
      g.readIds,
    );
    assert.equal(task.template, g.template);
    assert.deepEqual([...world.encodeSync(task.template)], g.templateIds);
    assert.deepEqual(task.stop, g.stop);
    // A stored task parses to itself, byte for byte: what a worker reads back is what was planned, and the same
    // job (or a duplicate delivery) is recognised by its JSON.
    assert.equal(JSON.stringify(SummarizeTaskSchema.parse(JSON.parse(JSON.stringify(task)))), JSON.stringify(task));
    const sectioned = SummarizeTaskSchema.parse({ ...g.task, sections: { every: 64 } });
    assert.equal(
      JSON.stringify(SummarizeTaskSchema.parse(JSON.parse(JSON.stringify(sectioned)))),
      JSON.stringify(sectioned),
    );
    const classify = ClassifyTaskSchema.parse({
      ...g.task,
      kind: 'classify',
      labels: ['a', 'b'],
      sections: { every: 64 },
    });
    assert.equal(
      JSON.stringify(ClassifyTaskSchema.parse(JSON.parse(JSON.stringify(classify)))),
      JSON.stringify(classify),
    );
  });
}

test('a long document through small tokenizer windows gives the ids of the whole folded text', async () => {
  const long = Array.from(
    { length: 300 },
    (_, i) => `Paragraph ${i}: the water was ${i % 5} feet higher.\n${i % 3 === 0 ? '\n\n' : ''}`,
  ).join('');
  const task = SummarizeTaskSchema.parse({ kind: 'summarize', promptFormat: 'world' });
  const pieces = Array.from({ length: Math.ceil(long.length / 97) }, (_, i) =>
    Buffer.from(long.slice(i * 97, (i + 1) * 97)),
  );
  const expected = [...world.encodeSync(`User: ${foldTurnText(long)}`)];
  assert.deepEqual(await readIds(task, pieces, 1024), expected);
  assert.ok(!foldTurnText(long).includes('\n\n'));
});

test('folding: blank lines (spaces, tabs, carriage returns) go, and whitespace at the end; indentation and single line breaks stay', () => {
  const cases: [string, string][] = [
    ['a\n\nb', 'a\nb'],
    ['\n\n  a\n \t\r\n\tb  \n\n', '  a\n\tb'],
    ['a\r\n\r\nb\r\n', 'a\r\nb'],
    ['only one\nline break', 'only one\nline break'],
    ['trailing  \t', 'trailing'],
    ['a \n\n b \n', 'a \n b'],
    ['   \n\n \n', ''],
  ];
  for (const [input, folded] of cases) {
    assert.equal(foldTurnText(input), folded, JSON.stringify(input));
    const f = new TurnFolder();
    const out = Buffer.concat([...Buffer.from(input)].map((b) => f.push(Uint8Array.of(b))));
    f.end();
    assert.equal(out.toString(), folded, `byte by byte: ${JSON.stringify(input)}`);
  }
});

test('folding holds back at most MAX_HELD_WHITESPACE bytes: a longer blank run is written out, and still no "\\n\\n"', () => {
  const run = ' '.repeat(MAX_HELD_WHITESPACE + 10);
  const input = `a\n\n${run}\n\nb${run}\nc${run}`;
  const f = new TurnFolder();
  const pieces = Array.from({ length: Math.ceil(input.length / 1000) }, (_, i) =>
    f.push(Buffer.from(input.slice(i * 1000, (i + 1) * 1000))),
  );
  f.end();
  const out = Buffer.concat(pieces).toString();
  assert.ok(!out.includes('\n\n'));
  assert.ok(
    pieces.every((p) => p.length <= 1000 + MAX_HELD_WHITESPACE + 1),
    'nothing is held beyond the limit',
  );
  assert.equal(out, `a\n${run}\nb${run}\nc${' '.repeat(MAX_HELD_WHITESPACE)}`);
  assert.equal(foldTurnText(input), out);
});

test("classify: the instruction lists the labels, and the labels are scored as the assistant's answer", () => {
  const g = ClassifyTaskSchema.parse({
    kind: 'classify',
    labels: ['flood', 'drought', 'storm'],
    promptFormat: 'rwkv7-g',
  });
  assert.equal(g.template, '\nAnswer with one of: flood, drought, storm\n\nAssistant: <think>\n</think>');
  assert.equal(g.labelPrefix, '\n');
  const w = ClassifyTaskSchema.parse({
    kind: 'classify',
    labels: ['flood', 'storm'],
    promptFormat: 'world',
    instruction: 'Which\n\nevent?',
  });
  assert.equal(w.template, '\nWhich\nevent?\n\nAssistant:');
  assert.equal(w.labelPrefix, ' ');
  const sectioned = ClassifyTaskSchema.parse({
    kind: 'classify',
    labels: ['flood', 'storm'],
    promptFormat: 'world',
    sections: { every: 64 },
  });
  assert.equal(sectioned.sections!.template, '\nAnswer with one of: flood, storm\n\nAssistant:');
  const asked = ClassifyTaskSchema.parse({
    kind: 'classify',
    labels: ['flood', 'storm'],
    promptFormat: 'world',
    sections: { every: 64, instruction: 'Which, so far?' },
  });
  assert.equal(asked.sections!.template, '\nWhich, so far?\n\nAssistant:');
  const raw = ClassifyTaskSchema.parse({ kind: 'classify', labels: ['a', 'b'] });
  assert.equal(raw.template, '\n\nCategory:');
  assert.equal(raw.labelPrefix, ' ');
});

test("sections and reduce: their own instructions in the same format, summaries folded inside the user's turn", () => {
  const task = SummarizeTaskSchema.parse({
    kind: 'summarize',
    promptFormat: 'rwkv7-g',
    system: 'Be brief.',
    sections: { every: 64 },
  });
  const s = task.sections!;
  assert.equal(
    s.template,
    '\nSummarize the last part of the text above in a few sentences.\n\nAssistant: <think>\n</think>',
  );
  assert.equal(
    s.reduce.prompt,
    'System: Be brief.\n\nUser: Here are summaries of consecutive sections of one document:\n',
  );
  assert.equal(
    s.reduce.template,
    'Summarize the whole document in a few sentences, using the section summaries above.\n\nAssistant: <think>\n</think>',
  );
  const fed = groupPrompt(['The river rose.\n\nIt rained.', 'The town waited.'], s.reduce, true) + s.reduce.template;
  assert.equal(
    fed,
    'System: Be brief.\n\nUser: Here are summaries of consecutive sections of one document:\n' +
      'Section 1: The river rose.\nIt rained.\nSection 2: The town waited.\n' +
      'Summarize the whole document in a few sentences, using the section summaries above.\n\nAssistant: <think>\n</think>',
  );
  assert.deepEqual(
    [...world.encodeSync(s.template)],
    [
      11, 6654, 8150, 7946, 22590, 31254, 31633, 4706, 22590, 32224, 37599, 4596, 332, 21674, 60476, 47, 261, 5585,
      41693, 59, 295, 35762, 63, 11, 754, 35762, 63,
    ],
  );
  assert.deepEqual(
    [...world.encodeSync(s.reduce.prompt)],
    [40812, 59, 3673, 37909, 47, 261, 24281, 59, 29059, 21286, 60591, 4706, 63387, 57178, 4706, 22226, 56037, 59, 11],
  );
  assert.deepEqual(
    [...world.encodeSync(s.reduce.template)],
    [
      6654, 8150, 7946, 22590, 40190, 56037, 4596, 332, 21674, 60476, 45, 40085, 22590, 52829, 60591, 37599, 47, 261,
      5585, 41693, 59, 295, 35762, 63, 11, 754, 35762, 63,
    ],
  );

  const raw = SummarizeTaskSchema.parse({ kind: 'summarize', sections: { every: 64 } });
  assert.equal(raw.sections!.template, '\n\nSummary:');
  assert.equal(raw.sections!.reduce.prompt, 'Summaries of consecutive sections of one document:\n\n');
  assert.equal(raw.sections!.reduce.template, '\n\nSummary of the whole document:');
  assert.equal(
    groupPrompt(['a\n\nb'], raw.sections!.reduce),
    'Summaries of consecutive sections of one document:\n\nSection 1: a\n\nb\n',
  );
});

test('think mode, system turns and instructions only where the format has them', () => {
  const think = SummarizeTaskSchema.parse({
    kind: 'summarize',
    promptFormat: 'rwkv7-g',
    think: true,
    instruction: 'What happened?',
  });
  assert.equal(think.template, '\nWhat happened?\n\nAssistant: <think');
  const refused: [DocumentTaskInput, RegExp][] = [
    [{ kind: 'summarize', promptFormat: 'world', think: true }, /no think mode/],
    [{ kind: 'summarize', promptFormat: 'raven', system: 'x' }, /no system turn/],
    [{ kind: 'summarize', instruction: 'x' }, /raw prompt format has no instruction/],
    [{ kind: 'classify', labels: ['a', 'b'], promptFormat: 'world', system: 'x' }, /no system turn/],
    [{ kind: 'summarize', sections: { every: 64, instruction: 'x' } }, /raw prompt format has no instruction/],
    [
      { kind: 'summarize', sections: { every: 64, reduce: { instruction: 'x' } } },
      /raw prompt format has no instruction/,
    ],
  ];
  for (const [input, message] of refused) {
    const parsed = (input.kind === 'summarize' ? SummarizeTaskSchema : ClassifyTaskSchema).safeParse(input);
    assert.equal(parsed.success, false);
    assert.match(parsed.error!.issues[0]!.message, message);
  }
});

test("official release file names choose their family's format; other names choose none", () => {
  const names: [string, string | undefined][] = [
    ['rwkv7-g1d-0.1b-20260129-ctx8192.pth', 'rwkv7-g'],
    ['/models/rwkv7-g1a-2.9b-20250924-ctx4096.pth', 'rwkv7-g'],
    ['rwkv7-g0a3-13.3b-20251031-ctx4096.st', 'rwkv7-g'],
    ['RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth', 'world'],
    ['RWKV-x060-World-1B6-v2.1-20240328-ctx4096.pth', 'world'],
    ['RWKV-5-World-1B5-v2-20231025-ctx4096.pth', 'world'],
    ['RWKV-4-World-0.1B-v1-20230520-ctx4096.pth', 'world'],
    ['RWKV-4-Raven-1B5-v12-Eng98%-Other2%-20230520-ctx4096.pth', 'raven'],
    ['RWKV-4-Pile-169M-20220807-8023.pth', 'raw'],
    ['tiny-rwkv7-834K-fp32.pth', undefined],
    ['my-finetune.pth', undefined],
  ];
  for (const [file, format] of names) assert.equal(formatFromFileName(file), format, file);
});

/** A model that writes `script` (greedy: each call's logits put the next scripted token first). */
function scriptedEngine(tokenizer: Tokenizer, script: number[]): Engine {
  let at = 0;
  const next = () => {
    const logits = new Float32Array(65536);
    logits[script[at++] ?? 0] = 10;
    return logits;
  };
  // Answers are generated on a resident state: the scripted model keeps none, so its slot is a no-op.
  const model = {
    info: { vocabSize: 65536 },
    forward: async () => next(),
    resident: () => ({ copyTo() {}, release() {} }),
    forwardResident: async (streams: unknown[]) => streams.map(() => next()),
  };
  return { model, tokenizer } as unknown as Engine;
}

test("stop rules: the end of the turn and the next turn's name end an answer; leading whitespace is not part of it", async () => {
  const cases: [DocumentTaskInput, string, string][] = [
    [
      { kind: 'summarize', promptFormat: 'rwkv7-g' },
      '\nThe river rose after the rain.\n\nUser: and then?',
      'The river rose after the rain.',
    ],
    [{ kind: 'summarize', promptFormat: 'world' }, ' It rained for days. User: thanks', 'It rained for days. '],
    [{ kind: 'summarize', promptFormat: 'raven' }, ' The town waited.\nBob: ok', 'The town waited.\n'],
    [{ kind: 'summarize' }, ' A flood.\n\nSummary: more', ' A flood.'],
  ];
  for (const [input, written, answer] of cases) {
    const task = SummarizeTaskSchema.parse({ ...input, maxTokens: 64 });
    const script = [...world.encodeSync(written)];
    const pieces: string[] = [];
    const out = await summarize(scriptedEngine(world, script), {} as never, task, (piece) => pieces.push(piece));
    assert.equal(out.text, answer, JSON.stringify(written));
    assert.equal(out.stopReason, 'stop');
    assert.equal(pieces.join(''), answer, 'the live text is the answer, nothing of a stop sequence');
  }
});

test('live text: pieces come while the answer is generated, and a multi-byte character is never split', async () => {
  const task = SummarizeTaskSchema.parse({ kind: 'summarize', promptFormat: 'world', maxTokens: 12 });
  const written = 'Der Fluss stieg, überall Wasser — 大水。';
  // One token per byte (the vocabulary's single-byte tokens), so characters straddle tokens.
  const byteToken = new Map<number, number>();
  for (let id = 1; id < world.info.vocabSize && byteToken.size < 256; id++) {
    const b = world.decodeBytes([id]);
    if (b.length === 1 && !byteToken.has(b[0]!)) byteToken.set(b[0]!, id);
  }
  const bytes = [...Buffer.from(written)].map((b) => byteToken.get(b)!);
  const pieces: string[] = [];
  const out = await summarize(
    scriptedEngine(world, bytes),
    {} as never,
    { ...task, maxTokens: bytes.length },
    (piece) => pieces.push(piece),
  );
  assert.equal(out.text, written);
  assert.equal(out.stopReason, 'max_tokens');
  assert.ok(pieces.length > 5, `streamed in ${pieces.length} pieces`);
  assert.equal(pieces.join(''), written);
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
});
