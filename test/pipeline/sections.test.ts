// The section boundary finder: natural break kinds and their order, the window around each K mark, ties,
// exact mode, and that the sections cover a document with no gap or overlap (pure functions, byte tokens).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SummarizeTaskSchema, ClassifyTaskSchema, DocumentTaskSchema } from '../../schemas/tasks.ts';
import {
  boundariesReaching,
  boundarySpan,
  breakKind,
  findBoundary,
  planSections,
  sectionCount,
  type SectionLayout,
} from '../../pipelines/sections.ts';

/** A byte-level vocabulary: token id = byte. */
const ids = (text: string) => Int32Array.from(Buffer.from(text, 'utf8'));
const bytes = (id: number) => Uint8Array.of(id);
const natural = (every: number, slack: number): SectionLayout => ({ every, slack, boundaries: 'natural' });
const b = (text: string) => Buffer.from(text, 'utf8');

/** The single inner boundary (k = 1) of `text` with K = `every`. */
function first(text: string, every: number, slack: number) {
  const t = ids(text);
  return findBoundary(1, natural(every, slack), t.length, { offset: 0, ids: t }, bytes);
}

test('break kinds: heading, blank line (CR ignored), line, sentence with and without a closer, none', () => {
  assert.equal(breakKind(b('end.\n'), b('# Title')), 'heading');
  assert.equal(breakKind(b('end.\n\n'), b('# Title')), 'heading', 'a heading after a blank line is a heading');
  assert.equal(breakKind(b('end.\n\n'), b('Next')), 'blank-line');
  assert.equal(breakKind(b('end.\r\n\r\n'), b('Next')), 'blank-line');
  assert.equal(breakKind(b('end.\n\r\n'), b('Next')), 'blank-line');
  assert.equal(breakKind(b('end.\r\n'), b('Next')), 'line');
  assert.equal(breakKind(b('one line\n'), b('two')), 'line');
  assert.equal(breakKind(b('It ended.'), b(' Then')), 'sentence');
  assert.equal(breakKind(b('Really?'), b('\tThen')), 'sentence');
  assert.equal(breakKind(b('He said "stop!"'), b(' Then')), 'sentence');
  assert.equal(breakKind(b('(as shown.)'), b(' Then')), 'sentence');
  assert.equal(breakKind(b('Il a dit «non.»'), b(' Puis')), 'sentence');
  assert.equal(breakKind(b('She said “yes.”'), b(' Then')), 'sentence');
  assert.equal(breakKind(b('It ended.'), b('Then')), null, 'a sentence break needs whitespace after it');
  assert.equal(breakKind(b('version 1.'), b('5')), null);
  assert.equal(breakKind(b('words'), b(' more')), null);
  assert.equal(breakKind(b('# not a heading'), b('#')), null, 'a # is a heading only after a newline');
});

test('the best kind in the window wins over a closer position of a lesser kind', () => {
  //                 0         1         2         3
  //                 0123456789012345678901234567890123456789
  const text = 'aaaa. bbbbbbb\ncccccc. dd\n\neeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee';
  // K = 20, slack = 8: window [12, 28]. Candidates: line at 14, sentence at 21, blank-line at 26.
  assert.deepEqual(first(text, 20, 8), { position: 26, kind: 'blank-line' });
  // slack 6: window [14, 26] still holds the blank line.
  assert.deepEqual(first(text, 20, 6), { position: 26, kind: 'blank-line' });
  // slack 5: window [15, 25]: the "\n" at 24 ends a line ("dd\n" then "\n"): a line at 25 beats the sentence.
  assert.deepEqual(first(text, 20, 5), { position: 25, kind: 'line' });
  // slack 3: window [17, 23]: only the sentence at 21.
  assert.deepEqual(first(text, 20, 3), { position: 21, kind: 'sentence' });
  // slack 0: the target itself.
  assert.deepEqual(first(text, 20, 0), { position: 20, kind: 'exact' });
});

