// Documents by http reference that try to make a worker reach what it must not: loopback, the link-local
// metadata address, a name that resolves to loopback, redirects into the worker's own network, and servers
// that drip a byte at a time. The worker allows one loopback server by its exact address and port (as an
// operator would to serve documents from the same machine) and a name that resolves inward. Each attack is
// refused with E_REF_FORBIDDEN before any connection to the internal server (it counts requests: any is a
// loss); the drips end at the total deadline, in the fetch lane, while good documents beside them finish.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { DOCUMENT_SCHEMA_V1 } from '../../../schemas/documents.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import { awaitRefusals, codeSummary, rawProducer, type BadRecord, type SentRecord } from '../refusal-check.ts';
import type { Scenario } from '../scenario.ts';

const summarize = { kind: 'summarize', maxTokens: 8 };
const DEADLINE_MS = 3000;

const message = (id: string, url: string) =>
  JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id, task: summarize, body: { kind: 'ref', url } });

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export const fetchRefusals: Scenario = {
  name: 'fetch-refusals',
  category: 'bad input',
  quick: true,
  async run(ctx, report) {
    let internalRequests = 0;
    const internal = await listen((_req, res) => {
      internalRequests++;
      res.writeHead(200).end('internal secret\n');
    });
    const drips = new Set<NodeJS.Timeout>();
    const allowed = await listen((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/redirect') return void res.writeHead(302, { location: url.searchParams.get('to')! }).end();
      if (url.pathname === '/drip') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('a '), 100);
        drips.add(timer);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(404).end();
    });
    const base = `http://127.0.0.1:${allowed.port}`;
    const secret = `http://127.0.0.1:${internal.port}/secret`;
    const hop = (to: string) => `${base}/redirect?to=${encodeURIComponent(to)}`;
    const slow = ctx.quick ? 5 : 9;
    const plan = (
      name: string,
      id: string,
      url: string,
      code = 'E_REF_FORBIDDEN',
      reason = /not a server this worker may fetch from/,
    ): BadRecord => ({
      name,
      topic: 'documents',
      key: id,
      value: message(id, url),
      code,
      reason,
      stage: 'plan',
      subject: id,
    });
    const bad: BadRecord[] = [
      plan('loopback, not allowed', 'to-loopback', secret),
      plan('link-local metadata address', 'to-metadata', 'http://169.254.169.254/latest/meta-data/'),
      plan('IPv6 loopback', 'to-ipv6-loopback', `http://[::1]:${internal.port}/secret`),
      plan(
        'an allowed name resolving to loopback (DNS to private)',
        'dns-to-private',
        `http://localhost:${internal.port}/secret`,
      ),
      plan('redirect to loopback', 'redirect-to-loopback', hop(secret)),
      plan('redirect to the metadata address', 'redirect-to-metadata', hop('http://169.254.169.254/latest/meta-data/')),
      plan(
        'redirect to a name resolving to loopback',
        'redirect-to-private-name',
        hop(`http://localhost:${internal.port}/secret`),
      ),
      ...Array.from({ length: slow }, (_, i) =>
        plan(`slow server ${i}`, `slow-${i}`, `${base}/drip?n=${i}`, 'E_REF_TIMEOUT', /within the fetch deadline/),
      ),
    ];
    const good = mixedDocuments(ctx.quick ? 2 : 4, 3, 'good');
    try {
      const brokers = await ctx.brokers();
      const options = {
        brokers,
        redisUrl: ctx.redisUrl,
        name: 'fetch-refusals',
        chunkTokens: 128,
        workerArgs: ['--fetch-allow', `127.0.0.1:${allowed.port},localhost:${internal.port}`],
        // Through the environment, as an operator would set it.
        env: { RWKVSTREAM_FETCH_DEADLINE_MS: String(DEADLINE_MS) },
      };
      await Cluster.open(options, async (cluster) => {
        await cluster.spawn('fetch-refusals-worker');
        const producer = await rawProducer(brokers);
        const sent: SentRecord[] = [];
        let sentGood = 0;
        try {
          // The slow ones first, so they hold every fetch slot while the rest arrives.
          for (const b of [...bad].reverse())
            sent.unshift(await producer.send(cluster.topics.documents, b.key, b.value));
          sentGood = Date.now();
          await cluster.submit(good);
        } finally {
          await producer.close();
        }
        const settledGood = await cluster.settled(good, 120_000);
        const goodSeconds = (Date.now() - sentGood) / 1000;
        const problems = await awaitRefusals(cluster, bad, sent, 120_000);
        const verdict = await cluster.verify(good);
        if (internalRequests > 0) problems.push(`the internal server was asked ${internalRequests} times`);
        const refused = problems.filter((p) => p === null).length;
        const failures = [
          ...problems.flatMap((p, i) => (p === null ? [] : [`${bad[i]?.name ?? 'internal server'}: ${p}`])),
          ...verdict.problems,
        ];
        ctx.log(
          `${refused}/${bad.length} refused; internal server asked ${internalRequests} times; good ${verdict.identical}/${good.length} identical in ${goodSeconds.toFixed(1)} s`,
        );
        report({
          category: 'bad input',
          name: 'fetches to loopback, link-local, DNS-to-private, redirects inward, slow servers',
          tries: bad.length + good.length,
          identical: settledGood ? verdict.identical : 0,
          refused: internalRequests > 0 ? 0 : refused,
          lost: bad.length + good.length - (settledGood ? verdict.identical : 0) - (internalRequests > 0 ? 0 : refused),
          note:
            failures.length > 0
              ? failures.slice(0, 3).join('; ')
              : `${codeSummary(bad)}; internal server asked 0 times; ${slow} drips cut at the ${DEADLINE_MS / 1000} s deadline; ` +
                `${good.length} good documents identical, done ${goodSeconds.toFixed(1)} s after sending while the drips held the fetch lane`,
        });
      });
    } finally {
      for (const timer of drips) clearInterval(timer);
      for (const { server } of [internal, allowed]) {
        server.closeAllConnections();
        server.close();
      }
    }
  },
};
