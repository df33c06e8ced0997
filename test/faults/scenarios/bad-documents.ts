// Documents that are not usable text, or cannot be read, sent between good documents: empty, only whitespace,
// invalid UTF-8 (in a text part, a base64 part, a referenced file, an http body), references that 404 or are
// unreadable, and (full run) a 10,000,000-token document against a 4,000,000-token limit. Each is refused with
// its code and a reason; the good documents come out byte-identical to their references.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { DOCUMENT_SCHEMA_V1 } from '../../../schemas/documents.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import {
  awaitRefusals,
  codeSummary,
  deadLetters,
  letterFor,
  rawProducer,
  type BadRecord,
  type SentRecord,
} from '../refusal-check.ts';
import type { Scenario } from '../scenario.ts';

const TOKEN_LIMIT = 4_000_000;
const HUGE_TOKENS = 10_000_000;
const summarize = { kind: 'summarize', maxTokens: 8 };

const message = (id: string, body: unknown, task: unknown = summarize) =>
  JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id, ...(task ? { task } : {}), body });
const part = (index: number, final: boolean, bytes: Buffer) => ({
  kind: 'part',
  index,
  final,
  encoding: 'base64',
  data: bytes.toString('base64'),
});

interface DocumentCase extends BadRecord {
  /** Records sent (same key) before the one that completes the document. */
  before?: string[];
}

/** Bytes that are text up to `at`, then a byte that cannot start a UTF-8 character. */
function invalidAt(at: number): Buffer {
  const bytes = Buffer.alloc(at + 20, 'abc ');
  bytes[at] = 0xff;
  return bytes;
}

function cases(root: string, baseUrl: string, full: boolean): DocumentCase[] {
  const ingest = (name: string, id: string, value: string | Buffer, code: string, reason: RegExp): DocumentCase => ({
    name,
    topic: 'documents',
    key: id,
    value,
    code,
    reason,
    stage: 'ingest',
  });
  const plan = (
    name: string,
    id: string,
    value: string,
    code: string,
    reason: RegExp,
    before?: string[],
  ): DocumentCase => ({
    name,
    topic: 'documents',
    key: id,
    value,
    code,
    reason,
    stage: 'plan',
    subject: id,
    ...(before ? { before } : {}),
  });
  const file = (name: string, bytes: Buffer) => {
    writeFileSync(path.join(root, name), bytes);
    return pathToFileURL(path.join(root, name)).href;
  };
  mkdirSync(path.join(root, 'a-directory'));
  writeFileSync(path.resolve(root, '..', 'outside.txt'), 'Readable text, but not under the file root.\n');
  // A text part whose record carries a raw 0xff inside the JSON string: the record itself is not UTF-8.
  const rawTextPart = Buffer.from(
    message('bad-text-part', { kind: 'part', index: 0, final: true, encoding: 'utf8', data: 'text #' }),
  );
  const hash = rawTextPart.indexOf('#');
  rawTextPart[hash] = 0xff;
  const list: DocumentCase[] = [
    ingest('empty text', 'empty', message('empty', { kind: 'text', text: '' }), 'E_EMPTY_DOCUMENT', /empty/),
    ingest(
      'only whitespace, as text',
      'blank',
      message('blank', { kind: 'text', text: '  \n\t \r\n  ' }),
      'E_EMPTY_DOCUMENT',
      /only whitespace/,
    ),
    plan(
      'only whitespace, in parts',
      'blank-parts',
      message('blank-parts', part(1, true, Buffer.from('\n\n\t '))),
      'E_EMPTY_DOCUMENT',
      /blank-parts has only whitespace/,
      [message('blank-parts', part(0, false, Buffer.from('    ')), null)],
    ),
    plan(
      'only whitespace, by reference',
      'blank-file',
      message('blank-file', { kind: 'ref', url: file('blank.txt', Buffer.from(' \n'.repeat(500))) }),
      'E_EMPTY_DOCUMENT',
      /only whitespace/,
    ),
    ingest(
      'invalid UTF-8 in a text part',
      'bad-text-part',
      rawTextPart,
      'E_ENCODING',
      new RegExp(`byte 0xff at byte offset ${hash}\\b`),
    ),
    plan(
      'invalid UTF-8 in a base64 part',
      'bad-base64',
      message('bad-base64', part(1, true, invalidAt(7))),
      'E_ENCODING',
      /byte 0xff at byte offset 107\b/,
      [message('bad-base64', part(0, false, Buffer.alloc(100, 'x')), null)],
    ),
    plan(
      'invalid UTF-8 in a referenced file',
      'bad-file',
      message('bad-file', { kind: 'ref', url: file('binary.txt', invalidAt(5000)) }),
      'E_ENCODING',
      /byte 0xff at byte offset 5000\b/,
    ),
    plan(
      'invalid UTF-8 in an http body',
      'bad-http',
      message('bad-http', { kind: 'ref', url: `${baseUrl}/binary.txt` }),
      'E_ENCODING',
      /byte 0xff at byte offset 300\b/,
    ),
    plan(
      'an http reference that 404s',
      'http-404',
      message('http-404', { kind: 'ref', url: `${baseUrl}/missing.txt` }),
      'E_REF_STATUS',
      /404/,
    ),
    plan(
      'a file:// outside --file-root',
      'outside',
      message('outside', { kind: 'ref', url: pathToFileURL(path.resolve(root, '..', 'outside.txt')).href }),
      'E_REF_FORBIDDEN',
      /outside the directories/,
    ),
    plan(
      'a missing file',
      'missing',
      message('missing', { kind: 'ref', url: pathToFileURL(path.join(root, 'no-such.txt')).href }),
      'E_REF_NOT_FOUND',
      /no-such\.txt.*(ENOENT|no such file)/,
    ),
    plan(
      'a directory',
      'directory',
      message('directory', { kind: 'ref', url: pathToFileURL(path.join(root, 'a-directory')).href }),
      'E_REF_NOT_FOUND',
      /a-directory.*EISDIR/,
    ),
  ];
  if (full) {
    // One token per byte on the tiny model's byte tokenizer.
    const line = Buffer.from('The river keeps its pace and the boats go by.\n');
    const huge = Buffer.alloc(HUGE_TOKENS, line);
    list.push(
      plan(
        `a ${HUGE_TOKENS.toLocaleString('en')}-token document`,
        'huge',
        message('huge', { kind: 'ref', url: file('huge.txt', huge) }),
        'E_TOO_LARGE',
        new RegExp(`more than the limit of ${TOKEN_LIMIT} tokens`),
      ),
    );
  }
  return list;
}