test('a heading beats a blank line, and within one kind the closest position wins, then the earlier', () => {
  const heading = 'x'.repeat(10) + '\n\n' + 'y'.repeat(10) + '\n# H' + 'z'.repeat(30);
  // target 16, slack 8: blank-line at 12, heading at 23.
  assert.deepEqual(first(heading, 16, 7), { position: 23, kind: 'heading' });
  // Two lines, at 14 and 26, target 20: equally far, the earlier wins.
  const tie = 'a'.repeat(13) + '\n' + 'b'.repeat(11) + '\n' + 'c'.repeat(30);
  assert.deepEqual(first(tie, 20, 8), { position: 14, kind: 'line' });
  // Lines at 14 and 25: 25 is closer.
  const closer = 'a'.repeat(13) + '\n' + 'b'.repeat(10) + '\n' + 'c'.repeat(30);
  assert.deepEqual(first(closer, 20, 8), { position: 25, kind: 'line' });
});

test('a break outside the window is not taken, and the window stops before the last token', () => {
  const text = 'a'.repeat(9) + '\n' + 'b'.repeat(30);
  // the line break is at position 10; target 20, slack 9: window [11, 29]
  assert.deepEqual(first(text, 20, 9), { position: 20, kind: 'exact' });
  // 21 tokens, K 16, slack 7: window [9, 20] (clipped at tokens − 1 = 20); the break at 20 counts.
  const end = 'a'.repeat(19) + '\nz';
  assert.deepEqual(first(end, 16, 7), { position: 20, kind: 'line' });
  assert.deepEqual(boundarySpan(1, natural(16, 7), 21), { from: 1, to: 21 });
});

test('exact mode puts every boundary at a multiple of K, whatever the text', () => {
  const text = 'Line one.\n\n# Heading\n'.repeat(20);
  const layout: SectionLayout = { every: 32, slack: 10, boundaries: 'exact' };
  const sections = planSections(ids(text), layout, bytes);
  assert.equal(sections.length, Math.floor((text.length - 1) / 32) + 1);
  sections
    .slice(0, -1)
    .forEach((s, i) => assert.deepEqual([s.start, s.end, s.boundary], [i * 32, (i + 1) * 32, 'exact']));
  assert.equal(sections.at(-1)!.boundary, 'end');
  assert.equal(sections.at(-1)!.end, text.length);
});

test('sections cover the document with no gap or overlap: m + 1 of them, strictly increasing', () => {
  const paragraph = (i: number) => `Paragraph ${i} talks about things. It has two sentences!\nAnd a line.\n\n`;
  const text = Array.from({ length: 40 }, (_, i) => (i % 7 === 0 ? `# Part ${i}\n` : '') + paragraph(i)).join('');
  const t = ids(text);
  for (const every of [16, 33, 100, 257, t.length - 1, t.length, t.length + 5]) {
    for (const slack of [0, 1, Math.floor(every / 8), Math.ceil(every / 2) - 1]) {
      const sections = planSections(t, natural(every, slack), bytes);
      const m = Math.floor((t.length - 1) / every);
      assert.equal(sections.length, m + 1, `every ${every} slack ${slack}`);
      assert.equal(sections[0]!.start, 0);
      assert.equal(sections.at(-1)!.end, t.length);
      assert.equal(sections.at(-1)!.boundary, 'end');
      sections.forEach((s, i) => {
        assert.equal(s.index, i);
        assert.ok(s.end > s.start, `section ${i} is not empty`);
        if (i > 0) assert.equal(s.start, sections[i - 1]!.end, 'no gap, no overlap');
        if (i < m) assert.ok(Math.abs(s.end - (i + 1) * every) <= slack, `boundary ${i + 1} within the slack`);
      });
    }
  }
});

test('a boundary chosen from only the tokens around it equals the one chosen from the whole document', () => {
  const text = Array.from(
    { length: 30 },
    (_, i) => `Sentence number ${i} ends here. ${i % 3 === 0 ? '\n' : ''}${i % 5 === 0 ? '\n' : ''}`,
  ).join('');
  const t = ids(text);
  const layout = natural(50, 12);
  const whole = planSections(t, layout, bytes);
  for (let k = 1; k < whole.length; k++) {
    const need = boundarySpan(k, layout, t.length);
    const local = findBoundary(k, layout, t.length, { offset: need.from, ids: t.slice(need.from, need.to) }, bytes);
    assert.deepEqual(local, { position: whole[k - 1]!.end, kind: whole[k - 1]!.boundary });
  }
  assert.throws(() => findBoundary(2, layout, t.length, { offset: 90, ids: t.slice(90, 100) }, bytes), RangeError);
});

