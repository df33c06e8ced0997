// rwkvstream.events: one event (a log line, a transaction, ...) of an endless stream, keyed by stream id so a
// stream's events stay in one partition, in order.
import { z } from 'zod';

import { StreamIdSchema } from './ids.ts';

export const EVENT_SCHEMA_V1 = 'rwkvstream.event.v1';

export const EventMessageSchema = z.strictObject({
  schema: z.literal(EVENT_SCHEMA_V1),
  stream: StreamIdSchema,
  text: z.string().min(1, 'an event has text'),
  /** The producer's own id for the event, echoed in its score. */
  id: z.string().min(1).max(200).optional(),
});

/** An accepted event waiting in its stream's log: where it came from and when it was taken in. */
export const StoredEventSchema = z.strictObject({
  seq: z.number().int().positive(),
  text: z.string(),
  id: z.string().optional(),
  topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  receivedAt: z.number().int(),
});

export type EventMessage = z.infer<typeof EventMessageSchema>;
export type EventMessageInput = z.input<typeof EventMessageSchema>;
export type StoredEvent = z.infer<typeof StoredEventSchema>;
