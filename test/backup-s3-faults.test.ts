// Backups and restores through a faulty network (issue 17): a real toxiproxy between lifeboat
// and the ground's real S3 server resets, stalls and truncates a share of the connections and
// delays all of them. Whatever happens, a backup ends Completed only when `backup verify` (read
// through a clean connection) finds it whole; otherwise it fails saying what failed, and a
// restore through the same faults either restores equal objects or fails naming what failed.
// The S3 client's retries are counted in lifeboat_storage_retries_total.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { listBackups } from '../src/backup/catalog.js';
import { verifyBackup } from '../src/backup/verify.js';
import { applyRestore } from '../src/restore/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { KeyedStore } from '../src/crypto/keyed-store.js';
import { Keyring } from '../src/crypto/keyring.js';
import { createMetrics, storageRequestCounters, type Metrics } from '../src/observe/metrics.js';
import { S3Store, type S3NetworkOptions } from '../src/storage/s3-store.js';
import type { BackupStore } from '../src/storage/store.js';
import { ground, newBucket, uniqueName } from './ground/world.js';
import { startToxiproxy, type ToxiProxy, type Toxiproxy, type Toxic } from './ground/toxiproxy.js';
import { groundKube, s3Store, resourceInfo } from './fixtures/backups.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';

/** Runs per kind of location: plain and client-side encrypted. */
const RUNS = 4;
/**
 * Short enough that a stalled connection costs seconds, long enough for a loaded 2-core
 * machine to complete a multipart upload (no timing is asserted).
 */
const NETWORK: S3NetworkOptions = {
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 20_000,
  idleTimeoutMs: 10_000,
  maxAttempts: 4,
};

/**
 * About 5 % of connections reset, 3 % stalled (then closed), 3 % with the response cut after
 * 4 KiB, 2 % with the request cut after 1 MiB (mid-part of an upload); every connection delayed.
 */
const TOXICS: Toxic[] = [
  {
    name: 'delay',
    type: 'latency',
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: 5, jitter: 5 },
  },
  { name: 'reset', type: 'reset_peer', stream: 'downstream', toxicity: 0.05, attributes: { timeout: 200 } },
  { name: 'stall', type: 'timeout', stream: 'downstream', toxicity: 0.03, attributes: { timeout: 4_000 } },
  {
    name: 'cut-response',
    type: 'limit_data',
    stream: 'downstream',
    toxicity: 0.03,
    attributes: { bytes: 4096 },
  },
  {
    name: 'cut-request',
    type: 'limit_data',
    stream: 'upstream',
    toxicity: 0.02,
    attributes: { bytes: 1024 * 1024 },
  },
];

let kube: KubeClient;
let seeded: Seeded;
let toxiproxy: Toxiproxy;
let proxy: ToxiProxy;
const restoredNamespaces: string[] = [];

beforeAll(async () => {
  kube = await groundKube();
  seeded = await seedNamespaces({
    kube,
    prefix: uniqueName('faults'),
    namespaces: 3,
    perNamespace: { configMaps: 40, secrets: 5, services: 3 },
    // ~12 MB of hard-to-compress data: the archive is a multipart upload of several parts.
    configMapBytes: 100_000,
  });
  toxiproxy = await startToxiproxy({ workDir: ground().workDir });
  const s3 = new URL(ground().s3.endpoint);
  proxy = await toxiproxy.proxy('s3', `${s3.hostname}:${s3.port}`);
  for (const t of TOXICS) await proxy.addToxic(t);
}, 300_000);

afterAll(async () => {
  if (kube) await deleteNamespaces(kube, [...(seeded?.namespaces ?? []), ...restoredNamespaces]);
  await toxiproxy?.stop();
  kube?.close();
}, 300_000);

interface Location {
  kind: 'plain' | 'encrypted';
  bucket: string;
  keyring?: Keyring;
}

/** The location's store through the faulty proxy, counting into `metrics`. */
function faultyStore(loc: Location, metrics: Metrics): BackupStore {
  const { s3 } = ground();
  const store = new S3Store({
    bucket: loc.bucket,
    endpoint: proxy.url,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    network: NETWORK,
    requests: storageRequestCounters(metrics),
  });
  return loc.keyring ? new KeyedStore(store, loc.keyring) : store;
}

/** The same location straight to the S3 server, for checking what the faulty runs left. */
function cleanStore(loc: Location): BackupStore {
  const store = s3Store(loc.bucket);
  return loc.keyring ? new KeyedStore(store, loc.keyring) : store;
}

async function counterValues(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const out: Record<string, number> = {};
  for (const v of m?.values ?? []) out[String(v.labels.operation)] = v.value;
  return out;
}

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

