// rwkvstream.documents: one document, whole, in ordered parts, or by reference. Keyed by document id (parts of
// one document must share a partition to arrive in order).
import { z } from 'zod';

import { DocumentIdSchema } from './ids.ts';
import { DocumentTaskSchema } from './tasks.ts';

export const DOCUMENT_SCHEMA_V1 = 'rwkvstream.document.v1';

export const TextBodySchema = z.strictObject({
  kind: z.literal('text'),
  text: z.string(),
});

/**
 * One piece of a document bigger than a Kafka message. Parts are numbered from 0; the one with `final: true`
 * says how many there are. `base64` carries bytes that are not valid UTF-8 on their own.
 */
export const PartBodySchema = z
  .strictObject({
    kind: z.literal('part'),
    index: z.number().int().min(0).max(9_999_999),
    final: z.boolean(),
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
    data: z.string(),
  })
  .refine((p) => p.encoding !== 'base64' || z.base64().safeParse(p.data).success, {
    message: 'data is not valid base64',
    path: ['data'],
  });

export const RefBodySchema = z.strictObject({
  kind: z.literal('ref'),
  url: z.url({ protocol: /^(file|https?)$/, error: 'a reference is a file://, http:// or https:// URL' }),
});

export const DocumentBodySchema = z.discriminatedUnion('kind', [TextBodySchema, PartBodySchema, RefBodySchema]);

export const DocumentMessageSchema = z
  .strictObject({
    schema: z.literal(DOCUMENT_SCHEMA_V1),
    id: DocumentIdSchema,
    /** Required, except on the parts before the final one (the final part's task applies). */
    task: DocumentTaskSchema.optional(),
    body: DocumentBodySchema,
  })
  .superRefine((msg, ctx) => {
    const needsTask = msg.body.kind !== 'part' || msg.body.final;
    if (needsTask && msg.task === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['task'],
        message: 'task is required (on a parted document: on the final part)',
      });
    }
  });

export type TextBody = z.infer<typeof TextBodySchema>;
export type PartBody = z.infer<typeof PartBodySchema>;
export type RefBody = z.infer<typeof RefBodySchema>;
export type DocumentBody = z.infer<typeof DocumentBodySchema>;
export type DocumentMessage = z.infer<typeof DocumentMessageSchema>;
export type DocumentMessageInput = z.input<typeof DocumentMessageSchema>;
