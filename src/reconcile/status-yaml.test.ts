import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { plainYaml, statusYaml } from './status-yaml.js';

const reference = (value: unknown) => stringify(value, { lineWidth: 0 });

const backupStatus = {
  apiVersion: 'lifeboat.dev/v1',
  kind: 'BackupStatus',
  name: 'team-0007-nightly-20261203000700',
  observedRevision: '3f0c1a9e5b7d2c4f6a8e0b1d3c5e7f9a1b2c3d4e',
  location: 'primary',
  phase: 'Completed',
  schedule: 'team-0007-nightly',
  startTimestamp: '2026-12-03T00:07:00Z',
  completionTimestamp: '2026-12-03T00:07:02Z',
  expiration: '2027-12-03T00:07:00Z',
  items: 1234,
  errors: 0,
  warnings: 2,
  checksum: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
};

const scheduleStatus = {
  apiVersion: 'lifeboat.dev/v1',
  kind: 'BackupScheduleStatus',
  name: 'team-0007-nightly',
  firstSeen: '2026-12-04T12:41:10.123Z',
  paused: false,
  lastBackup: {
    name: 'team-0007-nightly-20261203000700',
    phase: 'Completed',
    slot: '2026-12-03T00:07:00.000Z',
  },
  nextRun: '2027-01-01T07:07:00.000Z',
  conditions: [
    { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'next run 2027-01-01T07:07:00.000Z' },
    { type: 'Stalled', status: 'False', reason: 'None', message: 'nothing (at all) to say, 42 times' },
  ],
};

describe('statusYaml', () => {
  it('writes the status files of a pass itself, byte for byte as the yaml package does', () => {
    for (const value of [backupStatus, scheduleStatus]) {
      expect(plainYaml(value)).toBe(reference(value));
      expect(statusYaml(value)).toBe(reference(value));
    }
  });

  it('nests maps and sequences as the yaml package indents them', () => {
    const value = {
      top: { inner: { deep: 'x', list: ['a', 'b'] }, n: -3 },
      rows: [{ a: 1, b: { c: 'd', e: [{ f: true }] } }, 'plain', 7],
      last: false,
    };
    expect(plainYaml(value)).toBe(reference(value));
  });

  it('leaves to the yaml package what needs quotes, blocks or other scalars, with the same result', () => {
    const awkward: unknown[] = [
      '',
      ' leading',
      'trailing ',
      'ends with colon:',
      'key: value',
      'hash # comment',
      '#start',
      '- dash',
      '-',
      '?',
      'true',
      'False',
      'NULL',
      '~',
      '123',
      '-12',
      '0x1F',
      '0o17',
      '1e3',
      '1.5',
      '.inf',
      '.nan',
      '---',
      '...',
      'two\nlines',
      'tab\there',
      'quote " inside',
      "it's",
      '@at',
      '%percent',
      '*star',
      '&amp',
      '!bang',
      '|pipe',
      '>gt',
      '[x]',
      '{y}',
      'ümlaut',
      'back\\slash',
      '\u0007bell',
      null,
      undefined,
      1.5,
      -0,
      2 ** 60,
      Number.NaN,
      [],
      {},
      [['nested']],
      new Date(0),
    ];
    for (const v of awkward) {
      const value = { kind: 'X', v, list: [v], map: { v } };
      const fast = plainYaml(value);
      if (fast !== undefined) expect(fast).toBe(reference(value));
      expect(statusYaml(value)).toBe(reference(value));
    }
    // Keys that are not plain words go to the yaml package too.
    for (const key of ['true', 'null', '1x', 'a b', 'x-y', '']) {
      expect(plainYaml({ [key]: 'v' })).toBeUndefined();
      expect(statusYaml({ [key]: 'v' })).toBe(reference({ [key]: 'v' }));
    }
  });

  it('agrees with the yaml package on thousands of random documents, and reads back the same', () => {
    // A fixed-seed generator, so a failure is reproducible.
    let seed = 0x5eed;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = 'aZ09 _./:+()=,@$^~<>-#\'"!&*|%?[]{}\n\tü';
    const randomString = () => {
      const len = rand(12);
      let s = '';
      for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
      return s;
    };
    const words = [
      'true',
      'null',
      '42',
      '-7',
      '1e5',
      '0x10',
      'Ready',
      '2026-12-04T00:00:00Z',
      'a: b',
      'x #y',
    ];
    const randomValue = (depth: number): unknown => {
      switch (rand(depth > 2 ? 4 : 6)) {
        case 0:
          return randomString();
        case 1:
          return words[rand(words.length)];
        case 2:
          return rand(3) === 0 ? rand(2) === 0 : rand(100000) - 50000;
        case 3:
          return `${words[rand(words.length)]}${randomString()}`;
        case 4:
          return Array.from({ length: rand(3) + 1 }, () => randomValue(depth + 1));
        default:
          return Object.fromEntries(
            Array.from({ length: rand(4) + 1 }, (_, i) => [`k${i}${'abc'[rand(3)]}`, randomValue(depth + 1)]),
          );
      }
    };
    let fastPaths = 0;
    for (let i = 0; i < 3000; i++) {
      const value = Object.fromEntries(
        Array.from({ length: rand(5) + 1 }, (_, k) => [`field${k}`, randomValue(0)]),
      );
      const fast = plainYaml(value);
      if (fast !== undefined) {
        fastPaths++;
        expect(fast).toBe(reference(value));
        expect(parse(fast)).toEqual(value);
      }
      expect(statusYaml(value)).toBe(reference(value));
    }
    // The generator reaches the writer's own path often enough for the comparison to mean something.
    expect(fastPaths).toBeGreaterThan(300);
  }, 120_000); // thousands of documents: minutes on a loaded 2-core machine, not 5 s
});
