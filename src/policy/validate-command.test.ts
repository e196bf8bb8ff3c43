import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyError } from './types.js';
import {
  formatPolicyErrorsText,
  formatPolicyValidationJson,
  validatePolicyRepo,
} from './validate-command.js';

const errors: PolicyError[] = [
  {
    file: 'schedules/a.yaml',
    line: 5,
    column: 13,
    path: 'spec.schedule',
    code: 'cron',
    message: 'schedule "x" has 1 field',
  },
  { file: 'a.yaml', line: 1, column: 1, path: '', code: 'yaml', message: 'YAML: Map keys must be unique' },
];

describe('formatPolicyErrorsText', () => {
  it('writes file:line:col: message (field path)', () => {
    expect(formatPolicyErrorsText(errors)).toEqual([
      'schedules/a.yaml:5:13: schedule "x" has 1 field (spec.schedule)',
      'a.yaml:1:1: YAML: Map keys must be unique',
    ]);
  });

  it('prefixes the repository directory so the paths open from where the command ran', () => {
    expect(formatPolicyErrorsText(errors, { dir: 'policies' })[0]).toBe(
      'policies/schedules/a.yaml:5:13: schedule "x" has 1 field (spec.schedule)',
    );
  });
});

describe('formatPolicyValidationJson', () => {
  it('writes ok, the document count and the errors', () => {
    expect(JSON.parse(formatPolicyValidationJson({ ok: false, documents: 3, errors }))).toEqual({
      ok: false,
      documents: 3,
      errors,
    });
  });
});

describe('validatePolicyRepo', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-validate-'));
    await mkdir(join(dir, 'backups'));
    await writeFile(
      join(dir, 'backups', 'a.yaml'),
      'apiVersion: lifeboat.dev/v1\nkind: Backup\nmetadata: { name: a }\nspec: { ttl: 1h }\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is ok for a valid repository', async () => {
    expect(await validatePolicyRepo(dir)).toEqual({ ok: true, errors: [], warnings: [], documents: 1 });
  });

  it('is not ok when a document is invalid, and counts the valid ones', async () => {
    await writeFile(
      join(dir, 'backups', 'b.yaml'),
      'apiVersion: lifeboat.dev/v1\nkind: Backup\nmetadata: { name: b }\nspec: { ttl: x }\n',
    );
    const result = await validatePolicyRepo(dir);
    expect(result.ok).toBe(false);
    expect(result.documents).toBe(1);
    expect(formatPolicyErrorsText(result.errors)).toEqual([
      'backups/b.yaml:4:14: invalid duration "x": unexpected text at "x" (use Go syntax like "720h" or "1h30m") (spec.ttl)',
    ]);
  });
});
