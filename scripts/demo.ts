// `npm run demo`: lifeboat end to end on embedded defaults, narrated.
//
// Starts the local cluster of the test ground, deploys a sample application, creates a policy
// repository from policies/ (local-directory storage), and drives the real `lifeboat` CLI:
// a scheduled backup, a lost namespace, a restore proposed on a branch, its plan, the merge
// that approves it, the restore applied, the application back, and the audit trail.
//
//   npm run demo              # everything in a temporary directory, removed at the end
//   npm run demo -- --keep    # keep the directory (policy repo, backups) to look around
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeClient, KubeApiError } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { startGround } from '../test/ground/ground.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const color = process.stdout.isTTY && !('NO_COLOR' in process.env);
const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s);

let stepNo = 0;
function step(title: string, explain: string): void {
  stepNo++;
  console.log(`\n${bold(`${stepNo}. ${title}`)}\n${dim(explain)}`);
}

function indent(text: string, lines = 40): string {
  const all = text.trimEnd().split('\n');
  const shown = all.slice(0, lines).map((l) => `   ${l}`);
  if (all.length > lines) shown.push(`   … (${all.length - lines} more lines)`);
  return shown.join('\n');
}

/** How to reach a built-in resource (`group/version`, plural, kind); cluster-scoped when marked. */
function info(
  apiVersion: string,
  resource: string,
  kind: string,
  scope: 'cluster' | 'namespaced' = 'namespaced',
): ResourceInfo {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return {
    group: group ?? '',
    version: version ?? '',
    resource,
    kind,
    namespaced: scope === 'namespaced',
    verbs: [],
    shortNames: [],
    singularName: kind.toLowerCase(),
    preferredVersion: version ?? '',
  };
}
const R = {
  namespaces: info('v1', 'namespaces', 'Namespace', 'cluster'),
  configmaps: info('v1', 'configmaps', 'ConfigMap'),
  secrets: info('v1', 'secrets', 'Secret'),
  services: info('v1', 'services', 'Service'),
  serviceaccounts: info('v1', 'serviceaccounts', 'ServiceAccount'),
  deployments: info('apps/v1', 'deployments', 'Deployment'),
};

async function git(cwd: string, args: string[], who?: { name: string; email: string }): Promise<string> {
  const identity = who ? ['-c', `user.name=${who.name}`, '-c', `user.email=${who.email}`] : [];
  const { stdout } = await run('git', [...identity, ...args], { cwd });
  return stdout;
}

/** Run the real CLI, print what it prints, and return its output. */
async function lifeboat(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  console.log(dim(`   $ lifeboat ${args.join(' ')}`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/lifeboat.js'), ...args], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (out.trim()) console.log(indent(out));
      if (code !== 0) reject(new Error(`lifeboat ${args[0] ?? ''} exited ${code}: ${err || out}`));
      else resolve(out);
    });
  });
}

async function deploySample(kube: KubeClient): Promise<void> {
  const ns = 'shop';
  const objects: [ResourceInfo, KubeObject][] = [
    [R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'shop' } } }],
    [
      R.configmaps,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: ns },
        data: { currency: 'EUR', theme: 'dark' },
      },
    ],
    [
      R.secrets,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db-credentials', namespace: ns },
        stringData: { password: 'demo-only-not-a-real-password' },
      },
    ],
    [
      R.serviceaccounts,
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: ns } },
    ],
    [
      R.deployments,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              serviceAccountName: 'web',
              containers: [
                { name: 'web', image: 'registry.example/shop/web:1.4.2', ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    ],
    [
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ],
  ];
  for (const [i, obj] of objects) {
    await kube.create(i, obj);
    console.log(
      `   created ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name ?? ''}`,
    );
  }
}

async function listShop(kube: KubeClient): Promise<string[]> {
  const out: string[] = [];
  for (const i of [R.deployments, R.services, R.configmaps, R.secrets, R.serviceaccounts]) {
    const page = await kube.list(i, { namespace: 'shop' });
    for (const o of page.items) out.push(`${o.kind}/${o.metadata.name ?? ''}`);
  }
  return out.sort();
}

