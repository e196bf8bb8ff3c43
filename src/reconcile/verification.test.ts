import { describe, expect, it } from 'vitest';
import {
  compareCounts,
  expectedObjects,
  isVerificationDue,
  scratchNamespaces,
  splitKindKey,
  verificationMemory,
  withoutUnrestorable,
} from './verification.js';

const t = (iso: string) => new Date(iso);

describe('isVerificationDue', () => {
  it.each([
    {
      what: 'never verified: due at once',
      lastSlot: undefined,
      now: '2025-06-15T12:00:00Z',
      due: true,
      nextRun: '2025-06-16T04:00:00.000Z',
    },
    {
      what: 'verified at the last slot: not due before the next',
      lastSlot: '2025-06-15T04:00:00Z',
      now: '2025-06-15T12:00:00Z',
      due: false,
      nextRun: '2025-06-16T04:00:00.000Z',
    },
    {
      what: 'the next slot has come: due',
      lastSlot: '2025-06-15T04:00:00Z',
      now: '2025-06-16T04:00:00Z',
      due: true,
      nextRun: '2025-06-17T04:00:00.000Z',
    },
    {
      what: 'three slots missed: one run, for the latest',
      lastSlot: '2025-06-12T04:00:00Z',
      now: '2025-06-15T05:00:00Z',
      due: true,
      nextRun: '2025-06-16T04:00:00.000Z',
    },
  ])('$what', ({ lastSlot, now, due, nextRun }) => {
    const d = isVerificationDue({
      cron: '0 4 * * *',
      lastSlot: lastSlot ? t(lastSlot) : undefined,
      now: t(now),
    });
    expect({ due: d.due, nextRun: d.nextRun.toISOString() }).toEqual({ due, nextRun });
  });

  it('reads the cron in the schedule time zone', () => {
    const d = isVerificationDue({
      cron: '0 4 * * *',
      timeZone: 'Europe/Berlin',
      lastSlot: t('2025-06-15T02:00:00Z'),
      now: t('2025-06-15T12:00:00Z'),
    });
    expect(d.nextRun.toISOString()).toBe('2025-06-16T02:00:00.000Z');
  });
});

describe('verificationMemory', () => {
  it.each([
    { text: undefined, memory: {} },
    {
      text: 'lastRun:\n  slot: 2025-06-15T04:00:00.000Z\n',
      memory: { lastSlot: '2025-06-15T04:00:00.000Z' },
    },
    { text: 'lastRun:\n  slot: yesterday\n', memory: {} },
    { text: ': not yaml: [', memory: {} },
  ])('reads $text', ({ text, memory }) => {
    expect(verificationMemory(text)).toEqual(memory);
  });
});

describe('expectedObjects', () => {
  it('keeps namespaced objects by kind and namespace, and leaves cluster-scoped ones out', () => {
    const e = expectedObjects({
      'v1/ConfigMap': ['shop/a', 'shop/b', 'web/c'],
      'apps/v1/Deployment': ['shop/web'],
      'v1/Namespace': ['shop', 'web'],
      'rbac.authorization.k8s.io/v1/ClusterRole': ['reader'],
    });
    expect(e.namespaces).toEqual(['shop', 'web']);
    expect([...e.byKind.keys()].sort()).toEqual(['apps/v1/Deployment', 'v1/ConfigMap']);
    expect(Object.fromEntries(e.byKind.get('v1/ConfigMap') ?? [])).toEqual({ shop: ['a', 'b'], web: ['c'] });
  });

  it.each([
    { key: 'v1/ConfigMap', split: { group: '', version: 'v1', kind: 'ConfigMap' } },
    { key: 'apps/v1/Deployment', split: { group: 'apps', version: 'v1', kind: 'Deployment' } },
  ])('splits $key', ({ key, split }) => {
    expect(splitKindKey(key)).toEqual(split);
  });
});

describe('scratchNamespaces', () => {
  it('prefixes each namespace', () => {
    expect(scratchNamespaces(['shop', 'web'], 'verify-')).toEqual({
      mapping: { shop: 'verify-shop', web: 'verify-web' },
    });
  });

  it('refuses names longer than a DNS label, naming the namespace', () => {
    const long = 'n'.repeat(60);
    expect(scratchNamespaces(['shop', long], 'verify-')).toEqual({
      error: `namespacePrefix "verify-" makes scratch names longer than 63 characters for namespace(s) ${long}: use a shorter prefix`,
    });
  });
});

describe('compareCounts', () => {
  const expected = expectedObjects({ 'v1/ConfigMap': ['shop/a', 'shop/b'], 'v1/Secret': ['shop/s'] });
  const mapping = { shop: 'verify-shop' };

  it('passes when every object is found in its scratch namespace, extra objects aside', () => {
    const found = new Map([
      ['v1/ConfigMap verify-shop', new Set(['a', 'b', 'kube-root-ca.crt'])],
      ['v1/Secret verify-shop', new Set(['s'])],
    ]);
    expect(compareCounts(expected, mapping, (k, ns) => found.get(`${k} ${ns}`))).toEqual({
      passed: true,
      kinds: [
        { kind: 'v1/ConfigMap', backup: 2, restored: 2 },
        { kind: 'v1/Secret', backup: 1, restored: 1 },
      ],
      missing: [],
      missingTotal: 0,
    });
  });

  it('fails and names what is missing', () => {
    const found = new Map([['v1/ConfigMap verify-shop', new Set(['a'])]]);
    expect(compareCounts(expected, mapping, (k, ns) => found.get(`${k} ${ns}`))).toEqual({
      passed: false,
      kinds: [
        { kind: 'v1/ConfigMap', backup: 2, restored: 1 },
        { kind: 'v1/Secret', backup: 1, restored: 0 },
      ],
      missing: ['ConfigMap verify-shop/b', 'Secret verify-shop/s'],
      missingTotal: 2,
    });
  });
});

describe('withoutUnrestorable', () => {
  it('leaves out the kinds no restore writes, counting their objects, and keeps every namespace', () => {
    const expected = expectedObjects({
      'v1/ConfigMap': ['shop/settings'],
      'v1/Event': ['shop/app.1', 'shop/app.2', 'web/x.1'],
      'events.k8s.io/v1/Event': ['shop/app.1'],
    });
    const reasons: Record<string, string> = {
      'v1/Event': 'events are never restored',
      'events.k8s.io/v1/Event': 'the same events',
    };
    const { expected: kept, skipped } = withoutUnrestorable(expected, (kind) => reasons[kind]);
    expect([...kept.byKind.keys()]).toEqual(['v1/ConfigMap']);
    expect(kept.namespaces).toEqual(['shop', 'web']);
    expect(skipped).toEqual([
      { kind: 'events.k8s.io/v1/Event', objects: 1, reason: 'the same events' },
      { kind: 'v1/Event', objects: 3, reason: 'events are never restored' },
    ]);
    // What is compared then passes with only the ConfigMap present.
    const cmp = compareCounts(kept, { shop: 'v-shop', web: 'v-web' }, (kind, ns) =>
      kind === 'v1/ConfigMap' && ns === 'v-shop' ? new Set(['settings']) : undefined,
    );
    expect(cmp.passed).toBe(true);
  });
});