test('the boundaries that may fall in a chunk are those whose windows reach into it', () => {
  const layout = natural(100, 10);
  // 1000 tokens: m = 9 inner boundaries; a chunk [180, 300) is reached by the windows of t = 200 and 300 only
  // (the window of 100 ends at 110; the one of 300 starts at 290 ≤ 300).
  assert.deepEqual(boundariesReaching(180, 300, layout, 1000), [2, 3]);
  assert.deepEqual(boundariesReaching(0, 89, layout, 1000), []);
  assert.deepEqual(boundariesReaching(0, 90, layout, 1000), [1]);
  assert.deepEqual(boundariesReaching(110, 189, layout, 1000), []);
  assert.deepEqual(boundariesReaching(109, 189, layout, 1000), [1]);
  // the last chunk also holds the document's end (boundary m + 1)
  assert.deepEqual(boundariesReaching(950, 1000, layout, 1000), [10]);
  assert.deepEqual(boundariesReaching(880, 1000, layout, 1000), [9, 10]);
  assert.deepEqual(boundariesReaching(180, 300, { ...layout, boundaries: 'exact' }, 1000), [2, 3]);
  assert.deepEqual(boundariesReaching(180, 299, { ...layout, boundaries: 'exact' }, 1000), [2]);
});

test('tiny documents: one section, or K + 1 tokens for two', () => {
  assert.equal(sectionCount(1, 16), 1);
  assert.equal(sectionCount(16, 16), 1);
  assert.equal(sectionCount(17, 16), 2);
  assert.throws(() => sectionCount(0, 16), RangeError);
  assert.deepEqual(planSections(ids('x'), natural(16, 2), bytes), [{ index: 0, start: 0, end: 1, boundary: 'end' }]);
  assert.deepEqual(planSections(ids('a'.repeat(17)), natural(16, 2), bytes), [
    { index: 0, start: 0, end: 16, boundary: 'exact' },
    { index: 1, start: 16, end: 17, boundary: 'end' },
  ]);
});

test('the parsed task has every section option filled in; slack must stay below half of every', () => {
  const s = SummarizeTaskSchema.parse({
    kind: 'summarize',
    template: '\nTL;DR:',
    maxTokens: 50,
    sections: { every: 1000 },
  });
  assert.deepEqual(s.sections, {
    every: 1000,
    slack: 125,
    boundaries: 'natural',
    final: 'sections',
    template: '\nTL;DR:',
    maxTokens: 50,
    reduce: {
      fanIn: 32,
      prompt: 'Summaries of consecutive sections of one document:\n\n',
      entry: 'Section {n}: {text}\n',
      template: '\n\nSummary of the whole document:',
    },
  });
  // a stored task parses to itself (it replays the same way)
  assert.deepEqual(DocumentTaskSchema.parse(JSON.parse(JSON.stringify(s))), s);
  const c = ClassifyTaskSchema.parse({
    kind: 'classify',
    labels: ['a', 'b'],
    sections: { every: 64, final: 'both', template: '\nTopic:' },
  });
  assert.deepEqual(c.sections, { every: 64, slack: 8, boundaries: 'natural', final: 'both', template: '\nTopic:' });
  assert.equal('sections' in SummarizeTaskSchema.parse({ kind: 'summarize' }), false, 'no sections: no key at all');

  const refused = (input: unknown) => {
    const r = DocumentTaskSchema.safeParse(input);
    assert.equal(r.success, false);
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.match(
    refused({ kind: 'summarize', sections: { every: 100, slack: 50 } }),
    /sections\.slack: .*less than half.*at most 49, got 50/,
  );
  assert.doesNotThrow(() => DocumentTaskSchema.parse({ kind: 'summarize', sections: { every: 100, slack: 49 } }));
  assert.match(refused({ kind: 'summarize', sections: { every: 15 } }), /at least 16/);
  assert.match(refused({ kind: 'summarize', sections: { every: 16_777_217 } }), /at most 16,777,216/);
  assert.match(refused({ kind: 'summarize', sections: { every: 64, reduce: { fanIn: 1 } } }), /fanIn is at least 2/);
  assert.match(
    refused({ kind: 'summarize', sections: { every: 64, reduce: { entry: 'Section {n}' } } }),
    /must contain \{text\}/,
  );
  assert.match(refused({ kind: 'classify', labels: ['a', 'b'], sections: { every: 64, maxTokens: 3 } }), /maxTokens/);
  assert.match(refused({ kind: 'summarize', sections: { every: 64, boundaries: 'paragraph' } }), /boundaries/);
});
