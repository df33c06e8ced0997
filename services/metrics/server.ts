// The metrics endpoint: GET /metrics (Prometheus text) and GET /healthz (200 when the worker's services
// answer, 503 with the reason otherwise).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  health: () => Promise<Health>;
}): Promise<MetricsServer> {
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
      return send(404, 'text/plain', 'not found\n');
    };
    route().catch((err: Error) => send(500, 'text/plain', `${err.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
