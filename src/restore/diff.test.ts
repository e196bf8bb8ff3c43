import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import type { FieldChange } from './diff.js';
import { diffObjects, fieldNames, formatPath, MAX_SHOWN_LENGTH, shownValue } from './diff.js';

interface Container {
  name: string;
  image: string;
  ports?: { containerPort: number; protocol?: string }[];
  terminationMessagePath?: string;
}
interface TestDeployment extends KubeObject {
  metadata: KubeObject['metadata'] & { labels: Record<string, string> };
  spec: {
    replicas: number;
    paused?: boolean | null;
    selector: unknown;
    progressDeadlineSeconds?: number;
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; tolerations: { key: string; operator: string }[] };
    };
  };
}
type Edit = (d: TestDeployment) => void;

function at<T>(list: T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`no element ${i}`);
  return item;
}

function deployment(edit: Edit = () => undefined): TestDeployment {
  const d: TestDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] },
            { name: 'side', image: 'side:1' },
          ],
          tolerations: [{ key: 'a', operator: 'Exists' }],
        },
      },
    },
  };
  edit(d);
  return d;
}

/** What the apiserver adds to a stored object: server-set metadata, defaults, status. */
function live(edit: Edit = () => undefined): KubeObject {
  return deployment((d) => {
    Object.assign(d.metadata, {
      uid: 'u',
      resourceVersion: '9',
      generation: 4,
      creationTimestamp: 't',
      managedFields: [{ manager: 'x' }],
      labels: { app: 'web', 'lifeboat.dev/restore-name': 'older', 'velero.io/backup-name': 'older' },
    });
    d.spec.progressDeadlineSeconds = 600;
    const app = at(d.spec.template.spec.containers, 0);
    app.terminationMessagePath = '/dev/termination-log';
    at(app.ports ?? [], 0).protocol = 'TCP';
    d.status = { replicas: 2 };
    edit(d);
  });
}

describe('diffObjects', () => {
  it('finds nothing when live only adds server-set fields, defaults, status and restore labels', () => {
    const desired = deployment((d) => {
      d.metadata.labels['lifeboat.dev/restore-name'] = 'now';
    });
    expect(diffObjects(desired, live())).toEqual([]);
  });

  it.each<[string, Edit, Edit, FieldChange[]]>([
    [
      'a changed scalar',
      (d) => (d.spec.replicas = 3),
      () => undefined,
      [{ path: 'spec.replicas', op: 'change', before: 2, after: 3 }],
    ],
    [
      'a label the live object lacks',
      (d) => (d.metadata.labels['app.kubernetes.io/name'] = 'web'),
      () => undefined,
      [{ path: 'metadata.labels["app.kubernetes.io/name"]', op: 'add', after: 'web' }],
    ],
    [
      'a container image, paired by name even when live orders containers differently',
      (d) => (at(d.spec.template.spec.containers, 1).image = 'side:2'),
      (l) => l.spec.template.spec.containers.reverse(),
      [
        {
          path: 'spec.template.spec.containers[name=side].image',
          op: 'change',
          before: 'side:1',
          after: 'side:2',
        },
      ],
    ],
    [
      'a container the live object lacks, field by field',
      (d) => d.spec.template.spec.containers.push({ name: 'new', image: 'n:1' }),
      () => undefined,
      [
        { path: 'spec.template.spec.containers[name=new].name', op: 'add', after: 'new' },
        { path: 'spec.template.spec.containers[name=new].image', op: 'add', after: 'n:1' },
      ],
    ],
    [
      'an element removed from an atomic list',
      () => undefined,
      (l) => l.spec.template.spec.tolerations.push({ key: 'b', operator: 'Exists' }),
      [{ path: 'spec.template.spec.tolerations[1]', op: 'remove', before: { key: 'b', operator: 'Exists' } }],
    ],
    [
      'a changed element of an atomic list, compared inside',
      (d) => (at(d.spec.template.spec.tolerations, 0).operator = 'Equal'),
      () => undefined,
      [
        {
          path: 'spec.template.spec.tolerations[0].operator',
          op: 'change',
          before: 'Exists',
          after: 'Equal',
        },
      ],
    ],
    [
      'a type change',
      (d) => (d.spec.selector = 'x'),
      () => undefined,
      [{ path: 'spec.selector', op: 'change', before: { matchLabels: { app: 'web' } }, after: 'x' }],
    ],
    [
      'an explicit null in desired',
      (d) => (d.spec.paused = null),
      (l) => (l.spec.paused = true),
      [{ path: 'spec.paused', op: 'remove', before: true }],
    ],
    [
      'an emptied list',
      (d) => (d.spec.template.spec.tolerations = []),
      () => undefined,
      [
        {
          path: 'spec.template.spec.tolerations',
          op: 'change',
          before: [{ key: 'a', operator: 'Exists' }],
          after: [],
        },
      ],
    ],
  ])('reports %s', (_label, changeDesired, changeLive, expected) => {
    expect(diffObjects(deployment(changeDesired), live(changeLive))).toEqual(expected);
  });

  it('lists every leaf as an add when there is no live object', () => {
    const changes = diffObjects(deployment(), null);
    expect(changes.every((c) => c.op === 'add')).toBe(true);
    expect(changes.map((c) => c.path)).toContain(
      'spec.template.spec.containers[name=app].ports[containerPort=8080].containerPort',
    );
    expect(changes.map((c) => c.path)).toContain('spec.template.spec.tolerations[0].key');
    expect(changes.find((c) => c.path === 'spec.replicas')).toEqual({
      path: 'spec.replicas',
      op: 'add',
      after: 2,
    });
  });
});

