import { describe, expect, it } from 'vitest';
import { parsedScheduleMemory, quickScheduleMemory, readScheduleMemory } from './schedule-memory.js';
import { renderStatusTree, scheduleStatusPath } from './status-tree.js';
import { statusYaml } from './status-yaml.js';

// A fixed-seed generator, so a failure is reproducible.
function generator(seed: number) {
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = 'ab Z09:#-_"\'\\{}[]&*!|>@`%,.\n\té';
  const text = () => {
    let s = '';
    for (let i = rand(14); i > 0; i--) s += alphabet[rand(alphabet.length)];
    return s;
  };
  const iso = () =>
    new Date(Date.UTC(2020 + rand(10), rand(12), 1 + rand(28), rand(24), rand(60))).toISOString();
  return { rand, text, iso };
}

/** A schedule status as the pass writes it, with random presence and awkward messages. */
function randomStatus(g: ReturnType<typeof generator>): Record<string, unknown> {
  const { rand, text, iso } = g;
  const lastBackup = {
    ...(rand(4) > 0 ? { name: `team-${rand(99)}-nightly-2026` } : {}),
    ...(rand(3) > 0 ? { phase: ['Completed', 'Failed', 'PartiallyFailed', text()][rand(4)] } : {}),
    ...(rand(4) > 0 ? { slot: iso() } : {}),
  };
  return {
    apiVersion: 'lifeboat.dev/v1',
    kind: 'BackupScheduleStatus',
    name: `team-${rand(999)}`,
    ...(rand(5) > 0 ? { observedRevision: 'a'.repeat(40) } : {}),
    ...(rand(6) > 0 ? { firstSeen: iso() } : {}),
    paused: rand(2) === 0,
    ...(rand(3) > 0 ? { lastBackup } : {}),
    ...(rand(3) > 0 ? { nextRun: iso() } : {}),
    conditions: [{ type: 'Ready', status: ['True', 'False'][rand(2)], reason: 'Scheduled', message: text() }],
  };
}

describe('reading a schedule status file for the next pass', () => {
  it('reads the files the pass writes off their lines, as the yaml package reads them', () => {
    const files = renderStatusTree({
      schedules: [
        {
          name: 'nightly',
          firstSeen: '2026-11-30T00:01:00.000Z',
          paused: false,
          lastBackup: {
            name: 'nightly-20261203000100',
            phase: 'Completed',
            slot: '2026-12-03T00:01:00.000Z',
          },
          nextRun: '2027-01-01T00:01:00.000Z',
          conditions: [
            { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'next run 2027-01-01' },
          ],
        },
      ],
      backups: [],
      finishedOneOffs: [],
      restores: [],
      policyErrors: [],
      revisions: { document: () => 'b'.repeat(40) },
    } as unknown as Parameters<typeof renderStatusTree>[0]);
    const text = files.get(scheduleStatusPath('nightly')) ?? '';
    expect(quickScheduleMemory(text)).toEqual({
      firstSeen: '2026-11-30T00:01:00.000Z',
      lastSlot: '2026-12-03T00:01:00.000Z',
    });
    expect(quickScheduleMemory(text)).toEqual(parsedScheduleMemory(text));
  });

  it('agrees with the yaml package on 2,000 random status files, reading most off their lines', () => {
    const g = generator(0x5eed);
    let quick = 0;
    for (let i = 0; i < 2000; i++) {
      const text = statusYaml(randomStatus(g));
      const fast = quickScheduleMemory(text);
      if (fast !== undefined) {
        quick++;
        expect({ text, memory: fast }).toEqual({ text, memory: parsedScheduleMemory(text) });
      }
      expect(readScheduleMemory(text)).toEqual(parsedScheduleMemory(text));
    }
    expect(quick).toBeGreaterThan(1000);
  }, 120_000);

  it('leaves files edited by hand to the yaml package, and reads them as it does', () => {
    const iso = '2026-12-03T00:01:00.000Z';
    const edited = [
      `firstSeen: ${iso}\nlastBackup: { slot: ${iso} }\n`,
      `firstSeen: "${iso}"\nlastBackup:\n  slot: '${iso}'\n`,
      `"firstSeen": ${iso}\n`,
      `firstSeen: &a ${iso}\nlastBackup:\n  slot: *a\n`,
      `firstSeen: ${iso} # seen\n`,
      `firstSeen: ${iso}\nfirstSeen: 2020-01-01T00:00:00.000Z\n`,
      `lastBackup:\n  - slot: ${iso}\n`,
      `lastBackup:\n    slot: ${iso}\n`,
      `lastBackup:\n  name: x\n  slot: ${iso}\n  slot: ${iso}\n`,
      `firstSeen: ${iso}\n  slot: ${iso}\n`,
      `firstSeen: 2026-12-03\n`,
      `firstSeen: ${iso}`,
      `---\nfirstSeen: ${iso}\n`,
      `firstSeen: ${iso}\n\nlastBackup:\n  slot: ${iso}\n`,
      `firstSeen:\n  ${iso}\n`,
      `- firstSeen: ${iso}\n`,
      `firstSeen: [${iso}\n`,
      `lastBackup:\n\tslot: ${iso}\n`,
      '',
    ];
    for (const text of edited) {
      expect({ text, quick: quickScheduleMemory(text) }).toEqual({ text, quick: undefined });
      expect({ text, memory: readScheduleMemory(text) }).toEqual({
        text,
        memory: parsedScheduleMemory(text),
      });
    }
    // And the ones the yaml package reads as the writer's lines say, still read by it.
    expect(readScheduleMemory(`lastBackup: { slot: ${iso} }\n`)).toEqual({ lastSlot: iso });
    expect(readScheduleMemory(`firstSeen: [${iso}\n`)).toEqual({});
  });
});
