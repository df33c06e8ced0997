// Settings of reading documents by reference over http(s): which servers a worker may fetch from, and how
// long, how much and how many at once. Nothing is allowed by default: a message must not be able to make a
// worker connect to whatever it names (an internal service, the cloud metadata address).
import { z } from 'zod';

const MiB = 1024 * 1024;

/**
 * `HOST[:PORT]`: a host name (`docs.example.com`), an IPv4 address, or a bracketed IPv6 address (`[fd00::1]`).
 * Without a port, the scheme's default port (80 for http, 443 for https).
 */
export const FetchAllowEntrySchema = z
  .string()
  .regex(
    /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
    {
      error: 'expected HOST or HOST:PORT (a host name, an IPv4 address or a bracketed IPv6 address)',
    },
  )
  .refine(
    (entry) => {
      const port = /:(\d{1,5})$/.exec(entry.replace(/^\[[^\]]*\]/, ''));
      return !port || (Number(port[1]) >= 1 && Number(port[1]) <= 65535);
    },
    { error: 'expected a port between 1 and 65535' },
  );

export const FetchSettingsSchema = z.strictObject({
  /** Servers http(s) references may be read from; empty: every http(s) reference is refused. */
  allow: z.array(FetchAllowEntrySchema).default([]),
  /** A whole fetch (connecting, redirects, the body) must end within this long, however steadily bytes arrive. */
  deadlineMs: z
    .number()
    .int()
    .min(100)
    .default(10 * 60_000),
  /** Bytes on the wire (before any decompression) a fetch may read; more fails the document. */
  maxBytes: z
    .number()
    .int()
    .min(1)
    .default(1024 * MiB),
  /** Redirects followed; each target is checked as the first URL was. */
  maxRedirects: z.number().int().min(0).max(20).default(5),
  /** Documents read by http(s) at once in one worker: their own pool, so slow servers do not hold up other planning. */
  pool: z.number().int().min(1).max(64).default(4),
});

export type FetchSettings = z.infer<typeof FetchSettingsSchema>;
export type FetchSettingsInput = z.input<typeof FetchSettingsSchema>;
