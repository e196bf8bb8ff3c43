// The API server going away in the middle of a backup: restarted (a control-plane upgrade, a
// crash) or frozen. A restart used to cost the backup every type listed meanwhile — it ended
// PartiallyFailed with 30–46% of the objects missing — and a frozen server held it for ever.
// Now a failed list page is tried again where it stopped (same revision, same continue token),
// so a restart costs a pause, not objects; and a server that never answers ends the backup
// Failed, naming the types, within its timeouts.
//
// These tests stop and restart servers, so they run on a ground of their own, not the shared
// one other test files use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { readBackupLog } from '../src/backup/catalog.js';
import { KubeClient } from '../src/kube/client.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { startGround, type Ground } from './ground/ground.js';
import { kubeconfigFor, tempDir, uniqueName } from './ground/world.js';
import { archiveEntries, resourceInfo } from './fixtures/backups.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';
import { startTcpProxy } from './fixtures/tcp-proxy.js';

const NAMESPACES = 3;
const PER_NAMESPACE = 40;
/** Far beyond what the timeouts and retries allow; only a hang gets here. */
const HANG = 240_000;

let own: Ground;
let seeded: Seeded;

async function client(network: Parameters<typeof KubeClient.create>[0] = {}): Promise<KubeClient> {
  return KubeClient.create({ kubeconfig: own.info.kubeconfigPath, ...network });
}

beforeAll(async () => {
  own = await startGround();
  const kube = await client();
  try {
    seeded = await seedNamespaces({
      kube,
      prefix: uniqueName('outage'),
      namespaces: NAMESPACES,
      perNamespace: { configMaps: PER_NAMESPACE, secrets: 5 },
    });
  } finally {
    kube.close();
  }
}, 300_000);
afterAll(async () => {
  // Thaw first: a frozen server ignores SIGTERM.
  own?.signal('kube-apiserver', 'SIGCONT');
  await own?.stop();
}, 120_000);

/** `namespace/name` of every object of `gr` in the seeded namespaces, sorted. */
async function liveNames(kube: KubeClient, gr: 'configmaps' | 'secrets'): Promise<string[]> {
  const info = await resourceInfo(kube, gr);
  const names: string[] = [];
  for (const namespace of seeded.namespaces) {
    const page = await kube.list(info, { namespace });
    for (const o of page.items) names.push(`${namespace}/${o.metadata.name ?? ''}`);
  }
  return names.sort();
}

