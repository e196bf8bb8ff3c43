// A cluster IP the user set by hand survives sanitizing (sanitize.ts resetService). Whether the
// target cluster can give it back is decided here, when the plan is made: the address must lie in
// one of the cluster's service ranges (ServiceCIDR objects) and no other Service may hold it
// (IPAddress objects, one per allocated address since Kubernetes 1.33). Pure: the caller reads
// the cluster and passes what it found.
import { BlockList, isIP } from 'node:net';
import type { KubeObject } from '../kube/types.js';
import { isJsonMap } from './strategic-merge.js';

/** The cluster IPs a desired Service asks for: none when the apiserver is to allocate them. */
export function requestedClusterIps(service: KubeObject): string[] {
  const spec = service.spec;
  if (!isJsonMap(spec) || spec.type === 'ExternalName') return [];
  const first = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (first === '' || first === 'None') return [];
  const all = Array.isArray(spec.clusterIPs) ? spec.clusterIPs.filter((ip) => typeof ip === 'string') : [];
  return [...new Set([first, ...all])].filter((ip) => ip !== '' && ip !== 'None');
}

/** Who holds an address now: an IPAddress object's parentRef, or nothing. */
export interface AddressHolder {
  resource?: string;
  namespace?: string;
  name?: string;
}

export interface ClusterIpFacts {
  /** CIDRs of the cluster's ServiceCIDR objects; empty when none could be read. */
  serviceRanges: string[];
  /** Address → its holder, for every requested address that is allocated. */
  holders: Map<string, AddressHolder>;
}

export type ClusterIpVerdict = { keep: true; note: string } | { keep: false; warning: string };

/** Whether `service` (as it will be created, in its target namespace) keeps its cluster IPs. */
export function judgeClusterIps(service: KubeObject, ips: string[], facts: ClusterIpFacts): ClusterIpVerdict {
  const self = { namespace: service.metadata.namespace ?? '', name: service.metadata.name ?? '' };
  const shown = ips.join(', ');
  const ranges = rangeList(facts.serviceRanges);
  for (const ip of ips) {
    const family = isIP(ip);
    if (family === 0) return allocateAnew(shown, `${ip} is not an IP address`);
    if (ranges && !ranges.check(ip, family === 6 ? 'ipv6' : 'ipv4')) {
      return allocateAnew(
        shown,
        `${ip} is outside this cluster's service ranges (${facts.serviceRanges.join(', ')})`,
      );
    }
    const holder = facts.holders.get(ip);
    if (holder && !(holder.namespace === self.namespace && holder.name === self.name)) {
      const by =
        holder.name !== undefined
          ? `${holder.resource ?? 'services'} ${holder.namespace ? `${holder.namespace}/` : ''}${holder.name}`
          : 'another object';
      return allocateAnew(shown, `${ip} is already allocated to ${by}`);
    }
  }
  return {
    keep: true,
    note: `cluster IP ${shown} was set by the user and is free here: the restore keeps it`,
  };
}

/** The Service without the addresses it cannot have, so that the apiserver allocates new ones. */
export function withoutClusterIps(service: KubeObject): KubeObject {
  const out = structuredClone(service);
  const spec = out.spec as Record<string, unknown>;
  delete spec.clusterIP;
  delete spec.clusterIPs;
  return out;
}

/** An existing Service whose address differs from the backup's: cluster IPs cannot change. */
export function liveAddressNote(backedUp: string[], live: string[]): string {
  return `cluster IP ${backedUp.join(', ')} was set by the user, but the live Service has ${live.join(', ') || 'none'} and a cluster IP cannot change: the restore leaves the live address`;
}

function allocateAnew(shown: string, why: string): ClusterIpVerdict {
  return {
    keep: false,
    warning: `cluster IP ${shown} was set by the user, but ${why}: the restore leaves it out and the cluster allocates a new one`,
  };
}

/** Ranges as a BlockList (node's own CIDR matching); undefined when nothing is known. */
function rangeList(cidrs: string[]): BlockList | undefined {
  const list = new BlockList();
  let added = 0;
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    const family = address ? isIP(address) : 0;
    if (!address || family === 0 || bits === undefined) continue;
    list.addSubnet(address, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
    added += 1;
  }
  return added > 0 ? list : undefined;
}
