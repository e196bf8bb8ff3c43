import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { judgeClusterIps, liveAddressNote, requestedClusterIps, withoutClusterIps } from './cluster-ip.js';
import type { AddressHolder } from './cluster-ip.js';

const service = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: 'shop', name: 'dns' },
  spec,
});

describe('requestedClusterIps', () => {
  it.each([
    ['an allocated (cleared) address', {}, []],
    ['a headless service', { clusterIP: 'None', clusterIPs: ['None'] }, []],
    ['an ExternalName service', { type: 'ExternalName', clusterIP: '10.0.0.5' }, []],
    ['one address', { clusterIP: '10.0.0.5' }, ['10.0.0.5']],
    ['dual stack', { clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5', 'fd00::5'] }, ['10.0.0.5', 'fd00::5']],
  ])('%s', (_label, spec, expected) => {
    expect(requestedClusterIps(service(spec))).toEqual(expected);
  });
});

describe('judgeClusterIps', () => {
  const svc = service({ clusterIP: '10.0.0.53' });
  const facts = (serviceRanges: string[], holders: [string, AddressHolder][] = []) => ({
    serviceRanges,
    holders: new Map(holders),
  });

  it('keeps a free address inside the service range, and says so', () => {
    const verdict = judgeClusterIps(svc, ['10.0.0.53'], facts(['10.0.0.0/24']));
    expect(verdict).toEqual({
      keep: true,
      note: 'cluster IP 10.0.0.53 was set by the user and is free here: the restore keeps it',
    });
  });

  it('leaves out an address held by another Service, naming it', () => {
    const verdict = judgeClusterIps(
      svc,
      ['10.0.0.53'],
      facts(['10.0.0.0/24'], [['10.0.0.53', { resource: 'services', namespace: 'other', name: 'taken' }]]),
    );
    expect(verdict).toEqual({
      keep: false,
      warning:
        'cluster IP 10.0.0.53 was set by the user, but 10.0.0.53 is already allocated to services other/taken: the restore leaves it out and the cluster allocates a new one',
    });
  });

  it('keeps an address held by the same Service (its own IPAddress is still there)', () => {
    const verdict = judgeClusterIps(
      svc,
      ['10.0.0.53'],
      facts(['10.0.0.0/24'], [['10.0.0.53', { resource: 'services', namespace: 'shop', name: 'dns' }]]),
    );
    expect(verdict.keep).toBe(true);
  });

  it('leaves out an address outside every service range', () => {
    const verdict = judgeClusterIps(svc, ['10.0.0.53'], facts(['10.96.0.0/12', 'fd00:10::/108']));
    expect(verdict).toMatchObject({ keep: false });
    expect(!verdict.keep && verdict.warning).toContain(
      "10.0.0.53 is outside this cluster's service ranges (10.96.0.0/12, fd00:10::/108)",
    );
  });

  it('checks IPv6 addresses against IPv6 ranges', () => {
    const v6 = service({ clusterIP: 'fd00:10::53', clusterIPs: ['fd00:10::53'] });
    expect(judgeClusterIps(v6, ['fd00:10::53'], facts(['10.96.0.0/12', 'fd00:10::/108'])).keep).toBe(true);
  });

  it('keeps the address when the ranges could not be read (the apiserver has the last word)', () => {
    expect(judgeClusterIps(svc, ['10.0.0.53'], facts([])).keep).toBe(true);
  });

  it('refuses something that is not an address', () => {
    expect(judgeClusterIps(svc, ['10.0.0.999'], facts([])).keep).toBe(false);
  });
});

describe('withoutClusterIps', () => {
  it('drops both fields and leaves the input alone', () => {
    const input = service({ clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [] });
    expect(withoutClusterIps(input).spec).toEqual({ ports: [] });
    expect(input.spec).toMatchObject({ clusterIP: '10.0.0.5' });
  });
});

describe('liveAddressNote', () => {
  it('names both addresses', () => {
    expect(liveAddressNote(['10.0.0.5'], ['10.0.0.9'])).toBe(
      'cluster IP 10.0.0.5 was set by the user, but the live Service has 10.0.0.9 and a cluster IP cannot change: the restore leaves the live address',
    );
  });
});
