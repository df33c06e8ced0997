// A child process that opens model files, tokenizers and state blobs through the engine API and says, one JSON
// line per case on stdout, whether each opened or was refused with a code. It runs apart from the suite so a
// crash (a signal) or a hang in native code is observed by the parent as what it is.
//
//   node --import tsx test/faults/model-probe.ts CASES.json
//
// CASES.json: [{"op":"load","model":F,"vocab"?:V,"initialState"?:S} | {"op":"model","model":F}
//   | {"op":"state","model":F,"vocab"?:V,"blob":B} | {"op":"write-state","model":F,"vocab"?:V,"out":B}
//   | {"op":"mutated","base":F,"out":F2,"edits":{...}}] (F2: F with the edits, written, opened and removed here,
//   so a long fuzz run needs the disk of one copy at a time)
// Each case prints {"case":i,"start":true} before it runs, then {"case":i,"ok":bool,"code"?,"message"?,"ms","maxRssKiB"}.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

import { Engine, EngineError, Model } from '../../engine/index.ts';

type ProbeCase =
  | { op: 'load'; model: string; vocab?: string; initialState?: string }
  | { op: 'model'; model: string }
  | { op: 'state'; model: string; vocab?: string; blob: string }
  | { op: 'write-state'; model: string; vocab?: string; out: string }
  | { op: 'mutated'; base: string; out: string; edits: FileEdits };

/** Edits of a copy of a file, applied in this order. */
export interface FileEdits {
  /** [offset, byte] pairs to write. */
  set?: [number, number][];
  /** [offset, length] to overwrite with zeros. */
  zero?: [number, number];
  /** [from, length, to]: copies bytes from one place to another. */
  copy?: [number, number, number];
  /** Keep only this many bytes. */
  truncate?: number;
}

const bases = new Map<string, Buffer>();

function mutate(base: string, edits: FileEdits): Buffer {
  let original = bases.get(base);
  if (!original) {
    original = readFileSync(base);
    bases.set(base, original);
  }
  let bytes = Buffer.from(original);
  for (const [at, value] of edits.set ?? []) if (at < bytes.length) bytes[at] = value;
  if (edits.zero) bytes.fill(0, edits.zero[0], Math.min(bytes.length, edits.zero[0] + edits.zero[1]));
  if (edits.copy)
    bytes.set(
      original
        .subarray(edits.copy[0], edits.copy[0] + edits.copy[1])
        .subarray(0, Math.max(0, bytes.length - edits.copy[2])),
      edits.copy[2],
    );
  if (edits.truncate !== undefined) bytes = bytes.subarray(0, edits.truncate);
  return bytes;
}

function engineOptions(c: { model: string; vocab?: string; initialState?: string }) {
  return {
    model: c.model,
    threads: 1,
    ...(c.vocab ? { vocab: c.vocab } : {}),
    ...(c.initialState ? { initialState: c.initialState } : {}),
  };
}

async function runCase(c: ProbeCase): Promise<string> {
  switch (c.op) {
    case 'model': {
      const model = await Model.load({ model: c.model, threads: 1 });
      const detail = `${model.info.version} ${model.info.nLayer}x${model.info.nEmbd}`;
      model.dispose();
      return detail;
    }
    case 'load': {
      const engine = await Engine.load(engineOptions(c));
      const detail = `${engine.model.info.version} with ${engine.tokenizer.info.kind}`;
      engine.dispose();
      return detail;
    }
    case 'state': {
      const engine = await Engine.load(engineOptions(c));
      try {
        const state = engine.stateFromBuffer(readFileSync(c.blob));
        return `state of ${state.tokens} tokens`;
      } finally {
        engine.dispose();
      }
    }
    case 'mutated': {
      writeFileSync(c.out, mutate(c.base, c.edits));
      try {
        const model = await Model.load({ model: c.out, threads: 1 });
        const detail = `${model.info.version} ${model.info.nLayer}x${model.info.nEmbd} vocab ${model.info.vocabSize}`;
        model.dispose();
        return detail;
      } finally {
        rmSync(c.out, { force: true });
      }
    }
    case 'write-state': {
      const engine = await Engine.load(engineOptions(c));
      try {
        const state = engine.model.newState();
        await engine.model.forward(engine.tokenizer.encodeSync('A state blob for the fault suite.'), state, 'none');
        writeFileSync(c.out, engine.stateToBuffer(state));
        return `wrote ${c.out}`;
      } finally {
        engine.dispose();
      }
    }
  }
}

const cases = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ProbeCase[];
const out = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
for (const [i, c] of cases.entries()) {
  out({ case: i, start: true });
  const started = performance.now();
  let line: Record<string, unknown>;
  try {
    line = { ok: true, detail: await runCase(c) };
  } catch (err) {
    // Only the engine's coded errors count as refusals; anything else is reported as uncoded.
    line =
      err instanceof EngineError
        ? { ok: false, code: err.code, message: err.message }
        : { ok: false, uncoded: true, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  out({ case: i, ...line, ms: Math.round(performance.now() - started), maxRssKiB: process.resourceUsage().maxRSS });
}
