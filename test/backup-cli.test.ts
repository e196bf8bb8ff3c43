// `lifeboat backup create/list/describe/logs/download/delete` end to end, as a person or a
// script runs them: a real process, real flags, JSON output, exit codes. Deleting one backup
// removes exactly its objects; a backup named `<name>-2` is untouched.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { configMap, createObjects } from './fixtures/seed.js';
import { groundKube } from './fixtures/backups.js';
import { ground, newBucket, newNamespace, tempDir, uniqueName } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The published entry point, which runs the compiled CLI (the global setup builds dist/). */
const cli = join(root, 'bin', 'lifeboat.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lifeboat(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: root, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function json<T>(run: Run): T {
  expect(run.stderr.match(/^error: .*/m)?.[0]).toBeUndefined();
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(
      path.slice(dir.length + 1),
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return out;
}

let namespace: string;

beforeAll(async () => {
  namespace = await newNamespace('cli');
  const kube = await groundKube();
  try {
    await createObjects(kube, [
      configMap({ namespace, name: 'settings', labels: { app: 'shop' } }),
      configMap({ namespace, name: 'flags', labels: { app: 'shop' } }),
    ]);
  } finally {
    kube.close();
  }
});

interface CreateOutput {
  name: string;
  phase: string;
  totalItems: number;
  sha256: string;
  revision: string;
}
interface ListRow {
  name: string;
  phase: string;
  items: number;
}
interface DescribeOutput {
  backup: {
    metadata: { name: string; annotations: Record<string, string> };
    status: { phase: string; progress: { totalItems: number } };
    spec: { includedNamespaces: string[]; ttl: string };
  };
  resources?: Record<string, string[]>;
}

describe('lifeboat backup', () => {
  it('creates, lists, describes, prints logs of, downloads and deletes backups in a directory', async () => {
    const storage = await tempDir('cli-store-');
    const common = ['--kubeconfig', ground().kubeconfigPath, '--storage', storage, '-o', 'json'];
    const name = uniqueName('cli');
    const second = `${name}-2`;

    const created = json<CreateOutput>(
      await lifeboat([
        'backup',
        'create',
        name,
        '--include-namespaces',
        namespace,
        '--ttl',
        '48h',
        ...common,
      ]),
    );
    expect(created).toMatchObject({ name, phase: 'Completed' });
    // Two ConfigMaps, the namespace's kube-root-ca.crt, its default ServiceAccount, the Namespace.
    expect(created.totalItems).toBe(5);
    const createdSecond = json<CreateOutput>(
      await lifeboat([
        'backup',
        'create',
        second,
        '--include-namespaces',
        namespace,
        '-l',
        'app=shop',
        ...common,
      ]),
    );
    expect(createdSecond).toMatchObject({ name: second, phase: 'Completed', totalItems: 3 });

    const listed = json<ListRow[]>(await lifeboat(['backup', 'list', ...common]));
    expect(listed.map((r) => [r.name, r.phase, r.items])).toEqual([
      [name, 'Completed', 5],
      [second, 'Completed', 3],
    ]);

    const described = json<DescribeOutput>(
      await lifeboat(['backup', 'describe', name, '--details', ...common]),
    );
    expect(described.backup.metadata.name).toBe(name);
    expect(described.backup.status.phase).toBe('Completed');
    expect(described.backup.spec).toMatchObject({ includedNamespaces: [namespace], ttl: '48h0m0s' });
    expect(described.backup.metadata.annotations['lifeboat.dev/archive-sha256']).toBe(created.sha256);
    expect(described.backup.metadata.annotations['lifeboat.dev/resource-version']).toBe(created.revision);
    expect(described.resources?.['v1/ConfigMap']).toEqual(
      [`${namespace}/flags`, `${namespace}/kube-root-ca.crt`, `${namespace}/settings`].sort(),
    );

    const logs = await lifeboat(['backup', 'logs', name, ...common]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/msg="backup started"/);
    expect(logs.stdout).toMatch(/msg="backup Completed"/);

    const file = join(await tempDir('cli-download-'), 'archive.tar.gz');
    const downloaded = await lifeboat(['backup', 'download', name, '--file', file, ...common]);
    expect(downloaded.code).toBe(0);
    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    ).toBe(created.sha256);

    // Delete the first backup: its four objects go, the second backup's stay byte for byte.
    const before = await filesUnder(storage);
    const secondFiles = [...before].filter(([k]) => k.startsWith(`backups/${second}/`));
    expect(secondFiles).toHaveLength(4);
    const deleted = await lifeboat(['backup', 'delete', name, ...common]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(new RegExp(`Backup ${name} deleted \\(4 objects\\)`));
    const after = await filesUnder(storage);
    expect([...after].sort()).toEqual(secondFiles.sort());

    expect(json<ListRow[]>(await lifeboat(['backup', 'list', ...common])).map((r) => r.name)).toEqual([
      second,
    ]);
    const gone = await lifeboat(['backup', 'describe', name, ...common]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(new RegExp(`backup ${name} not found`));
  });

  it('works against S3 with credentials from the environment, never from flags', async () => {
    const { s3, kubeconfigPath } = ground();
    const bucket = await newBucket('cli');
    const storage = `s3://${bucket}/team-a?endpoint=${encodeURIComponent(s3.endpoint)}`;
    const env = {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    const common = ['--kubeconfig', kubeconfigPath, '--storage', storage, '-o', 'json'];
    const name = uniqueName('cli-s3');
    const created = json<CreateOutput>(
      await lifeboat(['backup', 'create', name, '--include-namespaces', namespace, ...common], env),
    );
    expect(created).toMatchObject({ name, phase: 'Completed', totalItems: 5 });
    expect(created.sha256).toMatch(/^[0-9a-f]{64}$/);
    const rows = json<ListRow[]>(await lifeboat(['backup', 'list', ...common], env));
    expect(rows.map((r) => r.name)).toEqual([name]);
    expect((await lifeboat(['backup', 'delete', name, ...common], env)).code).toBe(0);
    expect(json<ListRow[]>(await lifeboat(['backup', 'list', ...common], env))).toEqual([]);
    // No output of any command carried the secret.
    const wrong = await lifeboat(['backup', 'list', ...common], { ...env, AWS_SECRET_ACCESS_KEY: 'not-it' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/credentials rejected/);
    expect(wrong.stderr).not.toContain('not-it');
  });

  it('exits non-zero with the reason on bad input, and stores nothing', async () => {
    const storage = await tempDir('cli-bad-');
    const common = ['--kubeconfig', ground().kubeconfigPath, '--storage', storage];
    const unknown = await lifeboat([
      'backup',
      'create',
      uniqueName('bad'),
      '--include-resources',
      'gizmos',
      ...common,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/includedResources\[0\]: unknown resource "gizmos"/);
    const usage = await lifeboat([
      'backup',
      'create',
      uniqueName('bad'),
      '--include-cluster-resources',
      'sometimes',
      ...common,
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--include-cluster-resources must be true, false or auto/);
    expect(await filesUnder(storage)).toEqual(new Map());
  });
});
