// A small client for tailscaled's LocalAPI over its unix socket: this host's Tailscale
// addresses (/localapi/v0/status) and who a peer is (/localapi/v0/whois). Every answer
// is parsed; anything unexpected is an error, and the caller fails closed.
// Shapes: ipn/ipnstate.Status and client/tailscale/apitype.WhoIsResponse (tailscale/tailscale).
import { request } from 'node:http';
import * as z from 'zod/mini';
import '../util/zod.js';

/** tailscaled routes LocalAPI requests by this Host header (apitype.LocalAPIHost). */
const LOCALAPI_HOST = 'local-tailscaled.sock';
const MAX_BODY = 1024 * 1024;

class LocalApiError extends Error {}

function get(socketPath: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { Host: LOCALAPI_HOST }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > MAX_BODY) req.destroy(new LocalApiError(`answer to ${path} is larger than ${MAX_BODY} bytes`));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    // One deadline for the whole exchange: a LocalAPI that trickles is as bad as a silent one.
    const timer = setTimeout(() => req.destroy(new LocalApiError(`no answer to ${path} within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new LocalApiError(`no answer to ${path} within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof LocalApiError ? e : new LocalApiError(`LocalAPI at ${socketPath} unreachable: ${e.message}`)));
    req.end();
  });
}

function parseJson<T>(schema: z.ZodMiniType<T>, body: string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new LocalApiError(`${what}: answer is not JSON`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new LocalApiError(`${what}: unexpected answer: ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
  return r.data;
}

// Loose objects: tailscaled sends many more fields; only these are relied upon.
const addrs = z.nullish(z.array(z.string()));
const StatusSchema = z.looseObject({ BackendState: z.optional(z.string()), TailscaleIPs: addrs, Self: z.nullish(z.looseObject({ TailscaleIPs: addrs })) });
const WhoIsSchema = z.looseObject({
  Node: z.looseObject({ Name: z.optional(z.string()), Tags: z.nullish(z.array(z.string())) }),
  UserProfile: z.looseObject({ LoginName: z.string() }),
});

export interface WhoIs {
  node: string | null;
  tags: string[];
  loginName: string;
}

export async function tailscaleAddresses(socketPath: string, timeoutMs: number): Promise<string[]> {
  const { status, body } = await get(socketPath, '/localapi/v0/status', timeoutMs);
  if (status !== 200) throw new LocalApiError(`/localapi/v0/status answered HTTP ${status}`);
  const s = parseJson(StatusSchema, body, '/localapi/v0/status');
  return [...new Set([...(s.TailscaleIPs ?? []), ...(s.Self?.TailscaleIPs ?? [])])];
}

/** Who is at ip:port on the tailnet; null when tailscaled knows no such peer (404). */
export async function whois(socketPath: string, addr: string, timeoutMs: number): Promise<WhoIs | null> {
  const path = `/localapi/v0/whois?addr=${encodeURIComponent(addr)}`;
  const { status, body } = await get(socketPath, path, timeoutMs);
  if (status === 404) return null;
  if (status !== 200) throw new LocalApiError(`/localapi/v0/whois answered HTTP ${status}`);
  const w = parseJson(WhoIsSchema, body, '/localapi/v0/whois');
  return { node: w.Node.Name ?? null, tags: w.Node.Tags ?? [], loginName: w.UserProfile.LoginName };
}

/** Allowed by a configured tag of the node, or the login name of its user. */
export function allowedBy(w: WhoIs, allow: { tags: string[]; users: string[] }): string | null {
  const tag = w.tags.find((t) => allow.tags.includes(t));
  if (tag) return tag;
  // Tagged nodes belong to the pseudo-user "tagged-devices": only real users count.
  if (w.tags.length === 0 && allow.users.includes(w.loginName)) return w.loginName;
  return null;
}
