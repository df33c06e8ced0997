// ResultSink into a file of the job's directory (published.jsonl, one result per line): what a job delivers,
// kept until the command has printed it. The pipelines publish at least once (a step redone after a crash
// publishes again), so a result already in the file — same kind, id and batch (or section) — is not added
// twice, the way consumers of the results topic deduplicate. A line cut short by a kill is dropped when the
// file is opened.
import { truncate } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

import type { ResultSink } from '../../../pipelines/ports.ts';
import { appendDurably, nodeFileOps, readOptional, type FileOps } from './atomic-file.ts';
import { damagedFile, writeFailed } from './errors.ts';
import { readLines } from './lines.ts';

const IdentitySchema = z.object({
  kind: z.string(),
  id: z.string(),
  batch: z.number().optional(),
  section: z.number().optional(),
});

/** "kind/id/batch" (a stream's batch, a document's section) of a result, or null for text that is not one. */
function identity(json: string): string | null {
  return parse(json)?.identity ?? null;
}

function parse(json: string): { identity: string; value: unknown } | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  const parsed = IdentitySchema.safeParse(value);
  return parsed.success
    ? { identity: `${parsed.data.kind}/${parsed.data.id}/${parsed.data.batch ?? parsed.data.section ?? ''}`, value }
    : null;
}

/** One line of the file: a result written over several lines (JSON allows it) is written compact instead. */
function oneLine(json: string, value: unknown): string {
  return /[\r\n]/.test(json) ? JSON.stringify(value) : json;
}

export class FileResultSink implements ResultSink {
  readonly file: string;
  readonly #ops: FileOps;
  readonly #seen: Set<string>;

  private constructor(file: string, ops: FileOps, seen: Set<string>) {
    this.file = file;
    this.#ops = ops;
    this.#seen = seen;
  }

  static async open(dir: string, ops: FileOps = nodeFileOps): Promise<FileResultSink> {
    const file = path.join(dir, 'published.jsonl');
    const bytes = await readOptional(file);
    const seen = new Set<string>();
    if (bytes !== null && bytes.length > 0) {
      const complete = bytes.lastIndexOf(0x0a) + 1;
      if (complete < bytes.length) {
        try {
          await truncate(file, complete);
        } catch (err) {
          throw writeFailed(file, err);
        }
      }
      for await (const line of readLines(file)) {
        const id = identity(line.bytes.toString('utf8'));
        if (id === null) throw damagedFile(file, `line ${line.number} is not a result`);
        seen.add(id);
      }
    }
    return new FileResultSink(file, ops, seen);
  }

  async publish(_key: string, json: string): Promise<void> {
    const parsed = parse(json);
    if (parsed === null) throw new TypeError(`a result to publish is not a result: ${json.slice(0, 80)}`);
    if (this.#seen.has(parsed.identity)) return;
    await appendDurably(this.#ops, this.file, `${oneLine(json, parsed.value)}\n`);
    this.#seen.add(parsed.identity);
  }

  /** The results delivered, in order. */
  async *results(): AsyncGenerator<string> {
    if (this.#seen.size === 0) return;
    for await (const line of readLines(this.file)) yield line.bytes.toString('utf8');
  }
}
