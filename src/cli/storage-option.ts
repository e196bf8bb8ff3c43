// `--storage`: where backups are, for CLI use without a policy repository.
//   a path (or file:///path)               → a local directory (the embedded default: .lifeboat/backups)
//   s3://bucket[/prefix]?endpoint=URL&region=R&forcePathStyle=true&profile=P
//                        &caCertFile=PATH&encryptionKeyFile=PATH
// The CA bundle (PEM) and the client-side encryption key (ADR 0025) are named by file only:
// a key written on the command line would end up in shell history and process listings.
// S3 credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE, the shared credentials file): never from the command line, where they would
// end up in shell history and process listings.
import type { StorageLocationConfig } from '../storage/open-store.js';
import { UsageError } from './output.js';

export const DEFAULT_STORAGE = '.lifeboat/backups';

/** A location and the files to read before opening it (context.ts reads them). */
export type StorageOption = StorageLocationConfig & { files?: { caCert?: string; encryptionKey?: string } };

export function parseStorageOption(value: string): StorageOption {
  if (value.startsWith('s3://')) {
    const url = new URL(value);
    const bucket = url.hostname;
    if (!bucket) throw new UsageError(`--storage ${value}: no bucket (use s3://BUCKET[/PREFIX])`);
    const known = new Set([
      'endpoint',
      'region',
      'forcePathStyle',
      'profile',
      'caCertFile',
      'encryptionKeyFile',
    ]);
    for (const k of url.searchParams.keys()) {
      if (!known.has(k))
        throw new UsageError(
          `--storage: unknown parameter ${JSON.stringify(k)} (use ${[...known].join(', ')})`,
        );
    }
    const prefix = url.pathname.replace(/^\/+|\/+$/g, '');
    const endpoint = url.searchParams.get('endpoint') ?? process.env.LIFEBOAT_S3_ENDPOINT;
    const region = url.searchParams.get('region') ?? process.env.AWS_REGION;
    const profile = url.searchParams.get('profile');
    const caCert = url.searchParams.get('caCertFile');
    const encryptionKey = url.searchParams.get('encryptionKeyFile');
    for (const [k, v] of [
      ['caCertFile', caCert],
      ['encryptionKeyFile', encryptionKey],
    ] as const) {
      if (v === '') throw new UsageError(`--storage: ${k} is empty (give the path of a file)`);
    }
    const files = { ...(caCert ? { caCert } : {}), ...(encryptionKey ? { encryptionKey } : {}) };
    return {
      name: value.split('?')[0] ?? value,
      provider: 'aws',
      bucket,
      ...(prefix ? { prefix } : {}),
      config: {
        ...(endpoint ? { s3Url: endpoint } : {}),
        ...(region ? { region } : {}),
        ...(profile ? { profile } : {}),
        s3ForcePathStyle: url.searchParams.get('forcePathStyle') ?? (endpoint ? 'true' : 'false'),
      },
      ...(Object.keys(files).length > 0 ? { files } : {}),
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://')) {
    throw new UsageError(
      `--storage ${value}: unsupported scheme (use a directory path or s3://BUCKET/PREFIX)`,
    );
  }
  const path = value.startsWith('file://') ? new URL(value).pathname : value;
  return { name: path, provider: 'local', path, createIfMissing: true };
}
