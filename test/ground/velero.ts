// Velero on the test ground: the real `velero server` (built by scripts/build-velero.sh), run
// out of cluster against the ground's apiserver with the AWS object-store plugin, and a
// BackupStorageLocation on the ground's S3 server. For the interop tests and the side-by-side
// benchmark.
//
// How Velero finds its plugins out of cluster (velero pkg/plugin/clientmgmt/process/registry.go):
// its built-in plugins are its own executable run again as `<os.Args[0]> run-plugins`, so the
// server must be started by an absolute path; every executable file under --plugin-dir (searched
// recursively) is another plugin, started as a subprocess with the server's flags, so the
// directory holds the AWS plugin and nothing else. The plugin reads its keys from the file named
// by AWS_SHARED_CREDENTIALS_FILE, which it inherits from the server.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/types.js';
import type { S3Endpoint } from './context.js';

const here = dirname(fileURLToPath(import.meta.url));
const versions = JSON.parse(readFileSync(join(here, 'versions.json'), 'utf8')) as { velero: string };

export function veleroBinaries(): { velero: string; pluginDir: string } {
  const dir = join(
    process.env.LIFEBOAT_CACHE ?? join(homedir(), '.cache', 'lifeboat'),
    'velero',
    versions.velero,
  );
  const bins = { velero: join(dir, 'velero'), pluginDir: join(dir, 'plugins') };
  const missing = [bins.velero, join(bins.pluginDir, 'velero-plugin-for-aws')].filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new Error(
      `Velero is not built: ${missing.join(', ')} missing. Run 'bash scripts/build-velero.sh'.`,
    );
  return bins;
}

