// lifeboat and the real Velero (v1.18, out of cluster, AWS plugin) on one bucket and prefix:
// each restores the other's backups with the same objects coming back, Velero reads lifeboat's
// backup metadata with its own defaults, and Velero's location stays Available while a lifeboat
// reconciler holds its bucket lock on the same prefix.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { listBackups } from '../src/backup/catalog.js';
import { KubeClient } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/types.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { LEGACY_LOCK_KEY, LOCK_KEY } from '../src/storage/layout.js';
import { S3Store } from '../src/storage/s3-store.js';
import {
  comparable,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  read,
  ref,
  runCli,
  shopApplication,
  uniqueName,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import { createPolicyRepo, s3Env, s3Location } from './fixtures/policy-repo.js';
import { ground, newBucket, newNamespace, tempDir } from './ground/world.js';
import { locationStatus, startVelero, type Velero } from './ground/velero.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PREFIX = 'shared';
const LOCATION = 'default';
const LONG = 900_000;

let velero: Velero;
let kube: KubeClient;
let bucket: string;
let store: S3Store;
/** One application per test; their CRDs exist before Velero starts (see beforeAll). */
let apps: { veleroMade: App; lifeboatMade: App };

beforeAll(async () => {
  const g = ground();
  kube = await KubeClient.create({ kubeconfig: g.kubeconfigPath });
  apps = { veleroMade: application(), lifeboatMade: application() };
  // Velero reads the served resources when it starts and refreshes them only every few
  // minutes, so a CRD created after its start is not backed up or restored until then: the
  // tests' CRDs are created first, as a real cluster's CRDs exist long before a backup.
  await createAll(kube, [apps.veleroMade.crd, apps.lifeboatMade.crd]);
  velero = await startVelero({ kubeconfigPath: g.kubeconfigPath, s3: g.s3, dir: await tempDir('velero-') });
  bucket = await newBucket('velero');
  store = new S3Store({
    bucket,
    prefix: PREFIX,
    endpoint: g.s3.endpoint,
    region: g.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: g.s3.accessKeyId, secretAccessKey: g.s3.secretAccessKey },
  });
  await velero.addLocation({ name: LOCATION, bucket, prefix: PREFIX, default: true });
  await velero.waitFor('backupstoragelocations', LOCATION, (o) => locationStatus(o).phase === 'Available');
}, LONG);

afterAll(async () => {
  await velero?.stop();
  kube?.close();
});

/** `--storage` for the lifeboat CLI: the same bucket and prefix as Velero's location. */
function storageArgs(): { args: string[]; env: Record<string, string> } {
  const { s3 } = ground();
  return {
    args: [
      '--storage',
      `s3://${bucket}/${PREFIX}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}`,
    ],
    env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
  };
}

/**
 * Two namespaces of an application with every kind the interop promises: Deployment, Services,
 * ConfigMap, Secret, ServiceAccount, Role, RoleBinding and custom resources of a CRD. No volumes
 * (Velero would want snapshots for them) and no explicit node port (Velero drops node ports it
 * cannot tell were set by hand; see docs/coming-from-velero.md).
 */
interface App {
  crd: Seeded;
  namespaced: Seeded[];
  namespaces: string[];
}

function application(): App {
  const group = `${uniqueName('g')}.interop.test`;
  const namespaces = [uniqueName('shop'), uniqueName('billing')];
  let crd: Seeded | undefined;
  const namespaced: Seeded[] = [];
  for (const ns of namespaces) {
    const app = shopApplication({ ns, group, pvName: 'unused', nodePort: 30000 });
    crd = app.crd;
    namespaced.push(
      ...app.namespaced.filter(
        (s) => s.gr !== 'persistentvolumeclaims' && s.obj.metadata.name !== 'web-nodeport',
      ),
    );
  }
  if (!crd) throw new Error('no CRD');
  return { crd, namespaced, namespaces };
}

async function createNamespaces(names: string[]): Promise<void> {
  await createAll(
    kube,
    names.map((name) => ({
      gr: 'namespaces',
      obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    })),
  );
}

