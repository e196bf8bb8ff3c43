import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import type { SanitizeOptions } from './sanitize.js';
import { SanitizeError, sanitizeForRestore, validLabelValue } from './sanitize.js';

const base: SanitizeOptions = {
  groupResource: 'configmaps',
  restoreStatus: false,
  preserveNodePorts: false,
  backupName: 'nightly-1',
  restoreName: 'restore-1',
};

function obj(
  kind: string,
  extra: Partial<KubeObject> & Record<string, unknown> = {},
  apiVersion = 'v1',
): KubeObject {
  const { metadata, ...rest } = extra;
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'shop', ...metadata }, ...rest };
}

function restored(o: KubeObject, opts: Partial<SanitizeOptions> = {}): KubeObject {
  const result = sanitizeForRestore(o, { ...base, ...opts });
  if (result.object === undefined) throw new Error(`unexpected skip: ${result.skip}`);
  return result.object;
}

function skipped(o: KubeObject, opts: Partial<SanitizeOptions> = {}): string {
  const result = sanitizeForRestore(o, { ...base, ...opts });
  if (result.skip === undefined) throw new Error('expected a skip');
  return result.skip;
}

describe('sanitizeForRestore: metadata (Velero resetMetadata)', () => {
  const serverSet = {
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2024-01-01T00:00:00Z',
    deletionTimestamp: '2024-01-02T00:00:00Z',
    deletionGracePeriodSeconds: 30,
    selfLink: '/api/v1/namespaces/shop/configmaps/x',
    managedFields: [{ manager: 'kubectl' }],
  };
  it.each(Object.keys(serverSet))('drops metadata.%s', (field) => {
    const out = restored(obj('ConfigMap', { metadata: { ...serverSet } }));
    expect(out.metadata).not.toHaveProperty(field);
  });

  it('keeps name, namespace, labels, annotations and finalizers', () => {
    const meta = { labels: { app: 'a' }, annotations: { note: 'n' }, finalizers: ['f/x'] };
    const out = restored(obj('ConfigMap', { metadata: meta }));
    expect(out.metadata).toMatchObject({ name: 'x', namespace: 'shop', ...meta, labels: { app: 'a' } });
  });

  it.each([
    ['dropped when the object has a name', { name: 'x', generateName: 'x-' }, false],
    ['kept when the object has no name', { name: undefined, generateName: 'x-' }, true],
  ])('generateName is %s', (_label, meta, kept) => {
    const out = restored(obj('ConfigMap', { metadata: meta }));
    expect(out.metadata.generateName === 'x-').toBe(kept);
  });

  it('drops non-controller ownerReferences (owners get new UIDs)', () => {
    const owner = { apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'old' };
    const out = restored(obj('ConfigMap', { metadata: { ownerReferences: [owner] } }));
    expect(out.metadata.ownerReferences).toBeUndefined();
  });

  it('restores the children of operators (not built-in controllers) without their ownerReferences', () => {
    const owner = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      name: 'c',
      uid: 'old',
      controller: true,
    };
    const out = restored(
      obj('Secret', { type: 'kubernetes.io/tls', metadata: { ownerReferences: [owner] } }),
      {
        groupResource: 'secrets',
      },
    );
    expect(out.metadata.ownerReferences).toBeUndefined();
  });

  it('does not modify its input', () => {
    const input = obj('ConfigMap', { metadata: { uid: 'u', labels: { a: 'b' } }, status: { x: 1 } });
    const copy = structuredClone(input);
    restored(input);
    expect(input).toEqual(copy);
  });

  it('refuses an object without metadata, naming it', () => {
    const bad = { apiVersion: 'v1', kind: 'ConfigMap' } as unknown as KubeObject;
    expect(() => sanitizeForRestore(bad, base)).toThrow(SanitizeError);
    expect(() => sanitizeForRestore(bad, base)).toThrow(/configmaps/);
  });
});

