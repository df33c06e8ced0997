// How commands speak: results as JSON (or text) on stdout, diagnostics on stderr, and a non-zero exit with
// the error's code for anything that failed.
import { EngineError } from '../engine/errors.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export class UsageError extends Error {
  readonly code = 'E_USAGE';
}

export function reportError(err: unknown): never {
  const code = err instanceof EngineError || err instanceof UsageError ? err.code : (err as { code?: string })?.code;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`rwkvstream: ${code ? `${code}: ` : ''}${message}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
}

/** "1,2,3" -> [1, 2, 3]; refuses anything that is not a list of non-negative integers. */
export function parseIdList(text: string, what: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  const ids = parts.map(Number);
  if (parts.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0 || n > 0x7fffffff)) {
    throw new UsageError(`${what} must be a comma-separated list of non-negative integers, got "${text}"`);
  }
  return ids;
}

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
