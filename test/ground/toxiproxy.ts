// toxiproxy (built by scripts/build-toxiproxy.sh) on loopback, for tests of what lifeboat does
// when the network between it and a real server misbehaves: a real TCP proxy whose faults
// ("toxics": reset_peer, timeout, limit_data, latency, ...) are added and removed through its
// HTTP API, each on a share of the connections (toxicity). The server behind it is the real one.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, waitFor, type Proc } from './process.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The toxiproxy-server that scripts/build-toxiproxy.sh built; fails naming the script when missing. */
export function toxiproxyBinary(): string {
  const versions = JSON.parse(readFileSync(join(here, 'versions.json'), 'utf8')) as { toxiproxy: string };
  const cache = process.env.LIFEBOAT_CACHE ?? join(homedir(), '.cache', 'lifeboat');
  const bin = join(cache, 'toxiproxy', versions.toxiproxy, 'toxiproxy-server');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'bash scripts/build-toxiproxy.sh'`);
  return bin;
}

/** A toxic as toxiproxy's API takes it (https://github.com/Shopify/toxiproxy#toxics). */
export interface Toxic {
  name: string;
  type: 'latency' | 'reset_peer' | 'timeout' | 'limit_data' | 'bandwidth' | 'slow_close' | 'slicer';
  /** downstream: server → client; upstream: client → server. */
  stream: 'downstream' | 'upstream';
  /** The share of connections it applies to, chosen per connection (0–1). */
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ToxiProxy {
  /** http://127.0.0.1:PORT of the proxy's listener. */
  url: string;
  addToxic(toxic: Toxic): Promise<void>;
  removeToxic(name: string): Promise<void>;
  /** The toxics in place now, as toxiproxy reports them. */
  toxics(): Promise<Toxic[]>;
}

export interface Toxiproxy {
  /** The control API, http://127.0.0.1:PORT. */
  api: string;
  /** A proxy from a free loopback port to `upstream` (host:port). */
  proxy(name: string, upstream: string): Promise<ToxiProxy>;
  stop(): Promise<void>;
}

export async function startToxiproxy(opts: { workDir: string }): Promise<Toxiproxy> {
  const port = await freePort();
  const logDir = await mkdtemp(join(opts.workDir, 'toxiproxy-'));
  const proc: Proc = startProcess({
    name: 'toxiproxy',
    bin: toxiproxyBinary(),
    args: ['-host', '127.0.0.1', '-port', String(port)],
    logDir,
  });
  const api = `http://127.0.0.1:${port}`;
  await waitFor(proc, async () => (await fetch(`${api}/version`)).ok, 60_000);
  return {
    api,
    proxy: async (name, upstream) => {
      const created = (await call(api, 'POST', '/proxies', {
        name,
        listen: '127.0.0.1:0',
        upstream,
        enabled: true,
      })) as { listen: string };
      const base = `/proxies/${encodeURIComponent(name)}/toxics`;
      return {
        url: `http://${created.listen}`,
        addToxic: async (toxic) => void (await call(api, 'POST', base, toxic)),
        removeToxic: async (toxic) =>
          void (await call(api, 'DELETE', `${base}/${encodeURIComponent(toxic)}`)),
        toxics: async () => (await call(api, 'GET', base)) as Toxic[],
      };
    },
    stop: async () => {
      proc.child.kill('SIGTERM');
      const killer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(killer);
    },
  };
}

async function call(api: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${api}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status}: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}