describe('sanitizeForRestore: status and labels', () => {
  it.each([
    [false, false],
    [true, true],
  ])('restoreStatus %s keeps status: %s', (restoreStatus, kept) => {
    const out = restored(obj('ConfigMap', { status: { phase: 'Ready' } }), { restoreStatus });
    expect('status' in out).toBe(kept);
  });

  it('adds lifeboat and Velero backup/restore labels, keeping existing labels', () => {
    const out = restored(obj('ConfigMap', { metadata: { labels: { app: 'a' } } }));
    expect(out.metadata.labels).toEqual({
      app: 'a',
      'lifeboat.dev/backup-name': 'nightly-1',
      'lifeboat.dev/restore-name': 'restore-1',
      'velero.io/backup-name': 'nightly-1',
      'velero.io/restore-name': 'restore-1',
    });
  });

  it('shortens label values over 63 characters like Velero GetValidName', () => {
    const long = 'b'.repeat(70);
    const value = validLabelValue(long);
    expect(value).toHaveLength(63);
    expect(value.startsWith('b'.repeat(57))).toBe(true);
    expect(value.slice(57)).toMatch(/^[0-9a-f]{6}$/);
    expect(validLabelValue('short')).toBe('short');
    expect(validLabelValue('b'.repeat(71))).not.toBe(value);
  });
});