async function snapshot(objects: Seeded[]): Promise<Map<string, KubeObject>> {
  const out = new Map<string, KubeObject>();
  for (const s of objects) {
    const live = await read(kube, s);
    if (!live) throw new Error(`${ref(s)} is missing`);
    out.set(ref(s), comparable(live, s.gr));
  }
  return out;
}

/** Lose the application: its namespaces and its CRD (with the custom objects). */
async function loseEverything(app: { crd: Seeded; namespaces: string[] }): Promise<void> {
  await deleteNamespaces(kube, app.namespaces);
  await deleteAndWait(kube, app.crd);
}

describe('a backup Velero made', () => {
  it(
    'is listed, described, planned and restored by lifeboat, the objects as they were',
    async () => {
      const app = apps.veleroMade;
      await createNamespaces(app.namespaces);
      await createAll(kube, app.namespaced);
      const everything = [app.crd, ...app.namespaced];
      const before = await snapshot(everything);

      const name = uniqueName('velero-made');
      const made = await velero.cli([
        'backup',
        'create',
        name,
        '--include-namespaces',
        app.namespaces.join(','),
        '--storage-location',
        LOCATION,
        '--wait',
      ]);
      expect(made.code, made.stderr).toBe(0);
      const backup = await velero.waitFor(
        'backups',
        name,
        (o) => (o.status as { phase?: string })?.phase !== 'InProgress',
      );
      expect((backup.status as { phase?: string }).phase).toBe('Completed');

      // Listed and described, through the CLI as a user would.
      const { args, env } = storageArgs();
      expect((await listBackups(store)).map((b) => b.name)).toContain(name);
      const listed = await runCli([...args, 'backup', 'list'], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`${name}\\s+Completed`));
      const described = await runCli([...args, 'backup', 'describe', name, '--details'], env);
      expect(described.code, described.stderr).toBe(0);
      for (const s of app.namespaced) expect(described.stdout).toContain(s.obj.metadata.name);

      await loseEverything(app);

      // Planned: every object is created, nothing conflicts.
      const restoreName = uniqueName('from-velero');
      const deps = { kube, store };
      const planned = await planRestore({ name: restoreName, spec: { backupName: name } }, deps);
      const actions = new Map(
        planned.plan.items.map((i) => [
          `${i.groupResource} ${i.namespace ? `${i.namespace}/` : ''}${i.name}`,
          i.action,
        ]),
      );
      for (const s of everything) expect(actions.get(ref(s)), ref(s)).toBe('create');

      const result = await applyRestore({ name: restoreName, spec: { backupName: name } }, deps);
      expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(await snapshot(everything)).toEqual(before);
    },
    LONG,
  );
});

describe('a backup lifeboat made', () => {
  it(
    'is synced by Velero with its defaults, and `velero restore create --from-backup` brings the same objects back',
    async () => {
      const app = apps.lifeboatMade;
      await createNamespaces(app.namespaces);
      await createAll(kube, app.namespaced);
      const everything = [app.crd, ...app.namespaced];
      const before = await snapshot(everything);

      const name = uniqueName('lifeboat-made');
      const made = await runBackup({ name, spec: { includedNamespaces: app.namespaces } }, { kube, store });
      expect(made.phase).toBe('Completed');

      // Velero's sync controller turns it into a Backup object of its namespace.
      const synced = await velero.waitFor(
        'backups',
        name,
        (o) => (o.status as { phase?: string })?.phase === 'Completed',
      );
      expect(synced.metadata.namespace).toBe(velero.namespace);

      // `velero backup describe` shows what Velero would have set, not zero values.
      const described = await velero.cli(['backup', 'describe', name, '--colorized=false']);
      expect(described.code, described.stderr).toBe(0);
      expect(described.stdout).toMatch(/Phase:\s+Completed/);
      expect(described.stdout).toMatch(/TTL:\s+720h0m0s/);
      expect(described.stdout).toMatch(/CSISnapshotTimeout:\s+10m0s/);
      expect(described.stdout).toMatch(/ItemOperationTimeout:\s+4h0m0s/);
      expect(described.stdout).toMatch(/Snapshot Move Data:\s+false/);

      await loseEverything(app);

      const restoreName = uniqueName('velero-restore');
      const restored = await velero.cli(['restore', 'create', restoreName, '--from-backup', name, '--wait']);
      expect(restored.code, restored.stderr).toBe(0);
      const restore = await velero.waitFor(
        'restores',
        restoreName,
        (o) => !['New', 'InProgress', undefined].includes((o.status as { phase?: string })?.phase),
      );
      const status = restore.status as { phase?: string; errors?: number; warnings?: number };
      // Velero's own account of what failed, in the assertion's message when it did.
      const details =
        status.phase === 'Completed'
          ? ''
          : (await velero.cli(['restore', 'describe', restoreName, '--details', '--colorized=false'])).stdout;
      expect(status.phase, `${JSON.stringify(status)}\n${details}`).toBe('Completed');
      expect(status.errors ?? 0).toBe(0);
      expect(await snapshot(everything)).toEqual(before);
    },
    LONG,
  );
});

