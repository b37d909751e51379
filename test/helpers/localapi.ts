// A stand-in for tailscaled's LocalAPI on a unix socket, answering the two requests the
// health endpoint makes with the JSON shapes tailscaled sends (ipn/ipnstate.Status for
// /localapi/v0/status, apitype.WhoIsResponse for /localapi/v0/whois, tailscale/tailscale),
// and tailscaled's errors: 403 for a wrong Host header, 400 without addr, 404 "no match".
import { createServer, type Server } from 'node:http';
import { rmSync } from 'node:fs';

export interface Peer {
  ip: string;
  name: string;
  /** Tagged nodes belong to the pseudo-user "tagged-devices". */
  tags?: string[];
  loginName?: string;
}

export interface LocalApiStandIn {
  socket: string;
  /** Every request path, in order. */
  requests: string[];
  /** Answer after this many ms (a slow tailscaled). */
  delayMs: number;
  /** Answer whois with this body instead (a malformed answer). */
  whoisBody: string | null;
  close(): Promise<void>;
}

function nodeJson(id: number, p: Peer) {
  const tagged = (p.tags ?? []).length > 0;
  const v6 = `fd7a:115c:a1e0::${id.toString(16)}`;
  return {
    ID: id,
    StableID: `n${id}CNTRL`,
    Name: `${p.name}.tail1234.ts.net.`,
    User: tagged ? 2 : 1000 + id,
    Key: `nodekey:${id.toString(16).padStart(64, '0')}`,
    KeyExpiry: '0001-01-01T00:00:00Z',
    Machine: `mkey:${id.toString(16).padStart(64, '1')}`,
    DiscoKey: `discokey:${id.toString(16).padStart(64, '2')}`,
    Addresses: [`${p.ip}/32`, `${v6}/128`],
    AllowedIPs: [`${p.ip}/32`, `${v6}/128`],
    Endpoints: ['192.0.2.200:41641'],
    HomeDERP: 1,
    Hostinfo: { OS: 'linux', Hostname: p.name, Services: [] },
    Created: '2026-01-02T03:04:05Z',
    Cap: 106,
    ...(tagged ? { Tags: p.tags } : {}),
    Online: true,
    MachineAuthorized: true,
    ComputedName: p.name,
    ComputedNameWithHost: p.name,
  };
}

function userJson(id: number, p: Peer) {
  const tagged = (p.tags ?? []).length > 0;
  return tagged
    ? { ID: 2, LoginName: 'tagged-devices', DisplayName: 'tagged-devices' }
    : { ID: 1000 + id, LoginName: p.loginName ?? `${p.name}@example.com`, DisplayName: p.name, ProfilePicURL: '' };
}

export function statusJson(selfIPs: string[], peers: Peer[]) {
  return {
    Version: '1.86.2-t0123456789-g0123456789',
    TUN: true,
    BackendState: 'Running',
    HaveNodeKey: true,
    AuthURL: '',
    TailscaleIPs: selfIPs,
    Self: {
      ID: 'n1CNTRL',
      PublicKey: `nodekey:${'a'.repeat(64)}`,
      HostName: 'testhost',
      DNSName: 'testhost.tail1234.ts.net.',
      OS: 'linux',
      UserID: 1001,
      TailscaleIPs: selfIPs,
      AllowedIPs: selfIPs.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
      Addrs: null,
      CurAddr: '',
      Relay: 'fra',
      RxBytes: 0,
      TxBytes: 0,
      Created: '2026-01-02T03:04:05Z',
      LastWrite: '0001-01-01T00:00:00Z',
      LastSeen: '0001-01-01T00:00:00Z',
      LastHandshake: '0001-01-01T00:00:00Z',
      Online: true,
      ExitNode: false,
      ExitNodeOption: false,
      Active: false,
      PeerAPIURL: selfIPs.map((ip) => `http://${ip.includes(':') ? `[${ip}]` : ip}:41641`),
      InNetworkMap: true,
      InMagicSock: false,
      InEngine: false,
    },
    Health: [],
    MagicDNSSuffix: 'tail1234.ts.net',
    CurrentTailnet: { Name: 'example.com', MagicDNSSuffix: 'tail1234.ts.net', MagicDNSEnabled: true },
    CertDomains: null,
    Peer: Object.fromEntries(peers.map((p, i) => [`nodekey:${(i + 2).toString(16).padStart(64, '0')}`, { ID: `n${i + 2}CNTRL`, HostName: p.name, TailscaleIPs: [p.ip], Tags: p.tags, Online: true }])),
    User: Object.fromEntries(peers.map((p, i) => [String(userJson(i + 2, p).ID), userJson(i + 2, p)])),
    ClientVersion: null,
  };
}

export async function startLocalApi(socket: string, opts: { selfIPs: string[]; peers: Peer[] }): Promise<LocalApiStandIn> {
  rmSync(socket, { force: true });
  const stand: LocalApiStandIn = { socket, requests: [], delayMs: 0, whoisBody: null, close: async () => {} };
  const server: Server = createServer((req, res) => {
    stand.requests.push(req.url ?? '');
    const answer = () => {
      const text = (code: number, body: string) => {
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end(body + '\n');
      };
      const json = (v: unknown) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(v, null, '\t'));
      };
      if (req.headers.host !== 'local-tailscaled.sock') return text(403, 'invalid localapi Host header');
      const url = new URL(req.url ?? '/', 'http://local-tailscaled.sock');
      if (url.pathname === '/localapi/v0/status') return json(statusJson(opts.selfIPs, opts.peers));
      if (url.pathname === '/localapi/v0/whois') {
        const addr = url.searchParams.get('addr');
        if (!addr) return text(400, "missing 'addr' parameter");
        if (stand.whoisBody !== null) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return res.end(stand.whoisBody);
        }
        const ip = addr.startsWith('[') ? addr.slice(1, addr.indexOf(']')) : addr.includes('.') ? addr.split(':')[0]! : addr;
        const i = opts.peers.findIndex((p) => p.ip === ip);
        if (i < 0) return text(404, 'no match for IP:port');
        const p = opts.peers[i]!;
        return json({ Node: nodeJson(i + 2, p), UserProfile: userJson(i + 2, p), CapMap: {} });
      }
      return text(404, 'not found');
    };
    if (stand.delayMs > 0) setTimeout(answer, stand.delayMs);
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  stand.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return stand;
}