describe('shownValue', () => {
  it('shows short values as they are', () => {
    for (const v of ['web', 3, true, null, ['a', 'b'], { k: 'v' }, 'x'.repeat(MAX_SHOWN_LENGTH)]) {
      expect(shownValue(v)).toEqual(v);
    }
  });

  it('cuts a long value to its beginning, its length and a fingerprint that follows the content', () => {
    const config = `# nginx.conf\n${'server { listen 80; }\n'.repeat(100)}`;
    const shown = shownValue(config) as string;
    expect(shown.startsWith('# nginx.conf\nserver { listen 80; }')).toBe(true);
    expect(shown).toMatch(new RegExp(`… \\[${config.length} characters in all, sha256:[0-9a-f]{12}\\]$`));
    expect(shown.length).toBeLessThan(300);
    expect(shownValue(`${config}#`)).not.toBe(shown);
    expect(shownValue(config)).toBe(shown);
  });

  it('cuts long lists and maps by their JSON', () => {
    const list = Array.from({ length: 200 }, (_, i) => `host-${i}.example.com`);
    expect(shownValue(list)).toMatch(/^\["host-0\.example\.com".*characters in all/);
  });

  it('is what plans show for long data', () => {
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'big', namespace: 'shop' },
      data: { blob: 'ab'.repeat(8192) },
    };
    const blob = diffObjects(cm, null).find((c) => c.path === 'data.blob');
    expect(blob?.after).toMatch(/^(ab){100}… \[16384 characters in all, sha256:/);
  });
});

describe('formatPath and fieldNames', () => {
  it.each<[Parameters<typeof formatPath>[0], string]>([
    [['spec', 'replicas'], 'spec.replicas'],
    [['metadata', 'annotations', 'example.com/x'], 'metadata.annotations["example.com/x"]'],
    [['spec', 'args', 0], 'spec.args[0]'],
    [['spec', 'ports', { key: 'port', value: 80 }, 'targetPort'], 'spec.ports[port=80].targetPort'],
    [['x', { key: 'mountPath', value: '/var/run' }], 'x[mountPath=/var/run]'],
    [['x', { key: 'name', value: 'a b]' }], 'x[name="a b]"]'],
  ])('%j → %s', (segments, expected) => {
    expect(formatPath(segments)).toBe(expected);
  });

  it('keeps only field names', () => {
    expect(fieldNames(['spec', 'containers', { key: 'name', value: 'a' }, 'image', 0])).toEqual([
      'spec',
      'containers',
      'image',
    ]);
  });
});
