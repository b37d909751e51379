// Which addresses the endpoint may listen on and whom it serves without asking:
// loopback, and this host's Tailscale addresses (100.64.0.0/10, fd7a:115c:a1e0::/48).
// Nothing else is ever listened on, whatever LocalAPI or the interface list say.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { tailscaleAddresses } from './localapi.js';

/** A v4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets report peers) as plain v4. */
export const unmapped = (ip: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip);

const ranges = (subnets: [string, number, 'ipv4' | 'ipv6'][]) => {
  const list = new BlockList();
  for (const [net, prefix, type] of subnets) list.addSubnet(net, prefix, type);
  return list;
};
const LOOPBACK = ranges([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]);
// Tailscale's CGNAT range and its ULA range.
const TAILNET = ranges([['100.64.0.0', 10, 'ipv4'], ['fd7a:115c:a1e0::', 48, 'ipv6']]);

/** Whether `address` (v4-mapped taken as v4; zone-scoped never) lies in `list`. */
function within(list: BlockList, address: string): boolean {
  const ip = unmapped(address);
  if (isIPv4(ip)) return list.check(ip, 'ipv4');
  return isIPv6(ip) && !ip.includes('%') && list.check(ip, 'ipv6');
}

export const isLoopback = (address: string): boolean => within(LOOPBACK, address);

export const isTailnet = (address: string): boolean => within(TAILNET, address);

export const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1'];

/** The tailscale0 interface's addresses, for when LocalAPI cannot be asked. */
function interfaceAddresses(name = 'tailscale0'): string[] {
  try {
    return (networkInterfaces()[name] ?? []).map((a) => a.address);
  } catch {
    // getifaddrs needs AF_NETLINK, which a sandboxed unit may not allow: LocalAPI only, then.
    return [];
  }
}

/**
 * This host's Tailscale addresses: LocalAPI's answer, else the interface's; only those
 * in Tailscale's ranges. Empty until tailscaled is up.
 */
export async function discoverTailnet(socketPath: string, timeoutMs: number, iface = interfaceAddresses): Promise<{ addresses: string[]; from: string }> {
  let found: string[];
  let from: string;
  try {
    found = await tailscaleAddresses(socketPath, timeoutMs);
    from = 'LocalAPI';
    if (found.length === 0) throw new Error('no addresses yet');
  } catch {
    found = iface();
    from = 'tailscale0';
  }
  return { addresses: found.filter(isTailnet), from };
}
