import { describe, expect, it } from 'vitest';
import { parseStorageOption } from './storage-option.js';

describe('parseStorageOption', () => {
  it('reads an S3 location with its CA and encryption key files', () => {
    expect(
      parseStorageOption(
        's3://bucket/team?endpoint=https://s3.example:9000&region=eu-1&caCertFile=/etc/ca.pem&encryptionKeyFile=/run/key',
      ),
    ).toEqual({
      name: 's3://bucket/team',
      provider: 'aws',
      bucket: 'bucket',
      prefix: 'team',
      config: { s3Url: 'https://s3.example:9000', region: 'eu-1', s3ForcePathStyle: 'true' },
      files: { caCert: '/etc/ca.pem', encryptionKey: '/run/key' },
    });
  });

  it('gives no files when none are named', () => {
    expect(parseStorageOption('s3://bucket?endpoint=http://127.0.0.1:9000')).not.toHaveProperty('files');
  });

  it.each([
    { value: 's3://bucket?caCertFile=', message: '--storage: caCertFile is empty (give the path of a file)' },
    {
      value: 's3://bucket?encryptionKey=abc',
      message:
        '--storage: unknown parameter "encryptionKey" (use endpoint, region, forcePathStyle, profile, caCertFile, encryptionKeyFile)',
    },
  ])('refuses $value', ({ value, message }) => {
    expect(() => parseStorageOption(value)).toThrow(message);
  });
});
