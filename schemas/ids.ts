// Identifiers of documents and event streams. They become parts of Redis keys (inside {hash tags}), BullMQ job
// ids and Kafka keys, so the alphabet excludes ':' (BullMQ refuses it in custom ids), braces (they would break
// the hash tag that keeps one document's keys in one cluster slot), whitespace and control characters.
import { z } from 'zod';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+/=-]{0,199}$/;
const ID_HINT = '1-200 characters: letters, digits and . _ @ + / = - (starting with a letter or digit)';

export const DocumentIdSchema = z.string().regex(ID_PATTERN, `a document id has ${ID_HINT}`);
export const StreamIdSchema = z.string().regex(ID_PATTERN, `a stream id has ${ID_HINT}`);

export type DocumentId = z.infer<typeof DocumentIdSchema>;
export type StreamId = z.infer<typeof StreamIdSchema>;

/** Which reading of a document id a job belongs to, once the id was read again after a failure (hex). */
export const ChainSchema = z.string().regex(/^[0-9a-f]{1,32}$/, { error: 'expected a hex chain id' });