describe('sanitizeForRestore: skips', () => {
  const controller = (apiVersion: string, kind: string) => ({
    metadata: { ownerReferences: [{ apiVersion, kind, name: 'owner', uid: 'u', controller: true }] },
  });
  it.each([
    [
      'a ReplicaSet owned by a ReplicationController',
      'replicasets.apps',
      obj('ReplicaSet', controller('v1', 'ReplicationController'), 'apps/v1'),
      /ReplicationController owner/,
    ],
    [
      'a Pod owned by a ReplicaSet',
      'pods',
      obj('Pod', controller('apps/v1', 'ReplicaSet')),
      /ReplicaSet owner/,
    ],
    ['a Pod owned by a StatefulSet', 'pods', obj('Pod', controller('apps/v1', 'StatefulSet')), /StatefulSet/],
    [
      'a Job owned by a CronJob',
      'jobs.batch',
      obj('Job', controller('batch/v1', 'CronJob'), 'batch/v1'),
      /CronJob/,
    ],
    [
      'an EndpointSlice owned by a Service',
      'endpointslices.discovery.k8s.io',
      obj('EndpointSlice', controller('v1', 'Service'), 'discovery.k8s.io/v1'),
      /Service/,
    ],
    [
      'an EndpointSlice managed by the endpointslice controller',
      'endpointslices.discovery.k8s.io',
      obj(
        'EndpointSlice',
        {
          metadata: {
            labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
          },
        },
        'discovery.k8s.io/v1',
      ),
      /endpointslice-controller/,
    ],
    [
      'Endpoints maintained by the endpoints controller',
      'endpoints',
      obj('Endpoints', {
        metadata: { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': 't' } },
      }),
      /endpoints controller/,
    ],
    [
      'the apiserver Endpoints default/kubernetes',
      'endpoints',
      obj('Endpoints', { metadata: { name: 'kubernetes', namespace: 'default' } }),
      /apiserver/,
    ],
    [
      'a mirror pod',
      'pods',
      obj('Pod', { metadata: { annotations: { 'kubernetes.io/config.mirror': 'h' } } }),
      /mirror/,
    ],
    ['a succeeded pod', 'pods', obj('Pod', { status: { phase: 'Succeeded' } }), /completed/],
    ['a failed pod', 'pods', obj('Pod', { status: { phase: 'Failed' } }), /completed/],
    [
      'a completed job',
      'jobs.batch',
      obj('Job', { status: { completionTime: 't' } }, 'batch/v1'),
      /completed/,
    ],
    [
      'a generated service-account token secret',
      'secrets',
      obj('Secret', {
        type: 'kubernetes.io/service-account-token',
        metadata: {
          name: 'builder-token-abcde',
          annotations: { 'kubernetes.io/service-account.name': 'builder' },
        },
      }),
      /token controller/,
    ],
    [
      'a PV with reclaim policy Delete',
      'persistentvolumes',
      obj('PersistentVolume', {
        metadata: { namespace: undefined },
        spec: { persistentVolumeReclaimPolicy: 'Delete' },
      }),
      /provisions a new volume/,
    ],
  ])('skips %s', (_label, groupResource, input, reason) => {
    expect(skipped(input, { groupResource })).toMatch(reason);
  });

  it.each([
    ['a running bare pod', 'pods', obj('Pod', { status: { phase: 'Running' } })],
    ['a running job', 'jobs.batch', obj('Job', { status: {} }, 'batch/v1')],
    ['Endpoints of a selector-less service', 'endpoints', obj('Endpoints', { subsets: [] })],
    [
      'an EndpointSlice managed by someone else',
      'endpointslices.discovery.k8s.io',
      obj(
        'EndpointSlice',
        { metadata: { labels: { 'endpointslice.kubernetes.io/managed-by': 'staff' } } },
        'discovery.k8s.io/v1',
      ),
    ],
    [
      'a PV with reclaim policy Retain',
      'persistentvolumes',
      obj('PersistentVolume', { spec: { persistentVolumeReclaimPolicy: 'Retain' } }),
    ],
  ])('restores %s', (_label, groupResource, input) => {
    expect(sanitizeForRestore(input, { ...base, groupResource }).object).toBeDefined();
  });
});

describe('sanitizeForRestore: services (Velero service_action)', () => {
  const svc = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
    obj('Service', { spec, metadata });
  const ports = [
    { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
    { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 },
  ];
  const spec = (o: KubeObject) =>
    o.spec as { clusterIP?: string; clusterIPs?: string[]; ports: { nodePort?: number }[] };

  it('clears clusterIP and clusterIPs', () => {
    const out = restored(svc({ clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [] }), {
      groupResource: 'services',
    });
    expect(spec(out).clusterIP).toBeUndefined();
    expect(spec(out).clusterIPs).toBeUndefined();
  });

  it.each([
    [
      'named in last-applied-configuration',
      {
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
            spec: { clusterIP: '10.0.0.5' },
          }),
        },
      },
    ],
    [
      'owned in managedFields',
      { managedFields: [{ manager: 'kubectl-create', fieldsV1: { 'f:spec': { 'f:clusterIP': {} } } }] },
    ],
  ])('keeps a cluster IP the user set (%s)', (_label, metadata) => {
    const out = restored(svc({ clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [] }, metadata), {
      groupResource: 'services',
    });
    expect(spec(out)).toMatchObject({ clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'] });
  });

  it('clears a cluster IP no manager owns (allocated by the apiserver)', () => {
    const managedFields = [{ manager: 'kubectl-create', fieldsV1: { 'f:spec': { 'f:ports': {} } } }];
    const out = restored(
      svc({ clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [] }, { managedFields }),
      {
        groupResource: 'services',
      },
    );
    expect(spec(out).clusterIP).toBeUndefined();
  });

  it('keeps a headless service headless', () => {
    const out = restored(svc({ clusterIP: 'None', clusterIPs: ['None'], ports: [] }), {
      groupResource: 'services',
    });
    expect(spec(out)).toMatchObject({ clusterIP: 'None', clusterIPs: ['None'] });
  });

  it.each([
    ['cleared without preserveNodePorts', false, [undefined, undefined]],
    ['kept with preserveNodePorts', true, [30080, 30443]],
  ])('nodePorts are %s', (_label, preserveNodePorts, expected) => {
    const out = restored(svc({ type: 'NodePort', ports: structuredClone(ports) }), {
      groupResource: 'services',
      preserveNodePorts,
    });
    expect(spec(out).ports.map((p) => p.nodePort)).toEqual(expected);
  });

  it('keeps nodePorts named in last-applied-configuration', () => {
    const lastApplied = JSON.stringify({ spec: { ports: [{ name: 'https', port: 443, nodePort: 30443 }] } });
    const input = svc(
      { type: 'NodePort', ports: structuredClone(ports) },
      { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
    );
    const out = restored(input, { groupResource: 'services' });
    expect(spec(out).ports.map((p) => p.nodePort)).toEqual([undefined, 30443]);
  });

  it('keeps an unnamed nodePort given by value in last-applied-configuration', () => {
    const lastApplied = JSON.stringify({ spec: { ports: [{ port: 80, nodePort: 30080 }] } });
    const input = svc(
      { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] },
      { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
    );
    expect(spec(restored(input, { groupResource: 'services' })).ports[0]?.nodePort).toBe(30080);
  });

  it('keeps nodePorts owned in managedFields when there is no last-applied-configuration', () => {
    const managedFields = [
      {
        manager: 'kubectl',
        fieldsV1: { 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { 'f:nodePort': {} } } } },
      },
    ];
    const out = restored(svc({ type: 'NodePort', ports: structuredClone(ports) }, { managedFields }), {
      groupResource: 'services',
    });
    expect(spec(out).ports.map((p) => p.nodePort)).toEqual([30080, undefined]);
  });

  it('clears an allocated healthCheckNodePort', () => {
    const input = svc({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31000,
      ports: [],
    });
    expect(restored(input, { groupResource: 'services' }).spec).not.toHaveProperty('healthCheckNodePort');
  });

  it('leaves ExternalName services alone', () => {
    const input = svc({
      type: 'ExternalName',
      externalName: 'db.example.com',
      ports: [{ port: 5432, nodePort: 30000 }],
    });
    expect(spec(restored(input, { groupResource: 'services' })).ports[0]?.nodePort).toBe(30000);
  });

  it('reports a malformed last-applied-configuration', () => {
    const input = svc(
      { type: 'NodePort', ports: [] },
      { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{' } },
    );
    expect(() => sanitizeForRestore(input, { ...base, groupResource: 'services' })).toThrow(
      /services shop\/x.*last-applied/,
    );
  });
});

describe('sanitizeForRestore: volumes', () => {
  it('pre-binds a Retain PV to its claim: claimRef keeps namespace/name, loses uid/resourceVersion', () => {
    const pv = obj('PersistentVolume', {
      metadata: {
        namespace: undefined,
        annotations: {
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
          keep: 'k',
        },
      },
      spec: {
        persistentVolumeReclaimPolicy: 'Retain',
        claimRef: {
          kind: 'PersistentVolumeClaim',
          namespace: 'shop',
          name: 'data',
          uid: 'old',
          resourceVersion: '7',
        },
      },
    });
    const out = restored(pv, { groupResource: 'persistentvolumes' });
    expect((out.spec as { claimRef: unknown }).claimRef).toEqual({
      kind: 'PersistentVolumeClaim',
      namespace: 'shop',
      name: 'data',
    });
    expect(out.metadata.annotations).toEqual({ keep: 'k' });
  });

  it('drops the binding annotations of a PVC and keeps its volumeName (volume-binding.ts decides)', () => {
    const annotations = Object.fromEntries(
      [
        'pv.kubernetes.io/bind-completed',
        'pv.kubernetes.io/bound-by-controller',
        'volume.beta.kubernetes.io/storage-provisioner',
        'volume.kubernetes.io/storage-provisioner',
        'volume.kubernetes.io/selected-node',
      ].map((k) => [k, 'v']),
    );
    const pvc = obj('PersistentVolumeClaim', {
      metadata: { annotations },
      spec: { volumeName: 'pv-1', storageClassName: 'fast' },
    });
    const out = restored(pvc, { groupResource: 'persistentvolumeclaims' });
    expect(out.spec).toEqual({ volumeName: 'pv-1', storageClassName: 'fast' });
    expect(out.metadata.annotations).toBeUndefined();
  });
});

describe('sanitizeForRestore: service accounts and tokens', () => {
  it('removes references to generated token secrets from a ServiceAccount', () => {
    const sa = obj('ServiceAccount', {
      metadata: { name: 'builder' },
      secrets: [{ name: 'builder-token-abcde' }, { name: 'registry-creds' }],
    });
    expect(restored(sa, { groupResource: 'serviceaccounts' }).secrets).toEqual([{ name: 'registry-creds' }]);
  });

  it('restores a hand-made token secret without token, CA and uid annotation', () => {
    const secret = obj('Secret', {
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: 'long-lived',
        annotations: {
          'kubernetes.io/service-account.name': 'builder',
          'kubernetes.io/service-account.uid': 'old',
        },
      },
      data: { token: 'dG9r', 'ca.crt': 'Y2E=', extra: 'ZQ==' },
    });
    const out = restored(secret, { groupResource: 'secrets' });
    expect(out.data).toEqual({ extra: 'ZQ==' });
    expect(out.metadata.annotations).toEqual({ 'kubernetes.io/service-account.name': 'builder' });
  });
});

describe('sanitizeForRestore: bare pods (Velero pod_action)', () => {
  it('clears nodeName and priority, and drops the old token volume and its mounts', () => {
    const pod = obj('Pod', {
      spec: {
        nodeName: 'node-1',
        priority: 1000,
        serviceAccountName: 'app',
        volumes: [{ name: 'app-token-xyz' }, { name: 'data' }],
        containers: [
          {
            name: 'c',
            volumeMounts: [
              { name: 'app-token-xyz', mountPath: '/t' },
              { name: 'data', mountPath: '/d' },
            ],
          },
        ],
        initContainers: [{ name: 'i', volumeMounts: [{ name: 'app-token-xyz', mountPath: '/t' }] }],
      },
    });
    const spec = restored(pod, { groupResource: 'pods' }).spec as Record<string, unknown>;
    expect(spec).not.toHaveProperty('nodeName');
    expect(spec).not.toHaveProperty('priority');
    expect(spec.volumes).toEqual([{ name: 'data' }]);
    expect(spec.containers).toEqual([{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/d' }] }]);
    expect(spec.initContainers).toEqual([{ name: 'i', volumeMounts: [] }]);
  });
});

describe('sanitizeForRestore: deployments and their rollout history', () => {
  it('keeps the rollout revision, which the restored ReplicaSets carry too', () => {
    const input = obj(
      'Deployment',
      { metadata: { annotations: { 'deployment.kubernetes.io/revision': '7', note: 'n' } } },
      'apps/v1',
    );
    expect(restored(input, { groupResource: 'deployments.apps' }).metadata.annotations).toEqual({
      'deployment.kubernetes.io/revision': '7',
      note: 'n',
    });
  });

  it("restores a Deployment's ReplicaSet with its revision, owner reference removed for adoption", () => {
    const input = obj(
      'ReplicaSet',
      {
        metadata: {
          annotations: { 'deployment.kubernetes.io/revision': '6' },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u', controller: true },
          ],
        },
      },
      'apps/v1',
    );
    const out = restored(input, { groupResource: 'replicasets.apps' });
    expect(out.metadata.ownerReferences).toBeUndefined();
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '6' });
  });
});

describe('sanitizeForRestore: jobs (Velero job_action)', () => {
  const uidLabels = { 'controller-uid': 'u-1', 'batch.kubernetes.io/controller-uid': 'u-1' };
  const job = (spec: Record<string, unknown>) => obj('Job', { spec }, 'batch/v1');
  const template = {
    metadata: { labels: { ...uidLabels, 'job-name': 'x', 'batch.kubernetes.io/job-name': 'x', app: 'a' } },
    spec: { containers: [{ name: 'c', image: 'i' }], restartPolicy: 'Never' },
  };

  it('drops the generated selector and the UID labels of the template', () => {
    const spec = restored(job({ selector: { matchLabels: uidLabels }, template }), {
      groupResource: 'jobs.batch',
    }).spec as { selector?: unknown; template: { metadata: { labels: Record<string, string> } } };
    expect(spec).not.toHaveProperty('selector');
    expect(spec.template.metadata.labels).toEqual({
      'job-name': 'x',
      'batch.kubernetes.io/job-name': 'x',
      app: 'a',
    });
  });

  it('keeps a selector the user chose (manualSelector: true)', () => {
    const input = job({ manualSelector: true, selector: { matchLabels: { app: 'a' } }, template });
    expect(restored(input, { groupResource: 'jobs.batch' }).spec).toEqual(input.spec);
  });
});

describe('sanitizeForRestore: what the cluster allocates or renews itself', () => {
  const lease = (ns: string, name: string, labels: Record<string, string> = {}) =>
    obj('Lease', { metadata: { namespace: ns, name, labels } }, 'coordination.k8s.io/v1');
  const leases = { groupResource: 'leases.coordination.k8s.io' };

  it.each<[string, KubeObject, RegExp]>([
    ['a node lease', lease('kube-node-lease', 'node-1'), /kubelet/],
    [
      "an apiserver's identity lease",
      lease('kube-system', 'apiserver-abc', { 'apiserver.kubernetes.io/identity': 'kube-apiserver' }),
      /identity/,
    ],
    ['the controller-manager leader lease', lease('kube-system', 'kube-controller-manager'), /leader/],
    ['the scheduler leader lease', lease('kube-system', 'kube-scheduler'), /leader/],
  ])('skips %s', (_label, input, reason) => {
    expect(skipped(input, leases)).toMatch(reason);
  });

  it("restores an operator's leader lease", () => {
    expect(restored(lease('shop', 'shop-operator-leader'), leases).metadata.name).toBe(
      'shop-operator-leader',
    );
  });

  it('skips the default ServiceCIDR and restores an added one', () => {
    const cidr = (name: string) =>
      obj('ServiceCIDR', { metadata: { name, namespace: undefined } }, 'networking.k8s.io/v1');
    const opts = { groupResource: 'servicecidrs.networking.k8s.io' };
    expect(skipped(cidr('kubernetes'), opts)).toMatch(/service-cluster-ip-range/);
    expect(restored(cidr('extra'), opts).metadata.name).toBe('extra');
  });

  it('skips flow-control objects the apiserver keeps up to date', () => {
    const fs = (auto: string) =>
      obj(
        'FlowSchema',
        { metadata: { annotations: { 'apf.kubernetes.io/autoupdate-spec': auto } } },
        'flowcontrol.apiserver.k8s.io/v1',
      );
    const opts = { groupResource: 'flowschemas.flowcontrol.apiserver.k8s.io' };
    expect(skipped(fs('true'), opts)).toMatch(/autoupdate/);
    expect(restored(fs('false'), opts).kind).toBe('FlowSchema');
  });

  it('skips the apiserver’s own Service and EndpointSlice in default', () => {
    const own = (kind: string, apiVersion: string) =>
      obj(kind, { metadata: { namespace: 'default', name: 'kubernetes' } }, apiVersion);
    expect(skipped(own('Service', 'v1'), { groupResource: 'services' })).toMatch(/apiserver/);
    expect(
      skipped(own('EndpointSlice', 'discovery.k8s.io/v1'), {
        groupResource: 'endpointslices.discovery.k8s.io',
      }),
    ).toMatch(/apiserver/);
  });
});

describe('sanitizeForRestore: APIServices', () => {
  const api = (labels: Record<string, string>) =>
    obj(
      'APIService',
      { metadata: { name: 'v1.apps', namespace: undefined, labels } },
      'apiregistration.k8s.io/v1',
    );
  const opts = { groupResource: 'apiservices.apiregistration.k8s.io' };
  it('skips those the apiserver registers for its own groups, restores aggregated ones', () => {
    expect(skipped(api({ 'kube-aggregator.kubernetes.io/automanaged': 'onstart' }), opts)).toMatch(
      /registered by the apiserver/,
    );
    expect(restored(api({}), opts).kind).toBe('APIService');
  });
});