function withinBound<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still hangs after ${HANG / 1000} s`)), HANG);
  });
  return Promise.race([work, hang]).finally(() => clearTimeout(timer));
}

describe('a backup while the API server restarts', () => {
  it('tries the failed pages again and completes with every object', async () => {
    const kube = await client({ network: { attempts: 3, baseDelayMs: 200 } });
    const store = new LocalDirStore({ root: await tempDir('outage-') });
    let restarted: Promise<void> | undefined;
    try {
      const result = await withinBound(
        runBackup(
          { name: uniqueName('b'), spec: { includedNamespaces: seeded.namespaces } },
          {
            kube,
            store,
            // Small pages: many requests, so the restart lands in the middle of the listing.
            pageSize: 10,
            concurrency: 2,
            listRetries: { attempts: 8, delayMs: 1_000 },
            onRevision: (_revision, attempt) => {
              // The revision is chosen; the API server goes down before the first page and
              // comes back while the listing waits and retries.
              if (attempt === 1) restarted = own.restart('kube-apiserver');
              return Promise.resolve();
            },
          },
        ),
        'the backup',
      );
      await restarted;
      expect(result.errors).toEqual([]);
      expect(result.phase).toBe('Completed');
      // Every object the namespaces hold (nothing changes them meanwhile), none missing.
      const stored = await archiveEntries(store, result.name);
      const ours = stored.items.filter((i) => seeded.namespaces.includes(i.namespace) && i.versionDir === '');
      for (const gr of ['configmaps', 'secrets'] as const) {
        const live = await liveNames(kube, gr);
        expect(live.length).toBeGreaterThanOrEqual(NAMESPACES * (gr === 'secrets' ? 5 : PER_NAMESPACE));
        const backedUp = ours.filter((i) => i.groupResource === gr).map((i) => `${i.namespace}/${i.name}`);
        expect(backedUp.sort()).toEqual(live);
      }
      expect(result.totalItems).toBe(stored.items.filter((i) => i.versionDir === '').length);
      // The outage was met, and ridden out by trying the pages again.
      expect(await readBackupLog(store, result.name)).toMatch(
        /listing failed; trying again.*cannot reach the Kubernetes API/,
      );
    } finally {
      await restarted?.catch(() => undefined);
      kube.close();
    }
  }, 300_000);
});

describe('a backup whose connection to the API server freezes in the middle of a listing', () => {
  it('asks for the failed page again with its continue token and completes with every object', async () => {
    // The real API server behind a loopback proxy that stops passing bytes part-way through
    // the listing and passes them again a few seconds later, once the requests have timed out.
    const server = new URL(own.info.apiserverUrl);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port), scheme: 'https' });
    const kubeconfig = await kubeconfigFor(proxy.url, own.info);
    const kube = await KubeClient.create({
      kubeconfig,
      network: { responseTimeoutMs: 2_000, idleTimeoutMs: 1_000, attempts: 2, baseDelayMs: 100 },
    });
    const store = new LocalDirStore({ root: await tempDir('outage-') });
    const thawed = proxy.frozen
      .then(() => new Promise<void>((r) => setTimeout(r, 3_000)))
      .then(() => proxy.thaw());
    try {
      const result = await withinBound(
        runBackup(
          {
            name: uniqueName('b'),
            spec: { includedNamespaces: seeded.namespaces, includedResources: ['configmaps'] },
          },
          {
            kube,
            store,
            pageSize: 5,
            concurrency: 1,
            listRetries: { attempts: 6, delayMs: 1_000 },
            // A few pages in: each page of five ConfigMaps is ~3 KB on the wire.
            onRevision: () => Promise.resolve(proxy.freezeAfter(8 * 1024)),
          },
        ),
        'the backup',
      );
      await thawed;
      expect(result.errors).toEqual([]);
      expect(result.phase).toBe('Completed');
      const stored = await archiveEntries(store, result.name);
      const backedUp = stored.items
        .filter((i) => i.versionDir === '' && i.groupResource === 'configmaps')
        .map((i) => `${i.namespace}/${i.name}`);
      expect(backedUp.sort()).toEqual(await liveNames(kube, 'configmaps'));
      // A page after the first (one with a continue token) failed and was asked for again.
      const retried = [
        ...(await readBackupLog(store, result.name)).matchAll(/listing failed; trying again".* page=(\d+)/g),
      ];
      expect(retried.map((m) => Number(m[1])).some((page) => page > 1)).toBe(true);
    } finally {
      proxy.thaw();
      await proxy.close();
      kube.close();
    }
  }, 300_000);
});

describe('a backup while the API server is frozen', () => {
  it('ends Failed within its timeouts, naming the types it could not list', async () => {
    const kube = await client({
      network: { responseTimeoutMs: 2_000, idleTimeoutMs: 1_000, attempts: 2, baseDelayMs: 100 },
    });
    const store = new LocalDirStore({ root: await tempDir('outage-') });
    try {
      const result = await withinBound(
        runBackup(
          { name: uniqueName('b'), spec: { includedNamespaces: seeded.namespaces } },
          {
            kube,
            store,
            listRetries: { attempts: 1, delayMs: 100 },
            onRevision: () => {
              own.signal('kube-apiserver', 'SIGSTOP');
              return Promise.resolve();
            },
          },
        ),
        'the backup',
      );
      expect(result.phase).toBe('Failed');
      expect(result.failureReason).toMatch(
        new RegExp(
          `^could not list [a-z0-9., ]+ after retrying \\(.*cannot reach the Kubernetes API at ${own.info.apiserverUrl} ` +
            `\\(GET /api.*\\): timed out: no (response in 2000 ms|data for 1000 ms)\\).*; a backup missing their objects is not kept$`,
        ),
      );
    } finally {
      own.signal('kube-apiserver', 'SIGCONT');
      kube.close();
    }
  }, 300_000);
});