async function waitGone(kube: KubeClient, name: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if ((await kube.get(R.namespaces, '', name)) === null) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`namespace ${name} did not go away`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-demo-'));
  console.log(bold('lifeboat demo') + dim(` — working in ${dir}`));

  step(
    'Start a local cluster',
    'A real etcd, kube-apiserver, controller-manager and scheduler on loopback, and a node (containerd and a kubelet) that runs pods (the test ground).',
  );
  const ground = await startGround({
    dir: join(dir, 'cluster'),
    node: true,
    log: (l) => console.log(`   ${l}`),
  });
  const env = { KUBECONFIG: ground.info.kubeconfigPath };
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath });
  try {
    step(
      'Deploy a sample application',
      'The namespace "shop": a Deployment, a Service, a ConfigMap, a Secret, a ServiceAccount.',
    );
    await deploySample(kube);
    const before = await listShop(kube);

    step(
      'Create the policy repository',
      'A Git remote holding the example policies from policies/, using local-directory storage.',
    );
    const remote = join(dir, 'policies.git');
    await git(dir, ['init', '-q', '--bare', '--initial-branch=main', remote]);
    const alice = { name: 'Alice (platform)', email: 'alice@example.com' };
    const bob = { name: 'Bob (shop team)', email: 'bob@example.com' };
    const carol = { name: 'Carol (SRE lead)', email: 'carol@example.com' };
    const clone = join(dir, 'people-clone');
    await git(dir, ['clone', '-q', remote, clone]);
    await cp(join(root, 'policies/schema'), join(clone, 'schema'), { recursive: true });
    await cp(join(root, 'policies/README.md'), join(clone, 'README.md'));
    await mkdir(join(clone, 'storage-locations'));
    await mkdir(join(clone, 'schedules'));
    await cp(
      join(root, 'policies/storage-locations/default.yaml'),
      join(clone, 'storage-locations/default.yaml'),
    );
    // The example sends nightly-shop to the S3 location "primary"; the demo keeps everything local.
    const nightly = (await readFile(join(root, 'policies/schedules/nightly-shop.yaml'), 'utf8')).replace(
      'storageLocation: primary',
      'storageLocation: default',
    );
    await writeFile(join(clone, 'schedules/nightly-shop.yaml'), nightly);
    await git(clone, ['add', '-A']);
    await git(clone, ['commit', '-q', '-m', 'Back up the shop every night'], alice);
    await git(clone, ['push', '-q', 'origin', 'HEAD:main']);
    console.log(
      indent(
        nightly
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n'),
        30,
      ),
    );
    await lifeboat(['validate', clone], env);

    const repoArgs = ['--repo', remote, '--workdir', join(dir, 'reconciler-checkout'), '--data-dir', dir];
    step(
      'Reconcile',
      'A new schedule runs at once (as in Velero): lifeboat backs up "shop" and commits status to Git.',
    );
    await lifeboat(['reconcile', '--once', ...repoArgs], env);
    await git(clone, ['pull', '-q', 'origin', 'main']);
    const backups = await lifeboat(['backup', 'list', '--storage', join(dir, '.lifeboat/backups')], env);
    const backupName = /^(nightly-shop-\d+)/m.exec(backups)?.[1] ?? '';

    step(
      'Disaster',
      'Someone deletes the namespace "shop". The controller-manager removes everything in it.',
    );
    await kube.request({ method: 'DELETE', path: '/api/v1/namespaces/shop' });
    await waitGone(kube, 'shop');
    console.log(`   namespace shop is gone; objects left: ${(await listShop(kube)).length}`);

    step(
      'Propose a restore on a branch',
      'Bob adds restores/shop-restore.yaml on the branch restore/shop and pushes it.',
    );
    await git(clone, ['checkout', '-q', '-b', 'restore/shop']);
    await mkdir(join(clone, 'restores'), { recursive: true });
    const restoreDoc = [
      'apiVersion: lifeboat.dev/v1',
      'kind: Restore',
      'metadata:',
      '  name: shop-restore',
      'spec:',
      '  scheduleName: nightly-shop',
      '  includedNamespaces: [shop]',
      '',
    ].join('\n');
    await writeFile(join(clone, 'restores/shop-restore.yaml'), restoreDoc);
    await git(clone, ['add', '-A']);
    await git(clone, ['commit', '-q', '-m', 'Restore the shop after the accidental delete'], bob);
    await git(clone, ['push', '-q', 'origin', 'restore/shop']);
    console.log(indent(restoreDoc));

    step(
      'lifeboat writes the plan to the branch',
      'Reviewers read plans/shop-restore.md in the pull-request diff.',
    );
    await lifeboat(['reconcile', '--once', ...repoArgs], env);
    await git(clone, ['pull', '-q', 'origin', 'restore/shop']);
    const plan = await readFile(join(clone, 'plans/shop-restore.md'), 'utf8');
    console.log(indent(plan, 45));

    step(
      'Approve by merging',
      'Carol merges the branch into main (--no-ff keeps the merge as the approval record).',
    );
    await git(clone, ['checkout', '-q', 'main']);
    await git(clone, ['pull', '-q', 'origin', 'main']);
    await git(
      clone,
      ['merge', '-q', '--no-ff', 'restore/shop', '-m', 'Merge restore/shop: approve the shop restore'],
      carol,
    );
    await git(clone, ['push', '-q', 'origin', 'main']);

    step(
      'Reconcile',
      'The plan is still what lifeboat would do now, so it applies it and records the result.',
    );
    await lifeboat(['reconcile', '--once', ...repoArgs], env);
    const after = await listShop(kube);
    const missing = before.filter((o) => !after.includes(o));
    console.log(`   shop again holds: ${after.join(', ')}`);
    if (missing.length > 0) throw new Error(`not restored: ${missing.join(', ')}`);
    const secret = await kube.get(R.secrets, 'shop', 'db-credentials');
    const value = Buffer.from((secret?.data as Record<string, string>).password ?? '', 'base64').toString();
    console.log(
      `   the Secret's value survived the round trip: ${value === 'demo-only-not-a-real-password' ? 'yes' : 'NO'} (never printed, never in Git)`,
    );

    step('The audit trail', 'From the Git log alone: who asked, who approved, what was applied and when.');
    await lifeboat(['audit', ...repoArgs], env);
    console.log(`\n${bold('Done.')} Backup ${backupName} restored through a reviewed, merged plan.`);
  } catch (err) {
    if (err instanceof KubeApiError) console.error(`Kubernetes API: ${err.message}`);
    throw err;
  } finally {
    kube.close();
    await ground.stop();
    if (keep) console.log(dim(`kept ${dir}`));
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
