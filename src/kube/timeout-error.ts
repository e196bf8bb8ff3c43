/** A request that waited too long (KubeNetworkOptions in client.ts). */
export class TimeoutError extends Error {
  readonly code = 'timeout';
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}
