import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from './suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['ttl', 'ttl', 0],
    ['schedul', 'schedule', 1],
    ['sechdule', 'schedule', 2],
    ['abc', '', 3],
  ])('%s vs %s = %i', (a, b, expected) => {
    expect(editDistance(a, b)).toBe(expected);
  });
});

describe('closestMatch', () => {
  const fields = ['schedule', 'timeZone', 'paused', 'template', 'ttl'];
  it.each([
    ['schedul', 'schedule'],
    ['timezone', 'timeZone'],
    ['TIMEZONE', 'timeZone'],
    ['templte', 'template'],
    ['tl', undefined], // too short to guess safely
    ['snapshotVolumes', undefined],
  ])('%s -> %s', (input, expected) => {
    expect(closestMatch(input, fields)).toBe(expected);
  });
});