export interface VeleroOptions {
  kubeconfigPath: string;
  s3: S3Endpoint;
  /** Credentials file and the server's log go here. */
  dir: string;
  /** How often Velero syncs backups from its locations and validates them (Go duration). */
  syncPeriod?: string;
  /** Extra `velero server` flags (client QPS and the like, for the benchmark). */
  serverArgs?: string[];
  log?: (line: string) => void;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface VeleroLocation {
  name: string;
  bucket: string;
  prefix?: string;
  default?: boolean;
}

export interface Velero {
  /** The namespace the server watches; its own, so servers of parallel test files never meet. */
  namespace: string;
  logPath: string;
  /** The server's process id, which is also its process group's (its plugins are in the group). */
  pid: number;
  /** `velero --kubeconfig … --namespace … <args>`; resolves with the exit code, never throws on it. */
  cli(args: string[]): Promise<CliResult>;
  /** Create a BackupStorageLocation on the ground's S3 server (path-style, s3Url). */
  addLocation(loc: VeleroLocation): Promise<void>;
  /** A Velero object of this namespace (`backups`, `restores`, `backupstoragelocations`, …). */
  get(resource: string, name: string): Promise<KubeObject | null>;
  create(resource: string, obj: KubeObject): Promise<KubeObject>;
  /** Wait until `check` passes on the object; fails with the server log's tail. */
  waitFor(
    resource: string,
    name: string,
    check: (o: KubeObject) => boolean,
    timeoutMs?: number,
  ): Promise<KubeObject>;
  stop(): Promise<void>;
}

const VELERO_API = '/apis/velero.io/v1';

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${bin}: ${err.message}`));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** The CRDs of this Velero release, from `velero install --crds-only --dry-run -o yaml`, applied once. */
async function installCrds(velero: string, kube: KubeClient): Promise<void> {
  const out = await run(velero, ['install', '--crds-only', '--dry-run', '-o', 'yaml']);
  if (out.code !== 0) throw new Error(`velero install --crds-only failed (${out.code}): ${out.stderr}`);
  const crds: KubeObject[] = [];
  for (const doc of parseAllDocuments(out.stdout)) {
    const o = doc.toJS() as (KubeObject & { items?: KubeObject[] }) | null;
    if (!o) continue;
    for (const item of o.kind === 'List' ? (o.items ?? []) : [o])
      if (item.kind === 'CustomResourceDefinition') crds.push(item);
  }
  if (crds.length === 0) throw new Error('velero install --crds-only printed no CustomResourceDefinitions');
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const crd of crds) {
    try {
      await kube.request({ method: 'POST', path, body: crd });
    } catch (err) {
      // Another test file's Velero installed them already: the same release, the same CRDs.
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
  }
  for (const crd of crds) {
    await until(`CRD ${crd.metadata.name} established`, 60_000, async () => {
      const live = await kube.request<KubeObject>({ method: 'GET', path: `${path}/${crd.metadata.name}` });
      const conditions = ((live.status ?? {}) as { conditions?: { type: string; status: string }[] })
        .conditions;
      return conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
  }
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startVelero(opts: VeleroOptions): Promise<Velero> {
  const { velero, pluginDir } = veleroBinaries();
  const kube = await KubeClient.create({ kubeconfig: opts.kubeconfigPath });
  const namespace = `velero-${randomBytes(3).toString('hex')}`;
  await mkdir(opts.dir, { recursive: true });
  const credentials = join(opts.dir, 'credentials');
  await writeFile(
    credentials,
    `[default]\naws_access_key_id=${opts.s3.accessKeyId}\naws_secret_access_key=${opts.s3.secretAccessKey}\n`,
    { mode: 0o600 },
  );
  await installCrds(velero, kube);
  await kube.request({
    method: 'POST',
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
  });
  // `velero install` makes a Deployment named velero, and the server's pod restore action reads
  // its image (for the restore-helper init container) whenever a restored pod is seen; out of
  // cluster there is none, so the restore of any pod fails with `deployments.apps "velero" not
  // found`. A Deployment of no replicas stands where the install's would.
  await kube.request({
    method: 'POST',
    path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'velero', labels: { component: 'velero' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { component: 'velero' } },
        template: {
          metadata: { labels: { component: 'velero' } },
          spec: {
            containers: [
              { name: 'velero', image: `ground.local/velero:${versions.velero}`, imagePullPolicy: 'Never' },
            ],
          },
        },
      },
    },
  });

  const period = opts.syncPeriod ?? '5s';
  const logPath = join(opts.dir, `velero-server-${namespace}.log`);
  const logStream = createWriteStream(logPath);
  const env = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentials };
  const args = [
    'server',
    ...['--kubeconfig', opts.kubeconfigPath, '--namespace', namespace],
    ...['--plugin-dir', pluginDir],
    // Loopback only, on a port the OS picks; no profiler.
    ...['--metrics-address', '127.0.0.1:0', '--profiler-address', ''],
    ...['--backup-sync-period', period, '--store-validation-frequency', period],
    // Objects only: no file-system backup by default and no node agent is running.
    '--default-volumes-to-fs-backup=false',
    '--features=',
    '--log-format',
    'json',
    ...(opts.serverArgs ?? []),
  ];
  // Its own process group, so that stopping it also stops the plugin processes it started.
  const child: ChildProcess = spawn(velero, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.pipe(logStream);
  child.stderr?.pipe(logStream);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const tail = async (): Promise<string> =>
    (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
  opts.log?.(`velero server ${versions.velero} in namespace ${namespace}, log ${logPath}`);

  const objectPath = (resource: string, name?: string) =>
    `${VELERO_API}/namespaces/${namespace}/${resource}${name ? `/${name}` : ''}`;
  if (child.pid === undefined) throw new Error(`velero server did not start: no process id`);
  const handle: Velero = {
    namespace,
    logPath,
    pid: child.pid,
    cli: (cliArgs) =>
      run(velero, ['--kubeconfig', opts.kubeconfigPath, '--namespace', namespace, ...cliArgs], {
        ...env,
        HOME: opts.dir, // the CLI's own config file (~/.config/velero) stays out of the user's home
      }),
    async get(resource, name) {
      try {
        return await kube.request<KubeObject>({ method: 'GET', path: objectPath(resource, name) });
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return null;
        throw err;
      }
    },
    create: (resource, obj) =>
      kube.request<KubeObject>({
        method: 'POST',
        path: objectPath(resource),
        body: { ...obj, metadata: { ...obj.metadata, namespace } },
      }),
    async addLocation(loc) {
      await handle.create('backupstoragelocations', {
        apiVersion: 'velero.io/v1',
        kind: 'BackupStorageLocation',
        metadata: { name: loc.name },
        spec: {
          provider: 'aws',
          default: loc.default ?? false,
          objectStorage: { bucket: loc.bucket, ...(loc.prefix ? { prefix: loc.prefix } : {}) },
          config: { region: opts.s3.region, s3Url: opts.s3.endpoint, s3ForcePathStyle: 'true' },
          validationFrequency: period,
        },
      });
    },
    async waitFor(resource, name, check, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let last: KubeObject | null = null;
      for (;;) {
        if (exited) throw new Error(`velero server exited:\n${await tail()}`);
        last = await handle.get(resource, name);
        if (last && check(last)) return last;
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${resource}/${name}: ${JSON.stringify(last?.status ?? null)}\n${await tail()}`,
          );
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async stop() {
      if (!exited && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          if (!exited && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        }, 10_000);
        await exit;
        clearTimeout(timer);
      }
      logStream.end();
      kube.close();
    },
  };
  // Ready once the server has started its controllers (it logs this line).
  try {
    await until('velero server to start', 120_000, async () => {
      if (exited) throw new Error('exited');
      return (await readFile(logPath, 'utf8')).includes('Server starting...');
    });
  } catch (err) {
    await handle.stop();
    throw new Error(`velero server did not start (${String(err)}):\n${await tail()}`);
  }
  return handle;
}

/** A BackupStorageLocation's phase and message, as Velero last validated it. */
export function locationStatus(bsl: KubeObject): {
  phase?: string;
  message?: string;
  lastValidationTime?: string;
} {
  const status: { phase?: string; message?: string; lastValidationTime?: string } = bsl.status ?? {};
  return status;
}
