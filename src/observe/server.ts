// The reconciler's HTTP endpoints: /metrics (Prometheus), /healthz (the process is alive),
// /readyz (the last reconcile pass got through pull and validate recently).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  /** Undefined when ready; otherwise why not. */
  notReadyReason(): string | undefined;
}

export function startObserveServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: Readiness;
  /** More handlers by exact path (the forge webhook on `lifeboat run`). */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const route = opts.routes?.[url];
    if (route) return route(req, res);
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/readyz') {
      const reason = opts.readiness.notReadyReason();
      res
        .writeHead(reason ? 503 : 200, { 'content-type': 'text/plain' })
        .end(reason ? `${reason}\n` : 'ok\n');
    } else if (url === '/metrics') {
      opts.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve(server));
  });
}