describe('backups and restores through a proxy that resets, stalls and truncates connections', () => {
  it('never shows a backup Completed that fails verify, restores equal objects or names the failure, and counts the retries', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const locations: Location[] = [
      { kind: 'plain', bucket: await newBucket('faults') },
      {
        kind: 'encrypted',
        bucket: await newBucket('faults-enc'),
        keyring: new Keyring({ active: { name: 'file faults.key', key: randomBytes(32) } }),
      },
    ];
    const outcomes: { location: string; backup: string; phase: string; reason?: string }[] = [];
    for (let run = 0; run < RUNS; run++) {
      for (const loc of locations) {
        const name = uniqueName(`faults-${loc.kind}`);
        try {
          const result = await runBackup(
            { name, spec: { includedNamespaces: seeded.namespaces } },
            { kube, store: faultyStore(loc, metrics) },
          );
          outcomes.push({
            location: loc.kind,
            backup: name,
            phase: result.phase,
            ...(result.failureReason ? { reason: result.failureReason } : {}),
          });
          if (result.phase === 'Failed') expect(result.failureReason).toMatch(/\S/);
          else expect(result.phase).toBe('Completed');
        } catch (err) {
          // Failing before anything is written (checking the bucket) is a clean failure too,
          // as long as it says which endpoint.
          const reason = err instanceof Error ? err.message : String(err);
          expect(reason).toMatch(new RegExp(`${proxy.url}|s3://${loc.bucket}`));
          outcomes.push({ location: loc.kind, backup: name, phase: 'NotStarted', reason });
        }
      }
    }
    console.log('backups through the faults:', JSON.stringify(outcomes, null, 1));

    // Every backup the bucket shows as Completed is whole: checked through a clean connection.
    let completed = 0;
    for (const loc of locations) {
      for (const entry of await listBackups(cleanStore(loc))) {
        expect(entry.unreadable, `${loc.kind} backup ${entry.name}`).toBeUndefined();
        const phase = entry.backup?.status?.phase;
        if (phase !== 'Completed' && phase !== 'PartiallyFailed') continue;
        completed++;
        const report = await verifyBackup(cleanStore(loc), entry.name);
        expect(report.problems, `${loc.kind} backup ${entry.name}`).toEqual([]);
        expect(report.ok).toBe(true);
        // And it is one the runs above reported Completed, never a failed one left looking whole.
        expect(outcomes.find((o) => o.backup === entry.name)?.phase).toBe('Completed');
      }
    }
    expect(completed).toBe(outcomes.filter((o) => o.phase === 'Completed').length);
    expect(completed).toBeGreaterThan(0);

    // A restore of the last Completed backup of each location, through the same faults, into
    // fresh namespaces: equal objects, or a failure that names what failed.
    const restores: { location: string; phase: string; reason?: string }[] = [];
    for (const loc of locations) {
      const backup = outcomes.filter((o) => o.location === loc.kind && o.phase === 'Completed').at(-1);
      if (backup) restores.push(await restoreThroughFaults(loc, backup.backup, metrics));
    }
    console.log('restores through the faults:', JSON.stringify(restores, null, 1));
    expect(restores.length).toBeGreaterThan(0);
    // A download cut part-way goes on from where it was cut (resume-download.ts), so the
    // faults do not fail restores as a rule: before it, every restore here failed ("aborted").
    expect(restores.filter((r) => r.phase === 'Completed').length).toBeGreaterThan(0);

    const retries = await counterValues(metrics, 'lifeboat_storage_retries_total');
    const failures = await counterValues(metrics, 'lifeboat_storage_request_failures_total');
    console.log('S3 retries by operation:', JSON.stringify(retries), 'failures:', JSON.stringify(failures));
    console.log(
      `figures: ${outcomes.length} backups (${outcomes.filter((o) => o.phase === 'Completed').length} Completed, ` +
        `${outcomes.filter((o) => o.phase !== 'Completed').length} failed), ${completed} verified whole, ` +
        `${sum(retries)} retries, ${sum(failures)} final request failures, restores ${restores.map((r) => r.phase).join(', ')}`,
    );
    expect(sum(retries)).toBeGreaterThan(0);
  }, 1_800_000);
});

/** A restore into fresh namespaces through the faults: equal objects, or a failure naming what failed. */
async function restoreThroughFaults(
  loc: Location,
  backup: string,
  metrics: Metrics,
): Promise<{ location: string; phase: string; reason?: string }> {
  const mapping = Object.fromEntries(seeded.namespaces.map((ns) => [ns, `${ns}-r${loc.kind[0]}`]));
  restoredNamespaces.push(...Object.values(mapping));
  try {
    const result = await applyRestore(
      {
        name: uniqueName('faults-restore'),
        spec: { backupName: backup, includedNamespaces: seeded.namespaces, namespaceMapping: mapping },
      },
      { kube, store: faultyStore(loc, metrics) },
    );
    const failed = result.items.filter((i) => i.result === 'failed');
    const reason =
      result.failureReason ??
      (failed.length > 0
        ? failed.map((i) => `${i.namespace}/${i.name}: ${i.message}`).join('; ')
        : undefined);
    if (result.phase === 'Completed') await expectEqualConfigMaps(mapping);
    else expect(reason).toMatch(/\S/);
    return { location: loc.kind, phase: result.phase, ...(reason ? { reason } : {}) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // Names the object or the endpoint, and what was being done.
    expect(reason).toMatch(new RegExp(`s3://${loc.bucket}/backups/${backup}/|${proxy.url}.* while `));
    return { location: loc.kind, phase: 'Failed', reason };
  }
}

/** Each ConfigMap of the seeded namespaces has an equal twin (data) in its mapped namespace. */
async function expectEqualConfigMaps(mapping: Record<string, string>): Promise<void> {
  const info = await resourceInfo(kube, 'configmaps');
  for (const [from, to] of Object.entries(mapping)) {
    const source = (await kube.list(info, { namespace: from })).items.filter(
      (o) => o.metadata.name !== 'kube-root-ca.crt',
    );
    const target = (await kube.list(info, { namespace: to })).items.filter(
      (o) => o.metadata.name !== 'kube-root-ca.crt',
    );
    expect(target.length).toBe(source.length);
    const byName = new Map(target.map((o) => [o.metadata.name, o]));
    for (const o of source)
      expect(byName.get(o.metadata.name)?.data, `${to}/${o.metadata.name}`).toEqual(o.data);
  }
}
