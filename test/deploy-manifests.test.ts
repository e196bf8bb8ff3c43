// The manifests in deploy/ are accepted by a real kube-apiserver, in the order the
// kustomization lists them, and say what deploy/README.md promises: the reconciler runs
// `lifeboat run` as a non-root user on a read-only root filesystem, its credentials come from
// Secrets, and backing up (read-only) is granted separately from restoring (writes, in the
// opt-in component deploy/restore/, checked here on top of the default manifests).
//
// Every object goes through server-side apply with dryRun=All (what `kubectl apply
// --server-side --dry-run=server` sends) and fieldValidation=Strict, so a misspelt field fails
// here instead of being dropped with a warning. A dry-run Namespace does not persist, so the
// Namespace is created for real under a unique name (the suite runs in parallel workers and
// more than once), and every reference to `lifeboat`'s namespace is rewritten to it.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { discoverResources } from '../src/backup/discover.js';
import { buildProgram } from '../src/cli/main.js';
import { KubeApiError, KubeClient, resourcePath } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { apiVersionOf } from '../src/kube/types.js';
import { ground, uniqueName } from './ground/world.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = join(root, 'deploy');
const FIELD_MANAGER = 'lifeboat-deploy-manifests-test';

interface Manifest {
  file: string;
  object: KubeObject;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

/** deploy/kustomization.yaml: its target namespace and its resource files, in order. */
async function readKustomization(): Promise<{ namespace: string; resources: string[] }> {
  const k = parseYaml(await readFile(join(deployDir, 'kustomization.yaml'), 'utf8')) as {
    namespace?: string;
    resources?: string[];
  };
  if (!k.namespace || !k.resources?.length) {
    throw new Error('deploy/kustomization.yaml: expected a namespace and a resources list');
  }
  return { namespace: k.namespace, resources: k.resources };
}

/** deploy/restore/kustomization.yaml: the opt-in component's resource files, relative to deploy/. */
async function readRestoreComponent(): Promise<string[]> {
  const k = parseYaml(await readFile(join(deployDir, 'restore', 'kustomization.yaml'), 'utf8')) as {
    kind?: string;
    resources?: string[];
  };
  if (k.kind !== 'Component' || !k.resources?.length) {
    throw new Error('deploy/restore/kustomization.yaml: expected a Component with a resources list');
  }
  return k.resources.map((file) => `restore/${file}`);
}

/** Every document of every listed file, in order. YAML 1.1, as kubectl's parser reads it. */
async function readManifests(resources: readonly string[]): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const file of resources) {
    const docs = parseAllDocuments(await readFile(join(deployDir, file), 'utf8'), { version: '1.1' });
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`deploy/${file}: ${doc.errors[0]?.message}`);
      const object = doc.toJS() as KubeObject | null;
      if (object !== null) out.push({ file, object });
    }
  }
  return out;
}

function resourceFor(resources: readonly ResourceInfo[], object: KubeObject): ResourceInfo {
  const info = resources.find((r) => apiVersionOf(r) === object.apiVersion && r.kind === object.kind);
  if (info === undefined) throw new Error(`the apiserver serves no ${object.apiVersion} ${object.kind}`);
  return info;
}

/** The object as it would be applied into `namespace` instead of the kustomization's. */
function intoNamespace(object: KubeObject, info: ResourceInfo, namespace: string): KubeObject {
  const copy = structuredClone(object);
  if (copy.kind === 'Namespace') copy.metadata.name = namespace;
  if (info.namespaced) copy.metadata.namespace = namespace;
  const subjects = copy.subjects as Subject[] | undefined;
  for (const subject of subjects ?? []) {
    if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
  }
  return copy;
}

function serverSideApply(
  kube: KubeClient,
  info: ResourceInfo,
  object: KubeObject,
  options: { dryRun: boolean },
): Promise<KubeObject> {
  return kube.request<KubeObject>({
    method: 'PATCH',
    path: resourcePath(info, { namespace: object.metadata.namespace, name: object.metadata.name }),
    query: {
      fieldManager: FIELD_MANAGER,
      force: 'true',
      fieldValidation: 'Strict',
      dryRun: options.dryRun ? 'All' : undefined,
    },
    body: object,
    contentType: 'application/apply-patch+yaml',
  });
}

function named(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`deploy/ has no ${kind} ${name}`);
  return found;
}

function rulesOf(role: KubeObject): PolicyRule[] {
  return (role.rules as PolicyRule[] | undefined) ?? [];
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];

let kube: KubeClient;
let resources: ResourceInfo[];
let kustomization: { namespace: string; resources: string[] };
let manifests: Manifest[];
let namespace: string;
/** The apiserver's answer to each manifest, in order: the object it would store, or its error. */
let outcomes: { manifest: Manifest; result?: KubeObject; error?: string }[];
/** The objects the apiserver accepted. */
let accepted: KubeObject[];

