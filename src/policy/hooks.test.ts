// spec.hooks in policy documents: accepted as Velero writes them, and errors that name the
// file, line and field.
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from './load.js';
import { createSchemaValidator } from './schema.js';

const y = (...lines: string[]): string => `${lines.join('\n')}\n`;
const validator = createSchemaValidator();

function load(file: string, text: string) {
  const result = loadPolicyFiles([{ file, text }], { validator });
  return {
    documents: result.documents,
    errors: result.errors.map(({ file: f, line, path, code, message }) => ({
      file: f,
      line,
      path,
      code,
      message,
    })),
  };
}

describe('hooks in policy documents', () => {
  it("a schedule's template and a restore accept Velero's hooks", () => {
    const schedule = load(
      'schedules/db.yaml',
      y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: db }',
        'spec:',
        '  schedule: "@daily"',
        '  template:',
        '    includedNamespaces: [shop]',
        '    hooks:',
        '      resources:',
        '        - name: freeze',
        '          includedNamespaces: [shop]',
        '          labelSelector: { matchLabels: { app: db } }',
        '          pre:',
        '            - exec: { container: db, command: [fsfreeze, -f, /data], onError: Fail, timeout: 1m }',
        '          post:',
        '            - exec: { command: [fsfreeze, -u, /data] }',
      ),
    );
    expect(schedule.errors).toEqual([]);
    const doc = schedule.documents[0];
    expect(doc?.kind === 'BackupSchedule' && doc.spec.template.hooks?.resources?.[0]?.post).toEqual([
      // The schema's default: Velero's exec hooks fail the pod's backup unless told otherwise.
      { exec: { command: ['fsfreeze', '-u', '/data'], onError: 'Fail' } },
    ]);

    const restore = load(
      'restores/r.yaml',
      y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  hooks:',
        '    resources:',
        '      - name: prepare',
        '        postHooks:',
        '          - init:',
        '              initContainers:',
        '                - { name: seed, image: busybox, command: [sh, -c, "echo hi"] }',
        '          - exec: { command: [ls], waitTimeout: 2m, execTimeout: 10s, waitForReady: true }',
      ),
    );
    expect(restore.errors).toEqual([]);
  });

  it.each([
    {
      what: 'a bad exec timeout',
      file: 'backups/b.yaml',
      text: y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: b }',
        'spec:',
        '  hooks:',
        '    resources:',
        '      - name: freeze',
        '        pre:',
        '          - exec:',
        '              command: [sync]',
        '              timeout: 5 minutes',
      ),
      error: {
        line: 11,
        path: 'spec.hooks.resources[0].pre[0].exec.timeout',
        code: 'hook',
        message: expect.stringContaining('invalid duration "5 minutes"'),
      },
    },
    {
      what: 'an onError that is not Continue or Fail',
      file: 'backups/b.yaml',
      text: y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: b }',
        'spec:',
        '  hooks:',
        '    resources:',
        '      - name: freeze',
        '        post:',
        '          - exec: { command: [sync], onError: Ignore }',
      ),
      error: {
        line: 9,
        path: 'spec.hooks.resources[0].post[0].exec.onError',
        code: 'schema',
        message: 'must be one of: Continue, Fail (not "Ignore")',
      },
    },
    {
      what: 'an exec hook without a command',
      file: 'backups/b.yaml',
      text: y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: b }',
        'spec:',
        '  hooks:',
        '    resources:',
        '      - name: freeze',
        '        pre:',
        '          - exec: { container: db }',
      ),
      error: {
        line: 9,
        path: 'spec.hooks.resources[0].pre[0].exec.command',
        code: 'schema',
        message: 'missing required field "command"',
      },
    },
    {
      what: 'an init container without an image',
      file: 'restores/r.yaml',
      text: y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  hooks:',
        '    resources:',
        '      - name: prepare',
        '        postHooks:',
        '          - init:',
        '              initContainers:',
        '                - { name: seed, command: [sh] }',
      ),
      error: {
        line: 12,
        path: 'spec.hooks.resources[0].postHooks[0].init.initContainers[0].image',
        code: 'hook',
        message: 'missing required field "image"',
      },
    },
    {
      what: 'a wait timeout that is not a duration',
      file: 'restores/r.yaml',
      text: y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  hooks:',
        '    resources:',
        '      - name: prepare',
        '        postHooks:',
        '          - exec: { command: [ls], waitTimeout: later }',
      ),
      error: {
        line: 10,
        path: 'spec.hooks.resources[0].postHooks[0].exec.waitTimeout',
        code: 'hook',
        message: expect.stringContaining('invalid duration "later"'),
      },
    },
  ])('$what names the file, line and field', ({ file, text, error }) => {
    expect(load(file, text).errors).toEqual([{ file, ...error }]);
  });
});
