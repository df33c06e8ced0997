// The metrics endpoint: GET /metrics (Prometheus text), GET /healthz (200 when the worker's services answer,
// 503 with the reason otherwise), and GET /documents/ID or /streams/ID (what `rwkvstream status ID --json`
// prints). It listens on loopback unless told otherwise: it has no authentication.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

import type { Log } from '../../pipelines/ports.ts';
import type { ErrorCode } from '../../schemas/error-codes.ts';
import type { StatusReport } from '../../schemas/status.ts';

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** When the port is busy, how many following ports to try (0: fail at once, saying how to choose another). */
  fallbackPorts?: number;
  log?: Log;
  registry: Registry;
  health: () => Promise<Health>;
  status?: (kind: 'document' | 'stream', id: string) => Promise<StatusReport>;
}

export class MetricsPortError extends Error {
  readonly code = 'E_METRICS_PORT' satisfies ErrorCode;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    const route = async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
      if (url.pathname === '/metrics') return send(200, options.registry.contentType, await options.registry.metrics());
      if (url.pathname === '/healthz') {
        const health = await options.health().catch((err: Error): Health => ({ ok: false, error: err.message }));
        return send(health.ok ? 200 : 503, 'application/json', `${JSON.stringify(health)}\n`);
      }
      const subject = /^\/(documents|streams)\/([^/]+)$/.exec(url.pathname);
      if (subject && options.status) {
        const id = decodeURIComponent(subject[2]!);
        const report = await options.status(subject[1] === 'documents' ? 'document' : 'stream', id);
        return send(report.state === 'unknown' ? 404 : 200, 'application/json', `${JSON.stringify(report)}\n`);
      }
      return send(404, 'text/plain', 'not found\n');
    };
    route().catch((err: Error) => send(500, 'text/plain', `${err.message}\n`));
  });

  const tries = options.port === 0 ? 0 : (options.fallbackPorts ?? 0);
  for (let n = 0; ; n++) {
    const port = options.port + n;
    try {
      await listen(server, port, options.host);
      if (n > 0) {
        options.log?.info(
          { metricsPort: port },
          `metrics port ${options.port} is in use (another worker on this machine?); serving metrics on ${options.host}:${port} instead (choose one with --metrics-port or RWKVSTREAM_METRICS_PORT)`,
        );
      }
      break;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EADDRINUSE') throw err;
      if (n >= tries || port >= 65535) {
        throw new MetricsPortError(
          `${n > 0 ? `the metrics ports ${options.port} to ${port}` : `the metrics port ${port}`} on ${options.host} ${n > 0 ? 'are' : 'is'} in use: ` +
            'choose another with --metrics-port N or RWKVSTREAM_METRICS_PORT (0: any free port, off: no metrics endpoint)',
        );
      }
    }
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