beforeAll(async () => {
  kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
  resources = await discoverResources(kube);
  kustomization = await readKustomization();
  // The default installation, then the opt-in restore component on top of it.
  manifests = await readManifests([...kustomization.resources, ...(await readRestoreComponent())]);
  namespace = uniqueName('lifeboat');
  outcomes = [];
  for (const manifest of manifests) {
    const info = resourceFor(resources, manifest.object);
    const target = intoNamespace(manifest.object, info, namespace);
    try {
      // The Namespace for real: a dry-run one would not exist for the objects inside it.
      const dryRun = manifest.object.kind !== 'Namespace';
      outcomes.push({ manifest, result: await serverSideApply(kube, info, target, { dryRun }) });
    } catch (err) {
      outcomes.push({ manifest, error: err instanceof Error ? err.message : String(err) });
    }
  }
  accepted = outcomes.flatMap((o) => (o.result === undefined ? [] : [o.result]));
});

afterAll(async () => {
  const info = resources.find((r) => r.group === '' && r.kind === 'Namespace');
  if (info !== undefined && namespace !== undefined) await kube.delete(info, '', namespace);
  kube.close();
});

describe('deploy/ on a real apiserver', () => {
  it('lists a Namespace first and keeps every namespaced manifest in the kustomization namespace', () => {
    expect(manifests[0]?.object.kind).toBe('Namespace');
    expect(manifests[0]?.object.metadata.name).toBe(kustomization.namespace);
    for (const { file, object } of manifests) {
      const info = resourceFor(resources, object);
      if (info.namespaced)
        expect(object.metadata.namespace, `${file} ${object.kind}`).toBe(kustomization.namespace);
      for (const subject of (object.subjects as Subject[] | undefined) ?? []) {
        expect(subject.namespace, `${file} ${object.kind} subject`).toBe(kustomization.namespace);
      }
    }
  });

  it('accepts every manifest, in order, with strict field validation', () => {
    const refused = outcomes
      .filter((o) => o.error !== undefined)
      .map(
        (o) =>
          `deploy/${o.manifest.file}: ${o.manifest.object.kind} ${o.manifest.object.metadata.name}: ${o.error}`,
      );
    expect(refused).toEqual([]);
    expect(accepted.map((o) => o.kind)).toEqual(manifests.map((m) => m.object.kind));
  });

  it('rejects a misspelt field, so the acceptance above means something', async () => {
    const deployment = manifests.find((m) => m.object.kind === 'Deployment');
    if (deployment === undefined) throw new Error('deploy/ has no Deployment');
    const info = resourceFor(resources, deployment.object);
    const typo = intoNamespace(deployment.object, info, namespace);
    (typo.spec as Record<string, unknown>).replica = 2;
    const error = await serverSideApply(kube, info, typo, { dryRun: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toContain('replica');
  });
});

describe('the reconciler Deployment', () => {
  interface Container {
    command?: string[];
    args?: string[];
    env?: {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
    }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    securityContext?: {
      readOnlyRootFilesystem?: boolean;
      allowPrivilegeEscalation?: boolean;
      runAsNonRoot?: boolean;
      runAsUser?: number;
    };
  }
  interface PodSpec {
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    containers: Container[];
    volumes?: { name: string; secret?: { secretName: string; defaultMode?: number } }[];
  }

  const podSpec = (): PodSpec => {
    const deployment = accepted.find((o) => o.kind === 'Deployment');
    if (deployment === undefined) throw new Error('the Deployment was not accepted');
    return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  };
  const container = (): Container => {
    const [first, ...rest] = podSpec().containers;
    if (first === undefined || rest.length > 0) throw new Error('expected exactly one container');
    return first;
  };

  it('runs `lifeboat run` through the image entry point', async () => {
    const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \[.*"\/app\/bin\/lifeboat\.js"\]$/m);
    expect(container().command).toBeUndefined();
    expect(container().args?.[0]).toBe('run');
  });

  it('passes `lifeboat run` only options it knows', async () => {
    const run = (await buildProgram()).commands.find((c) => c.name() === 'run');
    if (run === undefined) throw new Error('lifeboat has no run command');
    const known = new Set(run.options.map((o) => o.long));
    const given = (container().args ?? []).slice(1).map((arg) => arg.split('=')[0]);
    expect(given.length).toBeGreaterThan(0);
    expect(given.filter((flag) => !known.has(flag))).toEqual([]);
  });

  it('runs as a non-root user on a read-only root filesystem', () => {
    const pod = podSpec().securityContext;
    const own = container().securityContext;
    expect(own?.runAsNonRoot ?? pod?.runAsNonRoot).toBe(true);
    expect(own?.runAsUser ?? pod?.runAsUser).toBeGreaterThan(0);
    expect(own?.readOnlyRootFilesystem).toBe(true);
    expect(own?.allowPrivilegeEscalation).toBe(false);
  });

  it('writes only to mounted volumes: its checkout and data directories are under writable mounts', () => {
    const mounts = (container().volumeMounts ?? []).filter((m) => m.readOnly !== true);
    const dirs = (container().args ?? []).flatMap((arg) => {
      const m = /^--(?:workdir|data-dir)=(.+)$/.exec(arg);
      return m?.[1] === undefined ? [] : [m[1]];
    });
    expect(dirs).toHaveLength(2);
    for (const dir of dirs) {
      expect(
        mounts.some((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`)),
        dir,
      ).toBe(true);
    }
  });

  it('tells `lifeboat run` its namespace, where the leader-election Role is', () => {
    const env = container().env?.find((e) => e.name === 'POD_NAMESPACE');
    expect(env?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    const role = named(accepted, 'Role', 'lifeboat-leader-election');
    expect(role.metadata.namespace).toBe(namespace);
    expect(rulesOf(role)).toContainEqual(
      expect.objectContaining({ apiGroups: ['coordination.k8s.io'], resources: ['leases'] }),
    );
  });

  it('takes every credential from a Secret, never from a literal value', () => {
    const env = container().env ?? [];
    const credentials = env.filter((e) => /TOKEN|SECRET|PASSWORD|ACCESS_KEY/.test(e.name));
    expect(credentials.map((e) => e.name)).toEqual(
      expect.arrayContaining(['LIFEBOAT_GIT_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']),
    );
    for (const e of credentials) {
      expect(e.value, e.name).toBeUndefined();
      expect(e.valueFrom?.secretKeyRef?.name, e.name).toMatch(/^lifeboat-(git|s3)$/);
    }
    const sshKey = podSpec().volumes?.find((v) => v.secret?.secretName === 'lifeboat-git');
    expect(sshKey?.secret?.defaultMode).toBe(0o400);
  });
});

describe('RBAC', () => {
  const roles = (): KubeObject[] => accepted.filter((o) => o.kind === 'ClusterRole');
  const bindings = (): KubeObject[] => accepted.filter((o) => o.kind === 'ClusterRoleBinding');

  it('lets the backup ClusterRole only get and list', () => {
    const rules = rulesOf(named(roles(), 'ClusterRole', 'lifeboat-backup'));
    expect(rules.length).toBeGreaterThan(0);
    const verbs = rules.flatMap((rule) => rule.verbs);
    expect(verbs.filter((v) => v !== 'get' && v !== 'list')).toEqual([]);
  });

  it('grants the write verbs only in the restore ClusterRoles, which only the opt-in component holds', async () => {
    const restoreFiles = new Set(await readRestoreComponent());
    const isRestore = (role: KubeObject) =>
      manifests.some(
        (m) =>
          restoreFiles.has(m.file) &&
          m.object.kind === role.kind &&
          m.object.metadata.name === role.metadata.name,
      );
    const restoreRules = roles().filter(isRestore).flatMap(rulesOf);
    expect(restoreRules.flatMap((r) => r.verbs)).toEqual(
      expect.arrayContaining(['create', 'patch', 'update']),
    );
    // RBAC has no deny: no wildcard anywhere, so no subresource (serviceaccounts/token, pods/exec).
    for (const rule of restoreRules) {
      expect(rule.apiGroups ?? []).not.toContain('*');
      expect((rule.resources ?? []).filter((r) => r.includes('*') || r.includes('/'))).toEqual([]);
      // The one delete: a restore's temporary snapshot objects and probes (ADR 0022).
      const snapshotCleanup =
        (rule.apiGroups ?? []).every((g) => g === 'snapshot.storage.k8s.io') &&
        (rule.resources ?? []).every((r) => r === 'volumesnapshots' || r === 'volumesnapshotcontents');
      const allowed = ['create', 'patch', 'update', ...(snapshotCleanup ? ['delete'] : [])];
      expect(rule.verbs.filter((v) => !allowed.includes(v))).toEqual([]);
    }
    // The node agent writes the status of lifeboat's own PodVolumeBackups/-Restores, nothing else.
    const ownStatus = (r: PolicyRule) =>
      (r.apiGroups ?? []).every((g) => g === 'lifeboat.dev') &&
      (r.resources ?? []).every((res) => /^podvolume(backups|restores)\/status$/.test(res));
    for (const role of roles().filter((r) => !isRestore(r))) {
      const verbs = rulesOf(role)
        .filter((r) => !(role.metadata.name === 'lifeboat-agent' && ownStatus(r)))
        .flatMap((r) => r.verbs);
      expect(
        verbs.filter((v) => WRITE_VERBS.includes(v)),
        String(role.metadata.name),
      ).toEqual([]);
    }
    // Separate bindings, so leaving the component out leaves a backup-only reconciler.
    for (const role of ['lifeboat-backup', 'lifeboat-restore']) {
      const bound = bindings().filter((b) => (b.roleRef as { name: string }).name === role);
      expect(bound, role).toHaveLength(1);
      expect(bound[0]?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'lifeboat', namespace }]);
    }
    const restoreBinding = manifests.find(
      (m) => m.object.kind === 'ClusterRoleBinding' && m.object.metadata.name === 'lifeboat-restore',
    );
    expect(restoreFiles.has(restoreBinding?.file ?? '')).toBe(true);
  });
});