/** Peak resident memory of a process (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024);
}

export const badDocuments: Scenario = {
  name: 'bad-documents',
  category: 'bad input',
  quick: true,
  async run(ctx, report) {
    const root = path.join(ctx.tmp, 'root');
    mkdirSync(root);
    const binary = invalidAt(300);
    const server = http.createServer((req, res) => {
      if (req.url === '/binary.txt') return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end(binary);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const bad = cases(root, baseUrl, !ctx.quick);
      const good = mixedDocuments(ctx.quick ? 2 : 4, 3, 'good');
      const brokers = await ctx.brokers();
      const options = {
        brokers,
        redisUrl: ctx.redisUrl,
        name: 'bad-documents',
        chunkTokens: 128,
        workerArgs: [
          '--file-root',
          root,
          '--max-document-tokens',
          String(TOKEN_LIMIT),
          '--fetch-allow',
          new URL(baseUrl).host,
        ],
      };
      await Cluster.open(options, async (cluster) => {
        const worker = await cluster.spawn('bad-documents-worker');
        const idleRss = peakRssMiB(worker.pid);
        const producer = await rawProducer(brokers);
        const sent: SentRecord[] = [];
        const sentAt: number[] = [];
        try {
          await cluster.submit(good.slice(0, good.length / 2));
          for (const b of bad) {
            for (const value of b.before ?? []) await producer.send(cluster.topics.documents, b.key, value);
            sentAt.push(Date.now());
            sent.push(await producer.send(cluster.topics.documents, b.key, b.value));
          }
          await cluster.submit(good.slice(good.length / 2));
        } finally {
          await producer.close();
        }
        const problems = await awaitRefusals(cluster, bad, sent, ctx.quick ? 90_000 : 300_000);
        const settled = await cluster.settled(good, 120_000);
        const verdict = await cluster.verify(good);
        const letters = deadLetters(cluster);
        const refused = settled && verdict.lost === 0 ? problems.filter((p) => p === null).length : 0;
        const failures = [
          ...problems.flatMap((p, i) => (p === null ? [] : [`${bad[i]!.name}: ${p}`])),
          ...verdict.problems,
        ];

        let hugeNote = '';
        const hugeAt = bad.findIndex((b) => b.subject === 'huge');
        if (hugeAt >= 0) {
          const letter = letterFor(letters, bad[hugeAt]!, sent[hugeAt]!);
          // The collector timestamps nothing, so the refusal time is bounded by when the letter was seen (polled every 200 ms).
          const failedAt = letter ? Date.parse(letter.failedAt) : NaN;
          hugeNote = `; ${HUGE_TOKENS / 1e6}M-token document refused in ${((failedAt - sentAt[hugeAt]!) / 1000).toFixed(1)} s, worker peak RSS ${peakRssMiB(worker.pid)} MiB (${idleRss} MiB when ready)`;
        }
        const example = letterFor(
          letters,
          bad.find((b) => b.name === 'invalid UTF-8 in a referenced file')!,
          sent[bad.findIndex((b) => b.name === 'invalid UTF-8 in a referenced file')]!,
        );
        ctx.log(`${refused}/${bad.length} refused; good ${verdict.identical}/${good.length} identical${hugeNote}`);
        report({
          category: 'bad input',
          name: 'bad documents beside good ones',
          tries: bad.length + good.length,
          identical: verdict.identical,
          refused,
          lost: bad.length + good.length - verdict.identical - refused,
          note:
            failures.length > 0
              ? failures.slice(0, 3).join('; ')
              : `${codeSummary(bad)}; e.g. ${example?.code}: '${example?.reason.slice(0, 90)}'${hugeNote}; ${good.length} good documents identical`,
        });
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  },
};
