// The StorageLocation document a CLI command was pointed at, when it was pointed at one rather
// than at a bare directory or s3:// URL: `--storage FILE.yaml` (one StorageLocation document) or
// `--location NAME` (one of the policy repository at --policies). The document carries what a URL
// cannot: the Secrets of the S3 keys and of the restic password (spec.restic), which the node
// agent reads on its node. The file is checked like a policy file, errors naming file and line.
import { readFile } from 'node:fs/promises';
import { documentsOfKind, resolveStorageLocation } from '../policy/convert.js';
import { loadPolicyFiles, loadPolicyRepo } from '../policy/load.js';
import type { StorageLocationSpec } from '../policy/types.js';
import { formatPolicyErrorsText } from '../policy/validate-command.js';
import { UsageError } from './output.js';

export interface LocationDocument {
  name: string;
  spec: StorageLocationSpec;
}

/** `--storage` names a StorageLocation file (rather than a directory) by its YAML extension. */
export function isLocationFile(storage: string): boolean {
  return /\.ya?ml$/i.test(storage) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(storage);
}

/** The one StorageLocation document of a YAML file; a usage error names the file and line. */
export async function loadLocationFile(path: string): Promise<LocationDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--storage ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const { documents, errors } = loadPolicyFiles([{ file: path, text }]);
  if (errors.length > 0) {
    throw new UsageError(
      `--storage ${path} is not a valid StorageLocation:\n${formatPolicyErrorsText(errors).join('\n')}`,
    );
  }
  const locations = documentsOfKind(documents, 'StorageLocation');
  const [only] = locations;
  if (!only || locations.length !== 1 || documents.length !== 1) {
    throw new UsageError(
      `--storage ${path}: the file must hold exactly one StorageLocation document (it holds ${documents.length} document(s), ${locations.length} StorageLocation(s))`,
    );
  }
  return { name: only.metadata.name, spec: only.spec };
}

/** The location document of the command line, or undefined when it names a directory or URL. */
export async function locationDocumentOf(opts: {
  storage?: string;
  location?: string;
  policies?: string;
}): Promise<LocationDocument | undefined> {
  if (opts.storage !== undefined)
    return isLocationFile(opts.storage) ? loadLocationFile(opts.storage) : undefined;
  if (opts.location === undefined) return undefined;
  const dir = opts.policies ?? '.';
  const { documents } = await loadPolicyRepo({ dir });
  const loc = resolveStorageLocation(documents, opts.location);
  if (!loc)
    throw new UsageError(
      `--location ${opts.location}: no StorageLocation of that name in ${dir} (see --policies)`,
    );
  return { name: loc.name, spec: loc.spec };
}
