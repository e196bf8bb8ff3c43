// Which environment variables a StorageLocation may name, and which endpoints it may send them
// to. A document that anyone with merge rights can write must not turn the reconciler into a
// courier: `accessKeyIdVar: LIFEBOAT_GIT_TOKEN` plus an endpoint of the author's choice would
// send the Git token there (the access key id travels in clear in every signed request), and
// an endpoint on the cloud's metadata address would hand out the node's credentials.
import { BlockList, isIP } from 'node:net';

/** Variables a StorageLocation may read: the AWS SDK's own three, and a prefix of ours. ADR 0013. */
export const CREDENTIAL_ENV_NAMES: readonly string[] = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];
export const CREDENTIAL_ENV_PREFIX = 'LIFEBOAT_S3_';

export function credentialEnvNameError(name: string): string | undefined {
  if (CREDENTIAL_ENV_NAMES.includes(name)) return undefined;
  if (name.startsWith(CREDENTIAL_ENV_PREFIX) && name.length > CREDENTIAL_ENV_PREFIX.length) return undefined;
  return `is not a variable a StorageLocation may read: name ${CREDENTIAL_ENV_NAMES.join(', ')} or a variable starting with ${CREDENTIAL_ENV_PREFIX} (the reconciler's other variables, such as its Git token, are never sent to a storage endpoint)`;
}

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4'); // IMDS of AWS, GCP, Azure, OpenStack, ...
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');
LINK_LOCAL.addAddress('fd00:ec2::254', 'ipv6'); // AWS IMDS over IPv6
LINK_LOCAL.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
LINK_LOCAL.addAddress('168.63.129.16', 'ipv4'); // Azure WireServer

const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
]);

/** Whether an IP address (v4, v6, or v4-mapped v6) is link-local or a metadata service. */
export function isLinkLocalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return LINK_LOCAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Why an endpoint's host is refused, or undefined. `hostname` is as URL parses it (IPv4 forms
 * like 0xa9fea9fe already normalized, IPv6 in brackets).
 */
export function endpointHostError(hostname: string): string | undefined {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (METADATA_HOSTS.has(host) || isLinkLocalAddress(host))
    return `the endpoint host ${hostname} is a link-local or cloud metadata address; the reconciler refuses it unless run with --allow-link-local-endpoints`;
  return undefined;
}
