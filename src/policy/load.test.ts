// Malformed documents, each with the exact error a person sees: message, file, line, column
// and field path. Documents are loaded from memory; repository-level behaviour is in
// load-repo.test.ts.
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from './load.js';
import { createSchemaValidator } from './schema.js';
import type { PolicyError } from './types.js';

/** A YAML file from lines, so each case shows its line numbers plainly. */
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

interface Case {
  title: string;
  files: Record<string, string>;
  /** How many documents of the case are valid. */
  documents: number;
  errors: Pick<PolicyError, 'file' | 'line' | 'column' | 'path' | 'code' | 'message'>[];
}

const MALFORMED: Case[] = [
  {
    title: 'YAML syntax: an unclosed flow sequence',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  name: a',
        'spec:',
        '  includedNamespaces: [shop',
        '  ttl: 1h',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 7,
        column: 3,
        path: '',
        code: 'yaml',
        message: 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ],
  },
  {
    title: 'YAML syntax: a key given twice',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  name: a',
        'spec:',
        '  ttl: 1h',
        '  ttl: 2h',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 7,
        column: 3,
        path: '',
        code: 'yaml',
        message: 'YAML: Map keys must be unique',
      },
    ],
  },
  {
    title: 'YAML syntax: an alias to no anchor',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  name: a',
        'spec:',
        '  includedNamespaces: *shops',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 6,
        column: 23,
        path: '',
        code: 'yaml',
        message: 'YAML: alias *shops refers to no anchor &shops',
      },
    ],
  },
  {
    title: 'YAML syntax: a tab used for indentation',
    files: {
      'b.yaml': y('apiVersion: lifeboat.dev/v1', 'kind: Backup', 'metadata:', '\tname: a', 'spec: {}'),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 4,
        column: 1,
        path: '',
        code: 'yaml',
        message: 'YAML: Tabs are not allowed as indentation',
      },
    ],
  },
  {
    title: 'a document that is a list, not a mapping',
    files: { 'b.yaml': y('- apiVersion: lifeboat.dev/v1', '  kind: Backup') },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 1,
        column: 1,
        path: '',
        code: 'document',
        message: 'a policy document must be a mapping with apiVersion, kind, metadata and spec',
      },
    ],
  },
  {
    title: 'missing apiVersion',
    files: { 'b.yaml': y('# a comment', 'kind: Backup', 'metadata: { name: a }', 'spec: {}') },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 2,
        column: 1,
        path: 'apiVersion',
        code: 'api-version',
        message: 'missing required field "apiVersion": write apiVersion: lifeboat.dev/v1',
      },
    ],
  },
  {
    title: "Velero's apiVersion instead of lifeboat's",
    files: { 'b.yaml': y('apiVersion: velero.io/v1', 'kind: Backup', 'metadata: { name: a }', 'spec: {}') },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 1,
        column: 13,
        path: 'apiVersion',
        code: 'api-version',
        message: 'unknown apiVersion "velero.io/v1": policy documents use lifeboat.dev/v1',
      },
    ],
  },
  {
    title: 'an apiVersion this lifeboat does not read',
    files: {
      'b.yaml': y('apiVersion: lifeboat.dev/v2', 'kind: Backup', 'metadata: { name: a }', 'spec: {}'),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 1,
        column: 13,
        path: 'apiVersion',
        code: 'api-version',
        message: 'unsupported apiVersion "lifeboat.dev/v2": this lifeboat reads lifeboat.dev/v1',
      },
    ],
  },
  {
    title: "Velero's kind name Schedule",
    files: {
      's.yaml': y('apiVersion: lifeboat.dev/v1', 'kind: Schedule', 'metadata: { name: a }', 'spec: {}'),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        code: 'kind',
        message:
          'unknown kind "Schedule": expected one of StorageLocation, BackupSchedule, Backup, Restore, RestoreApproval (did you mean BackupSchedule?)',
      },
    ],
  },
  {
    title: 'an unknown kind',
    files: { 's.yaml': y('apiVersion: lifeboat.dev/v1', 'kind: Foo', 'metadata: { name: a }', 'spec: {}') },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        code: 'kind',
        message:
          'unknown kind "Foo": expected one of StorageLocation, BackupSchedule, Backup, Restore, RestoreApproval',
      },
    ],
  },
  {
    title: 'missing metadata.name',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  labels: { a: b }',
        'spec: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 3,
        column: 1,
        path: 'metadata.name',
        code: 'schema',
        message: 'missing required field "name"',
      },
    ],
  },
  {
    title: 'a name that is not a DNS-1123 subdomain',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  name: Nightly_Shop',
        'spec: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 4,
        column: 9,
        path: 'metadata.name',
        code: 'name',
        message:
          "name \"Nightly_Shop\" must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
      },
    ],
  },
  {
    title: 'an unknown top-level field',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec: {}',
        'status: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 1,
        path: 'status',
        code: 'unknown-field',
        message: 'unknown field "status"; allowed here: apiVersion, kind, metadata, spec',
      },
    ],
  },
  {
    title: 'metadata.namespace (documents are not namespaced)',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  name: a',
        '  namespace: velero',
        'spec: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 3,
        path: 'metadata.namespace',
        code: 'unknown-field',
        message: 'unknown field "namespace": policy documents are not namespaced',
      },
    ],
  },
  {
    title: 'a misspelt field in spec',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedul: "0 2 * * *"',
        '  schedule: "0 2 * * *"',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 5,
        column: 3,
        path: 'spec.schedul',
        code: 'unknown-field',
        message: 'unknown field "schedul" (did you mean "schedule"?)',
      },
    ],
  },
  {
    title: 'a Velero field lifeboat does not support, in the template',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "0 2 * * *"',
        '  template:',
        '    datamover: velero',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 7,
        column: 5,
        path: 'spec.template.datamover',
        code: 'unknown-field',
        message:
          'unknown field "datamover": this Velero field is not supported: lifeboat backs up volume data with CSI snapshots (snapshotVolumes, csiSnapshotTimeout), restic file-system copies (defaultVolumesToFsBackup) and snapshot data movement (snapshotMoveData)',
      },
    ],
  },
  {
    title: "Velero's CSI snapshot fields, in the template",
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "0 2 * * *"',
        '  template:',
        '    snapshotVolumes: true',
        '    csiSnapshotTimeout: 5m',
        '    csiVolumeSnapshotClasses: { ground.csi.lifeboat.dev: fast }',
      ),
    },
    documents: 1,
    errors: [],
  },
  {
    title: 'a csiSnapshotTimeout that is not a positive duration',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  csiSnapshotTimeout: 0s',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 23,
        path: 'spec.csiSnapshotTimeout',
        code: 'duration',
        message: 'csiSnapshotTimeout must be positive (got "0s"); for example "10m"',
      },
    ],
  },
  {
    title: 'an unknown field five levels deep',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  labelSelector:',
        '    matchExpressions:',
        '      - key: tier',
        '        operator: In',
        '        value: [web]',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 9,
        column: 9,
        path: 'spec.labelSelector.matchExpressions[0].value',
        code: 'unknown-field',
        message: 'unknown field "value" (did you mean "values"?)',
      },
    ],
  },
  {
    title: 'an inline secret key in credential',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: s3 }',
        'spec:',
        '  provider: aws',
        '  objectStorage: { bucket: b }',
        '  credential:',
        '    secretAccessKey: abc123',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 8,
        column: 5,
        path: 'spec.credential.secretAccessKey',
        code: 'inline-credential',
        message:
          'unknown field "secretAccessKey": credentials never live in Git: say where lifeboat finds them with a StorageLocation\'s spec.credential (fromEnv, file or secretRef)',
      },
    ],
  },
  {
    title: 'an access key id inline in config (field name and value)',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: s3 }',
        'spec:',
        '  provider: aws',
        '  objectStorage: { bucket: b }',
        '  config:',
        '    accessKey: AKIAIOSFODNN7EXAMPLE',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 8,
        column: 5,
        path: 'spec.config.accessKey',
        code: 'inline-credential',
        message:
          'unknown field "accessKey": credentials never live in Git: say where lifeboat finds them with a StorageLocation\'s spec.credential (fromEnv, file or secretRef)',
      },
      {
        file: 'l.yaml',
        line: 8,
        column: 16,
        path: 'spec.config.accessKey',
        code: 'inline-credential',
        message:
          "this value looks like an AWS access key id; credentials never live in Git: say where lifeboat finds them with a StorageLocation's spec.credential (fromEnv, file or secretRef)",
      },
    ],
  },
  {
    title: 'an access key id in an annotation value',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata:',
        '  name: a',
        '  annotations:',
        '    note: "key AKIAIOSFODNN7EXAMPLE"',
        'spec: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 6,
        column: 11,
        path: 'metadata.annotations.note',
        code: 'inline-credential',
        message:
          "this value looks like an AWS access key id; credentials never live in Git: say where lifeboat finds them with a StorageLocation's spec.credential (fromEnv, file or secretRef)",
      },
    ],
  },
  {
    title: 'credentials in the s3Url',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: s3 }',
        'spec:',
        '  provider: aws',
        '  objectStorage: { bucket: b }',
        '  config:',
        '    s3Url: https://user:hunter2@s3.example.com',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 8,
        column: 12,
        path: 'spec.config.s3Url',
        code: 'inline-credential',
        message: 's3Url must not contain credentials; use spec.credential',
      },
    ],
  },
  {
    title: 'two credential sources',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: s3 }',
        'spec:',
        '  provider: aws',
        '  objectStorage: { bucket: b }',
        '  credential:',
        '    file: /etc/aws/credentials',
        '    secretRef: { name: s, key: cloud }',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 8,
        column: 5,
        path: 'spec.credential',
        code: 'schema',
        message: 'set exactly one of: fromEnv, file, secretRef',
      },
    ],
  },
  {
    title: 'objectStorage on a local location',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: disk }',
        'spec:',
        '  provider: local',
        '  path: /backups',
        '  objectStorage: { bucket: b }',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 7,
        column: 3,
        path: 'spec.objectStorage',
        code: 'storage',
        message: '"objectStorage" is for provider aws; provider local takes only "path"',
      },
    ],
  },
  {
    title: 'an aws location without objectStorage',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: s3 }',
        'spec:',
        '  provider: aws',
        '  config: { region: eu-west-1 }',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 4,
        column: 1,
        path: 'spec.objectStorage',
        code: 'storage',
        message: 'provider aws needs "objectStorage" with the bucket',
      },
    ],
  },
  {
    title: 'an unknown provider',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: s3 }',
        'spec:',
        '  provider: gcp',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 5,
        column: 13,
        path: 'spec.provider',
        code: 'schema',
        message: 'must be one of: aws, local (not "gcp")',
      },
    ],
  },
  {
    title: 'a cron field out of range',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "61 2 * * *"',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 5,
        column: 13,
        path: 'spec.schedule',
        code: 'cron',
        message:
          'schedule "61 2 * * *" is not a valid cron expression: Constraint error, got value 61 expected range 0-59',
      },
    ],
  },
  {
    title: 'a verify section with a bad cron and a bad namespace prefix',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "0 2 * * *"',
        '  verify:',
        '    schedule: "0 4 * *"',
        '    namespacePrefix: Verify_',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 7,
        column: 15,
        path: 'spec.verify.schedule',
        code: 'cron',
        message:
          'verify schedule "0 4 * *" has 4 fields: use five (minute hour day-of-month month day-of-week) or a macro such as @daily',
      },
      {
        file: 's.yaml',
        line: 8,
        column: 22,
        path: 'spec.verify.namespacePrefix',
        code: 'namespace',
        message:
          'namespacePrefix "Verify_" must start with a lowercase letter and hold only lowercase letters, digits and \'-\' (it starts namespace names)',
      },
    ],
  },
  {
    title: 'a verify section with an unknown cleanup',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "0 2 * * *"',
        '  verify: { schedule: "@daily", cleanup: Never }',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 6,
        column: 42,
        path: 'spec.verify.cleanup',
        code: 'schema',
        message: 'must be one of: Always, OnSuccess (not "Never")',
      },
    ],
  },
  {
    title: 'a six-field cron with seconds',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "0 0 2 * * *"',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 5,
        column: 13,
        path: 'spec.schedule',
        code: 'cron',
        message:
          'schedule "0 0 2 * * *" has 6 fields, but a seconds field is not supported: use five fields (minute hour day-of-month month day-of-week)',
      },
    ],
  },
  {
    title: 'the @every macro',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@every 6h"',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 5,
        column: 13,
        path: 'spec.schedule',
        code: 'cron',
        message:
          'schedule "@every 6h" uses "@every", which is not supported: write a cron expression such as "0 */6 * * *"',
      },
    ],
  },
  {
    title: 'CRON_TZ inside the schedule',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "CRON_TZ=Europe/Berlin 0 2 * * *"',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 5,
        column: 13,
        path: 'spec.schedule',
        code: 'cron',
        message:
          'schedule "CRON_TZ=Europe/Berlin 0 2 * * *" must not contain CRON_TZ= or TZ=; set the time zone in spec.timeZone',
      },
    ],
  },
  {
    title: 'a time zone that does not exist',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  timeZone: Mars/Olympus',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 6,
        column: 13,
        path: 'spec.timeZone',
        code: 'time-zone',
        message: 'time zone "Mars/Olympus" is not known: use an IANA name such as "UTC" or "Europe/Berlin"',
      },
    ],
  },
  {
    title: 'a time zone in the wrong case',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  timeZone: europe/berlin',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 6,
        column: 13,
        path: 'spec.timeZone',
        code: 'time-zone',
        message: 'time zone "europe/berlin" is misspelt: names are case-sensitive, write "Europe/Berlin"',
      },
    ],
  },
  {
    title: 'a zero TTL',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  ttl: 0s',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 8,
        path: 'spec.ttl',
        code: 'duration',
        message: 'ttl must be positive (got "0s"); for example "720h"',
      },
    ],
  },
  {
    title: 'a negative TTL',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  ttl: -24h',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 8,
        path: 'spec.ttl',
        code: 'duration',
        message: 'ttl must be positive (got "-24h"); for example "720h"',
      },
    ],
  },
  {
    title: 'a TTL that is not a Go duration',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  ttl: 30 days',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 8,
        path: 'spec.ttl',
        code: 'duration',
        message:
          'invalid duration "30 days": unexpected text at "30 days" (use Go syntax like "720h" or "1h30m")',
      },
    ],
  },
  {
    title: 'a TTL written as a number',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  ttl: 720',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 8,
        path: 'spec.ttl',
        code: 'schema',
        message: 'must be a string, not the number 720',
      },
    ],
  },
  {
    title: 'YAML 1.1 "yes" for a boolean',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  paused: yes',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 6,
        column: 11,
        path: 'spec.paused',
        code: 'schema',
        message: 'must be true or false, not a string',
      },
    ],
  },
  {
    title: 'an empty spec',
    files: { 'b.yaml': y('apiVersion: lifeboat.dev/v1', 'kind: Backup', 'metadata: { name: a }', 'spec:') },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 4,
        column: 1,
        path: 'spec',
        code: 'schema',
        message: 'must be a mapping, not empty',
      },
    ],
  },
  {
    title: 'the same name twice (the second is the error, pointing at the first)',
    files: {
      'schedules/a.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata:',
        '  name: nightly',
        'spec: { schedule: "@daily", template: {} }',
      ),
      'schedules/b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata:',
        '  name: nightly',
        'spec: { schedule: "@hourly", template: {} }',
      ),
    },
    documents: 1,
    errors: [
      {
        file: 'schedules/b.yaml',
        line: 4,
        column: 9,
        path: 'metadata.name',
        code: 'duplicate-name',
        message: 'duplicate BackupSchedule name "nightly": first defined at schedules/a.yaml:4:9',
      },
    ],
  },
  {
    title: 'a storageLocation that names no StorageLocation',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  template:',
        '    storageLocation: primary',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 7,
        column: 22,
        path: 'spec.template.storageLocation',
        code: 'reference',
        message: 'StorageLocation "primary" not found in the repository; defined: default',
      },
    ],
  },
  {
    title: 'a storageLocation that names an invalid StorageLocation',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata:',
        '  name: primary',
        'spec:',
        '  provider: aws',
      ),
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  template:',
        '    storageLocation: primary',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'l.yaml',
        line: 5,
        column: 1,
        path: 'spec.objectStorage',
        code: 'storage',
        message: 'provider aws needs "objectStorage" with the bucket',
      },
      {
        file: 's.yaml',
        line: 7,
        column: 22,
        path: 'spec.template.storageLocation',
        code: 'reference',
        message: 'StorageLocation "primary" is invalid (l.yaml:4:9); fix it first',
      },
    ],
  },
  {
    title: 'a storageLocation that names a ReadOnly StorageLocation',
    files: {
      'l.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata:',
        '  name: archive',
        'spec:',
        '  provider: aws',
        '  accessMode: ReadOnly',
        '  objectStorage: { bucket: b }',
      ),
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  storageLocation: archive',
      ),
    },
    documents: 1,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 20,
        path: 'spec.storageLocation',
        code: 'reference',
        message: 'StorageLocation "archive" is ReadOnly: backups cannot be written to it',
      },
    ],
  },
  {
    title: 'a scheduleName that names no BackupSchedule',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  scheduleName: nightly',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 5,
        column: 17,
        path: 'spec.scheduleName',
        code: 'reference',
        message:
          'BackupSchedule "nightly" not found in the repository (to restore a backup by its name in storage, use backupName)',
      },
    ],
  },
  {
    title: 'a scheduleName that names an invalid BackupSchedule',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  scheduleName: nightly',
      ),
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata:',
        '  name: nightly',
        'spec:',
        '  schedule: "0 0 2 * * *"',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 5,
        column: 17,
        path: 'spec.scheduleName',
        code: 'reference',
        message: 'BackupSchedule "nightly" is invalid (s.yaml:4:9); fix it first',
      },
      {
        file: 's.yaml',
        line: 6,
        column: 13,
        path: 'spec.schedule',
        code: 'cron',
        message:
          'schedule "0 0 2 * * *" has 6 fields, but a seconds field is not supported: use five fields (minute hour day-of-month month day-of-week)',
      },
    ],
  },
  {
    title: 'both backupName and scheduleName',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: nightly-20250101020000',
        '  scheduleName: nightly',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 6,
        column: 3,
        path: 'spec.scheduleName',
        code: 'restore-source',
        message: 'set either backupName or scheduleName, not both',
      },
      {
        file: 'r.yaml',
        line: 6,
        column: 17,
        path: 'spec.scheduleName',
        code: 'reference',
        message:
          'BackupSchedule "nightly" not found in the repository (to restore a backup by its name in storage, use backupName)',
      },
    ],
  },
  {
    title: 'neither backupName nor scheduleName',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  includedNamespaces: [shop]',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 4,
        column: 1,
        path: 'spec',
        code: 'restore-source',
        message: 'a Restore needs a source: set backupName or scheduleName',
      },
    ],
  },
  {
    title: 'an unknown selector operator',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  labelSelector:',
        '    matchExpressions:',
        '      - { key: tier, operator: Equals, values: [web] }',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 7,
        column: 32,
        path: 'spec.labelSelector.matchExpressions[0].operator',
        code: 'schema',
        message: 'must be one of: In, NotIn, Exists, DoesNotExist (not "Equals")',
      },
    ],
  },
  {
    title: 'operator In without values',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  orLabelSelectors:',
        '    - matchLabels: { app: web }',
        '    - matchExpressions:',
        '        - key: tier',
        '          operator: In',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 8,
        column: 11,
        path: 'spec.orLabelSelectors[1].matchExpressions[0].values',
        code: 'selector',
        message: 'operator In needs at least one value',
      },
    ],
  },
  {
    title: 'an invalid label key in matchLabels',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  labelSelector:',
        '    matchLabels:',
        '      "-tier": web',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 7,
        column: 7,
        path: 'spec.labelSelector.matchLabels["-tier"]',
        code: 'selector',
        message:
          "label key \"-tier\" must be a name of letters, digits, '-', '_' and '.', starting and ending with a letter or digit, with an optional 'prefix/'",
      },
    ],
  },
  {
    title: 'a resourceNameRegex that does not compile',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  resourceModifiers:',
        '    version: v1',
        '    resourceModifierRules:',
        '      - conditions:',
        '          groupResource: deployments.apps',
        '          resourceNameRegex: "shop-(["',
        '        patches:',
        '          - { operation: remove, path: /spec/replicas }',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 11,
        column: 30,
        path: 'spec.resourceModifiers.resourceModifierRules[0].conditions.resourceNameRegex',
        code: 'resource-modifier',
        message: 'resourceNameRegex does not compile: error parsing regexp: missing closing ]: `[`',
      },
    ],
  },
  {
    title: 'a merge patch that is not a mapping',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  resourceModifiers:',
        '    version: v1',
        '    resourceModifierRules:',
        '      - conditions: { groupResource: pods }',
        '        mergePatches:',
        '          - patchData: "just text"',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 11,
        column: 24,
        path: 'spec.resourceModifiers.resourceModifierRules[0].mergePatches[0].patchData',
        code: 'resource-modifier',
        message: 'patchData must hold a YAML or JSON mapping, such as "{\\"spec\\": {\\"replicas\\": 1}}"',
      },
    ],
  },
  {
    title: 'an invalid target namespace in namespaceMapping',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  namespaceMapping:',
        '    shop: Shop_Restored',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 7,
        column: 11,
        path: 'spec.namespaceMapping.shop',
        code: 'namespace',
        message:
          'namespace "Shop_Restored" must be a DNS-1123 label: lower-case letters, digits and \'-\', starting and ending with a letter or digit',
      },
    ],
  },
  {
    title: 'labelSelector and orLabelSelectors together',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  labelSelector: { matchLabels: { app: web } }',
        '  orLabelSelectors:',
        '    - matchLabels: { app: api }',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 6,
        column: 3,
        path: 'spec.orLabelSelectors',
        code: 'filter',
        message: 'set labelSelector or orLabelSelectors, not both',
      },
    ],
  },
  {
    title: 'a namespace both included and excluded',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  includedNamespaces: [shop, billing]',
        '  excludedNamespaces: [billing]',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 6,
        column: 24,
        path: 'spec.excludedNamespaces[0]',
        code: 'filter',
        message: '"billing" is both in includedNamespaces and excludedNamespaces',
      },
    ],
  },
  {
    title: "Velero's old and new resource filters mixed",
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  includedResources: [deployments.apps]',
        '  includedClusterScopedResources: [storageclasses.storage.k8s.io]',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 6,
        column: 3,
        path: 'spec.includedClusterScopedResources',
        code: 'filter',
        message:
          'includedClusterScopedResources is a scope-specific filter and cannot be combined with includedResources, excludedResources or includeClusterResources',
      },
    ],
  },
  {
    title: 'two default StorageLocations',
    files: {
      'a.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: one }',
        'spec: { provider: local, path: /a, default: true }',
      ),
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata: { name: two }',
        'spec: { provider: local, path: /b, default: true }',
      ),
    },
    documents: 1,
    errors: [
      {
        file: 'b.yaml',
        line: 4,
        column: 45,
        path: 'spec.default',
        code: 'storage',
        message: 'only one StorageLocation can be the default, and "one" (a.yaml:3:19) already is',
      },
    ],
  },
  {
    title: 'includeClusterResources not true, false or auto',
    files: {
      'b.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: a }',
        'spec:',
        '  includeClusterResources: maybe',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'b.yaml',
        line: 5,
        column: 28,
        path: 'spec.includeClusterResources',
        code: 'schema',
        message: 'must be one of: true, false, auto (not "maybe")',
      },
    ],
  },
  {
    title: 'restoring nodes',
    files: {
      'r.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Restore',
        'metadata: { name: r }',
        'spec:',
        '  backupName: b',
        '  includedResources: [configmaps, nodes]',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 'r.yaml',
        line: 6,
        column: 35,
        path: 'spec.includedResources[1]',
        code: 'filter',
        message: 'nodes are never restored (as in Velero)',
      },
    ],
  },
  {
    title: 'an empty retention',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  retention: {}',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 6,
        column: 14,
        path: 'spec.retention',
        code: 'schema',
        message: 'set at least one of: keepLast, keepDaily, keepWeekly, keepMonthly',
      },
    ],
  },
  {
    title: 'keepLast: 0',
    files: {
      's.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: BackupSchedule',
        'metadata: { name: a }',
        'spec:',
        '  schedule: "@daily"',
        '  retention: { keepLast: 0 }',
        '  template: {}',
      ),
    },
    documents: 0,
    errors: [
      {
        file: 's.yaml',
        line: 6,
        column: 26,
        path: 'spec.retention.keepLast',
        code: 'schema',
        message: 'must be at least 1',
      },
    ],
  },
];

const validator = createSchemaValidator();

function load(files: Record<string, string>) {
  return loadPolicyFiles(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    { validator },
  );
}

describe('malformed policy documents', () => {
  it('covers at least 30 cases', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(30);
  });

  it.each(MALFORMED)('$title', ({ files, documents, errors }) => {
    const result = load(files);
    const seen = result.errors.map(({ file, line, column, path, code, message }) => ({
      file,
      line,
      column,
      path,
      code,
      message,
    }));
    expect(seen).toEqual(errors);
    expect(result.documents).toHaveLength(documents);
  });
});
