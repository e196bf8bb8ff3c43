// Issue 17's scan of everything lifeboat writes, for the values of a seeded namespace's
// Secrets: Opaque data and stringData, a dockerconfigjson and a token in a Secret without
// annotations, backed up by a scheduled reconcile pass to an S3 location with client-side
// encryption, then restored through a review branch (planned, merged, applied). Searched, in
// plain, base64 and JSON-escaped forms: every object of every commit on every branch of the
// policy repository and of the reconciler's clone, the reconciler's working files, its debug
// log, the CLI's output (run with --log-level debug) in every -o format, and every object of the bucket,
// as stored and gunzipped where it is gzip. The scan must find nothing, and must have looked
// at enough to mean something.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observe/logger.js';
import type { RestorePlan } from '../src/restore/plan.js';
import { S3Store } from '../src/storage/s3-store.js';
import {
  b64,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  infoFor,
  read,
  runCli,
  secretValue,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import {
  CAROL,
  BOB,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  reconcilerFor,
  restoreDoc,
  s3Env,
  s3Location,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { ground, newBucket, newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
const namespaces: string[] = [];
afterEach(async () => {
  if (namespaces.length > 0) await deleteNamespaces(await kube.get(), namespaces.splice(0));
  await kube.close();
});

/** A Secret value with characters JSON escapes, so its JSON-escaped form differs from it. */
function trickyValue(label: string): string {
  return `${secretValue(label)}"\\\n${randomBytes(6).toString('hex')}`;
}

/** Every object `git rev-list --all --objects` names in `repo`, read with `git cat-file --batch`. */
async function gitObjects(repo: string): Promise<{ count: number; bytes: Buffer }> {
  const listed = await runGit(repo, ['rev-list', '--all', '--objects']);
  const ids = listed
    .toString('utf8')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((id) => id !== '');
  const bytes = await runGit(repo, ['cat-file', '--batch'], ids.join('\n') + '\n');
  return { count: ids.length, bytes };
}

function runGit(cwd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`git ${args.join(' ')} in ${cwd}: ${Buffer.concat(err).toString()}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/** The files under `dir` (not its .git), as [path, bytes]. */
async function workingFiles(dir: string): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if (path.slice(dir.length).split('/').includes('.git')) continue;
    out.push([path, await readFile(path)]);
  }
  return out;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('everything lifeboat writes', () => {
  it('holds no value of a backed-up and restored Secret, in any form', async () => {
    const k = await kube.get();
    const app = await newNamespace('scan-app');
    const keys = await newNamespace('scan-keys');
    namespaces.push(app, keys);

    // --- the seeded Secrets, and every value that must not leak ------------------------
    const values = new Map<string, string>();
    const value = (label: string, tricky = false) => {
      const v = tricky ? trickyValue(label) : secretValue(label);
      values.set(label, v);
      return v;
    };
    const dbPassword = value('opaque data password', true);
    const dbUser = value('opaque data user');
    const apiKey = value('stringData api key', true);
    const webhookUrl = value('stringData webhook url');
    const registryPassword = value('registry password', true);
    const registryAuth = b64(`robot:${registryPassword}`);
    values.set('registry auth', registryAuth);
    const dockerConfig = JSON.stringify({
      auths: { 'registry.example': { username: 'robot', password: registryPassword, auth: registryAuth } },
    });
    values.set('dockerconfigjson', dockerConfig);
    const token = value('token');
    const kek = randomBytes(32).toString('base64');
    values.set('encryption key', kek);
    values.set('S3 secret key', ground().s3.secretAccessKey);

    // kubectl apply keeps the whole Secret, values included, in this annotation.
    const lastApplied = (password: string, user: string) => ({
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: app },
        data: { password: b64(password), user: b64(user) },
      }),
    });
    const seeded: Seeded[] = [
      {
        gr: 'secrets',
        obj: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'db', namespace: app, annotations: lastApplied(dbPassword, dbUser) },
          type: 'Opaque',
          data: { password: b64(dbPassword), user: b64(dbUser) },
        },
      },
      {
        gr: 'secrets',
        obj: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'api', namespace: app },
          type: 'Opaque',
          stringData: { 'api-key': apiKey, 'webhook-url': webhookUrl },
        },
      },
      {
        gr: 'secrets',
        obj: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'registry', namespace: app },
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': b64(dockerConfig) },
        },
      },
      {
        gr: 'secrets',
        obj: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'token', namespace: app },
          data: { token: b64(token) },
        },
      },
    ];
    await createAll(k, [
      ...seeded,
      {
        gr: 'secrets',
        obj: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'backup-kek', namespace: keys },
          data: { current: b64(kek) },
        },
      },
    ]);

    // --- the policy repository: an encrypted S3 location and a schedule -----------------
    const bucket = await newBucket('scan');
    const location = parseYaml(s3Location('offsite', { bucket, prefix: 'cluster-a', isDefault: true })) as {
      spec: Record<string, unknown>;
    };
    location.spec.encryption = {
      key: { secretRef: { name: 'backup-kek', namespace: keys, key: 'current' } },
    };
    const repo = await createPolicyRepo({
      'storage-locations/offsite.yaml': stringify(location),
      'schedules/app.yaml': scheduleDoc('app', { cron: '0 2 * * *', namespaces: [app] }),
    });

    // --- the reconciler, logging at debug level into a buffer --------------------------
    const logChunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer | string, _enc, done) {
        logChunks.push(Buffer.from(chunk));
        done();
      },
    });
    const dataDir = await tempDir('scan-data-');
    const r = await reconcilerFor(repo, {
      dataDir,
      kube,
      clock: new FakeClock('2025-10-01T08:00:00Z'),
      env: s3Env(),
      deps: { log: createLogger({ level: 'debug', destination: sink }) },
    });
    const backupName = 'app-20251001080000';
    expect((await r.pass()).events).toEqual([
      { action: 'backup', subject: backupName, outcome: 'Completed' },
    ]);

    // The db password is rotated (kubectl apply again), the other Secrets are lost; Bob asks
    // for them back as they were on a branch, Carol merges, the reconciler applies.
    const rotated = value('rotated db password', true);
    await k.apply(
      await infoFor(k, 'secrets'),
      {
        ...seeded[0]!.obj,
        metadata: { name: 'db', namespace: app, annotations: lastApplied(rotated, dbUser) },
        data: { password: b64(rotated), user: b64(dbUser) },
      },
      { fieldManager: 'kubectl', force: true },
    );
    for (const s of seeded.slice(1)) await deleteAndWait(k, s);
    await (
      await repo.as(BOB)
    ).push(
      {
        'restores/secrets.yaml': restoreDoc('secrets', {
          backupName,
          includedNamespaces: [app],
          existingResourcePolicy: 'update',
        }),
      },
      { message: 'restore the Secrets', branch: 'restore/secrets' },
    );
    await r.pass();
    const plan = JSON.parse(
      (await repo.file('plans/secrets.json', 'restore/secrets')) ?? 'null',
    ) as RestorePlan;
    const action = (name: string) =>
      plan.items.find((i) => i.groupResource === 'secrets' && i.name === name)?.action;
    expect(['db', 'api', 'registry', 'token'].map(action)).toEqual(['update', 'create', 'create', 'create']);
    await (await repo.as(CAROL)).mergeNoFf('restore/secrets');
    expect((await r.pass()).events).toEqual([
      { action: 'apply-restore', subject: 'secrets', outcome: 'Completed' },
    ]);
    expect((await read(k, seeded[0]!))?.data).toMatchObject({ password: b64(dbPassword) });
    expect((await read(k, seeded[1]!))?.data).toMatchObject({ 'api-key': b64(apiKey) });
    expect((await read(k, seeded[2]!))?.data).toEqual({ '.dockerconfigjson': b64(dockerConfig) });
    expect((await read(k, seeded[3]!))?.data).toEqual({ token: b64(token) });

    // --- the CLI, with the key in a file, in every output format, at debug level -------
    const keyFile = join(await tempDir('scan-key-'), 'kek');
    await writeFile(keyFile, kek);
    const { s3 } = ground();
    const storage = `s3://${bucket}/cluster-a?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&encryptionKeyFile=${encodeURIComponent(keyFile)}`;
    const cliEnv = {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    const outputs: { what: string; text: Buffer }[] = [];
    const commands: [string, string[]][] = [
      ['backup describe --details', ['backup', 'describe', backupName, '--details']],
      ['backup logs', ['backup', 'logs', backupName]],
      ['restore describe', ['restore', 'describe', 'secrets']],
      ['backup list', ['backup', 'list']],
      // And the restore's own log and listing, which the brief's four commands lead to.
      ['restore logs', ['restore', 'logs', 'secrets']],
      ['restore list', ['restore', 'list']],
    ];
    for (const [what, args] of commands) {
      for (const format of ['table', 'json', 'yaml']) {
        const run = await runCli(
          [
            '--kubeconfig',
            ground().kubeconfigPath,
            '--storage',
            storage,
            '--log-level',
            'debug',
            '-o',
            format,
            ...args,
          ],
          cliEnv,
        );
        expect(run.code, `${what} -o ${format}: ${run.stderr}`).toBe(0);
        outputs.push({ what: `${what} -o ${format}`, text: Buffer.from(run.stdout + run.stderr) });
      }
    }
    // The outputs are real: the details list the Secrets, the log was decrypted.
    const cliText = (w: string) => outputs.find((o) => o.what === w)?.text.toString('utf8') ?? '';
    expect(cliText('backup describe --details -o table')).toContain(`${app}/registry`);
    expect(cliText('backup logs -o table')).toContain('backup Completed');
    expect(cliText('restore describe -o json')).toContain('Completed');
    expect(cliText('backup list -o yaml')).toContain(backupName);
    expect(cliText('restore list -o json')).toContain('"secrets"');
    expect(cliText('restore logs -o table')).toContain('secrets');

    // --- the scan -----------------------------------------------------------------------
    // A value with a line break may be written over several lines (a YAML block scalar), so
    // its pieces between the characters JSON escapes are searched for too.
    const forms = [...values.entries()].flatMap(([label, v]) => [
      { label: `${label} (plain)`, form: Buffer.from(v) },
      { label: `${label} (base64)`, form: Buffer.from(b64(v)) },
      { label: `${label} (JSON-escaped)`, form: Buffer.from(JSON.stringify(v).slice(1, -1)) },
      ...v
        .split(/["\\\n]/)
        .filter((piece) => piece !== v && piece.length >= 12)
        .map((piece, i) => ({ label: `${label} (piece ${i + 1})`, form: Buffer.from(piece) })),
    ]);
    const holds = (bytes: Buffer) => forms.filter((f) => bytes.includes(f.form)).map((f) => f.label);
    // The search finds each form where it is: in the Secrets as they were created.
    expect(holds(Buffer.from(JSON.stringify(seeded.map((x) => x.obj))))).toEqual(
      expect.arrayContaining([
        'opaque data password (base64)',
        'stringData api key (JSON-escaped)',
        'stringData api key (piece 1)',
        'stringData webhook url (plain)',
        'dockerconfigjson (base64)',
      ]),
    );
    const found: string[] = [];
    let scannedBytes = 0;
    const scan = (where: string, bytes: Buffer) => {
      scannedBytes += bytes.length;
      found.push(...holds(bytes).map((label) => `${label} in ${where}`));
    };

    // Git: the remote and the reconciler's clone, every object reachable from any ref.
    const remote = await gitObjects(repo.remote);
    scan('the policy repository', remote.bytes);
    const clone = await gitObjects(r.wc.dir);
    scan("the reconciler's clone", clone.bytes);
    const working = [...(await workingFiles(r.wc.dir)), ...(await workingFiles(dataDir))];
    for (const [path, bytes] of working) scan(path, bytes);
    // The logs and the CLI.
    const log = Buffer.concat(logChunks);
    scan("the reconciler's debug log", log);
    for (const o of outputs) scan(`lifeboat ${o.what}`, o.text);
    // The bucket, raw and gunzipped.
    const store = new S3Store({
      bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const keysInBucket: string[] = [];
    for await (const o of store.list('')) {
      const bytes = await readAll(await store.get(o.key));
      keysInBucket.push(o.key);
      scan(`s3://${bucket}/${o.key}`, bytes);
      if (bytes[0] === 0x1f && bytes[1] === 0x8b)
        scan(`s3://${bucket}/${o.key} (gunzipped)`, gunzipSync(bytes));
    }

    expect(found).toEqual([]);
    // The scan looked at what matters: the plan, status and restore record in Git, the
    // reconciler's debug lines, and the backup's and restore's objects.
    const remoteText = remote.bytes.toString('utf8');
    expect(remoteText).toContain('"kind": "RestorePlan"');
    expect(remoteText).toContain('kind: RestoreStatus');
    expect(remoteText).toContain(`${app}`);
    expect(remote.count).toBeGreaterThan(20);
    expect(clone.count).toBeGreaterThan(20);
    expect(working.length).toBeGreaterThanOrEqual(4);
    expect(log.toString('utf8')).toContain('"level":20');
    expect(keysInBucket.filter((key) => key.includes(backupName)).length).toBeGreaterThanOrEqual(4);
    expect(keysInBucket.filter((key) => key.includes('restores/secrets')).length).toBeGreaterThanOrEqual(3);
    expect(outputs.length).toBe(18);
    expect(keysInBucket.length).toBeGreaterThanOrEqual(8);
    expect(scannedBytes).toBeGreaterThan(40_000);
  });
});