describe("Velero's location on the bucket a lifeboat reconciler locks", () => {
  /** Wait for Velero to validate the location again after `since`, and give its status. */
  async function validatedAfter(since: Date): Promise<{ phase?: string; message?: string }> {
    const bsl = await velero.waitFor('backupstoragelocations', LOCATION, (o) => {
      const t = locationStatus(o).lastValidationTime;
      // Velero's timestamps have whole seconds: one full second later is surely after.
      return t !== undefined && Date.parse(t) >= since.getTime() + 1000;
    });
    return locationStatus(bsl);
  }

  it(
    'stays Available while `lifeboat run --leader-election bucket` holds the lock, and becomes Available again when a newer reconciler takes over a lock at the old key',
    async () => {
      // What reconcilers before 0.2 left: a lock in a top-level `lifeboat/` directory, which
      // Velero refuses. Stale, so the reconciler below may take it over.
      await store.put(
        LEGACY_LOCK_KEY,
        JSON.stringify({ holder: 'old-reconciler', renewedAt: '2026-01-01T00:00:00Z', durationSeconds: 120 }),
      );
      const refused = await validatedAfter(new Date());
      expect(refused.phase).toBe('Unavailable');
      expect(refused.message).toContain('invalid top-level directories: [lifeboat]');

      const ns = await newNamespace('policies');
      const repo = await createPolicyRepo({
        'storage-locations/primary.yaml': s3Location('primary', { bucket, prefix: PREFIX, isDefault: true }),
        'README.md': `policies for ${ns}\n`,
      });
      const workdir = await tempDir('reconciler-');
      const { s3 } = ground();
      const reconciler: ChildProcess = spawn(
        process.execPath,
        [
          ...['--import', 'tsx', join(root, 'src/cli/run.ts'), 'run'],
          ...[
            '--kubeconfig',
            ground().kubeconfigPath,
            '--repo',
            repo.remote,
            '--workdir',
            join(workdir, 'repo'),
          ],
          ...[
            '--data-dir',
            workdir,
            '--leader-election',
            'bucket',
            '--interval',
            '2s',
            '--metrics-port',
            '0',
          ],
        ],
        {
          cwd: root,
          env: { ...process.env, ...s3Env(), AWS_REGION: s3.region },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      reconciler.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => reconciler.on('exit', resolve));
      try {
        // The reconciler holds the lock at its new key and has removed the old one.
        const deadline = Date.now() + 180_000;
        while (!((await store.exists(LOCK_KEY)) && !(await store.exists(LEGACY_LOCK_KEY)))) {
          if (reconciler.exitCode !== null) throw new Error(`the reconciler exited: ${stderr}`);
          if (Date.now() > deadline) throw new Error(`the reconciler did not take the lock: ${stderr}`);
          await new Promise((r) => setTimeout(r, 500));
        }
        const held = new Date();
        const status = await validatedAfter(held);
        expect(status.message ?? '').not.toContain('invalid top-level directories');
        expect(status.phase).toBe('Available');
        expect(await store.exists(LOCK_KEY)).toBe(true);
      } finally {
        reconciler.kill('SIGTERM');
        await exited;
      }
    },
    LONG,
  );
});
