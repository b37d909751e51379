// Which addresses the endpoint may listen on and whom it serves without asking:
// loopback, and this host's Tailscale addresses (100.64.0.0/10, fd7a:115c:a1e0::/48).
// Nothing else is ever listened on, whatever LocalAPI or the interface list say.
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { tailscaleAddresses } from './localapi.js';

function v4(ip: string): number | null {
  if (!isIPv4(ip)) return null;
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}

/** A v4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets report peers) as plain v4. */
export const unmapped = (ip: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip);

export function isLoopback(address: string): boolean {
  const ip = unmapped(address);
  const n = v4(ip);
  if (n !== null) return n >>> 24 === 127;
  return ip === '::1';
}

/** Expand an IPv6 address to 8 groups of 16 bits (or null). */
function v6Groups(ip: string): number[] | null {
  if (!isIPv6(ip) || ip.includes('.') || ip.includes('%')) return null;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  const groups = [...h, ...fill, ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 ? groups : null;
}

export function isTailnet(address: string): boolean {
  const ip = unmapped(address);
  const n = v4(ip);
  // 100.64.0.0/10: Tailscale's CGNAT range.
  if (n !== null) return n >>> 22 === (100 * 256 + 64) >>> 6;
  const g = v6Groups(ip);
  // fd7a:115c:a1e0::/48: Tailscale's ULA range.
  return g !== null && g[0] === 0xfd7a && g[1] === 0x115c && g[2] === 0xa1e0;
}

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
