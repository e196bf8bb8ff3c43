// policies/ is the example policy repository shipped with lifeboat: it must validate cleanly,
// and every document must point editors at the right schema.
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listPolicyFiles, loadPolicyRepo } from './load.js';
import { SCHEMA_FILES } from './schema.js';

const REPO = fileURLToPath(new URL('../../policies/', import.meta.url));
const EVERYTHING_BUT_SCHEMAS = ['status', 'plans', 'schema'];

describe('the example policy repository (policies/)', () => {
  it('validates with zero errors', async () => {
    const { documents, errors } = await loadPolicyRepo({ dir: REPO });
    expect(errors).toEqual([]);
    expect(documents.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'Backup/before-upgrade-1-31',
      'BackupSchedule/hourly-platform',
      'BackupSchedule/nightly-shop',
      'StorageLocation/default',
      'StorageLocation/primary',
      'StorageLocation/velero-archive',
    ]);
  });

  it('has a local location named default at the built-in path and an aws one reading keys from the environment', async () => {
    const { documents } = await loadPolicyRepo({ dir: REPO });
    const spec = (name: string) =>
      documents.find((d) => d.kind === 'StorageLocation' && d.metadata.name === name)?.spec;
    expect(spec('default')).toMatchObject({ provider: 'local', path: '.lifeboat/backups' });
    expect(spec('primary')).toMatchObject({ provider: 'aws', credential: { fromEnv: {} } });
  });

  it('keeps its example restores valid, outside the directories that take effect', async () => {
    const { documents, errors } = await loadPolicyRepo({ dir: REPO, skip: EVERYTHING_BUT_SCHEMAS });
    expect(errors).toEqual([]);
    expect(documents.filter((d) => d.kind === 'Restore').map((d) => d.source.file)).toEqual([
      'examples/restore-configmaps-from-backup.yaml',
      'examples/restore-shop.yaml',
    ]);
  });

  it("starts every document file with a yaml-language-server comment naming its kind's schema", async () => {
    const { documents } = await loadPolicyRepo({ dir: REPO, skip: EVERYTHING_BUT_SCHEMAS });
    const files = await listPolicyFiles(REPO, EVERYTHING_BUT_SCHEMAS);
    expect(files).toHaveLength(documents.length);
    for (const document of documents) {
      const text = await readFile(join(REPO, document.source.file), 'utf8');
      const schema = `../schema/${SCHEMA_FILES[document.kind]}`;
      expect(text.split('\n')[0], document.source.file).toBe(`# yaml-language-server: $schema=${schema}`);
      await expect(access(join(REPO, dirname(document.source.file), schema))).resolves.toBeUndefined();
    }
  });
});
