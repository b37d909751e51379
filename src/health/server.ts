// The health endpoint: loopback and this host's Tailscale addresses only; loopback
// peers are served, tailnet peers only when tailscaled's LocalAPI says they carry an
// allowed tag or login name (anything else, including LocalAPI trouble: 403). GET and
// HEAD only. It reads the published state file and nothing else on this host.
import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Logger } from '../util/log.js';
import { discoverTailnet, isLoopback, isTailnet, LOOPBACK_ADDRESSES, unmapped } from './addresses.js';
import { healthDocument, METRICS_CONTENT_TYPE, metricsText, stateAge } from './doc.js';
import { allowedBy, whois, type WhoIs } from './localapi.js';
import { readState, statePath, type ReadState } from './publish.js';

export interface HealthServerOptions {
  config: Config;
  log: Logger;
  version: string;
  /** Injectable for tests: the clock the verdicts use. */
  now?: () => number;
  /** Injectable for tests: this host's Tailscale addresses. */
  discover?: () => Promise<{ addresses: string[]; from: string }>;
}

type Health = Config['health'];

/** Reads the state file again only when it was replaced (the daemon renames a new one in). */
class StateCache {
  private key = '';
  private read: ReadState = { ok: false, why: 'not read yet' };
  constructor(private readonly runtimeDir: string) {}
  get(): { read: ReadState; key: string } {
    const st = statSync(statePath(this.runtimeDir), { throwIfNoEntry: false });
    const key = st ? `${st.ino}:${st.mtimeMs}:${st.size}` : 'absent';
    if (key !== this.key || key === 'absent') {
      this.read = readState(this.runtimeDir);
      this.key = key;
    }
    return { read: this.read, key };
  }
}

/** A rendered body per state file and second: under load, most requests are a lookup. */
class RenderCache {
  private cached = new Map<string, { status: number; body: string }>();
  get(key: string, render: () => { status: number; body: string }) {
    let hit = this.cached.get(key);
    if (!hit) {
      if (this.cached.size > 8) this.cached.clear();
      hit = render();
      this.cached.set(key, hit);
    }
    return hit;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(body); // on HEAD, node sends the headers only
}

export class HealthServer {
  private servers = new Map<string, { server: Server; key: string }>();
  private notListening = new Set<string>();
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private state: StateCache;
  private render = new RenderCache();
  private lastLocalApiWarning = 0;
  private tailnetTries = 0;
  private readonly now: () => number;
  private readonly h: Health;

  constructor(private readonly opts: HealthServerOptions) {
    this.h = opts.config.health;
    this.now = opts.now ?? Date.now;
    this.state = new StateCache(opts.config.runtimeDir);
  }

  /** Where it listens now, as "address:port". */
  addresses(): string[] {
    return [...this.servers.values()].map((s) => s.key);
  }

  async start(): Promise<void> {
    if (this.h.listen.includes('loopback')) {
      for (const a of LOOPBACK_ADDRESSES) await this.listenOn(a, a === '::1');
      if (this.servers.size === 0) throw new Error(`could not listen on loopback port ${this.h.port}`);
    }
    if (this.h.listen.includes('tailscale')) await this.findTailnet();
  }

  /**
   * Listens on this host's Tailscale addresses, asking again every retryMs while any
   * of them is not bound yet (tailscaled brings them up one by one, v4 and v6).
   */
  private async findTailnet(): Promise<void> {
    if (this.closed) return;
    const discover = this.opts.discover ?? (() => discoverTailnet(this.h.tailscaleSocket, this.h.limits.whoisTimeoutMs));
    let wanted: string[] = [];
    let from = '';
    let newly = 0;
    try {
      const found = await discover();
      from = found.from;
      wanted = found.addresses.filter(isTailnet);
      for (const a of wanted) {
        const had = this.servers.has(a);
        if ((await this.listenOn(a, true)) && !had) newly++;
      }
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'looking for Tailscale addresses failed');
    }
    if (newly) this.opts.log.info({ addresses: this.addresses(), from }, 'listening on the tailnet');
    const missing = wanted.filter((a) => !this.servers.has(a));
    if (wanted.length > 0 && missing.length === 0) return;
    // Said once at info; the retries every few seconds only at debug.
    const level = this.tailnetTries++ === 0 ? 'info' : 'debug';
    this.opts.log[level]({ retryMs: this.h.limits.retryMs, missing }, wanted.length ? 'some Tailscale addresses are not up yet: trying again' : 'no Tailscale address yet (tailscaled not up?): trying again');
    this.retry = setTimeout(() => void this.findTailnet(), this.h.limits.retryMs);
  }

  /** Address (as given) -> its listener; the listening key is "address:port" as bound. */
  private listenOn(address: string, optional: boolean): Promise<boolean> {
    if (this.servers.has(address)) return Promise.resolve(true);
    const key = address.includes(':') ? `[${address}]:${this.h.port}` : `${address}:${this.h.port}`;
    const l = this.h.limits;
    const server = createServer(
      {
        maxHeaderSize: l.maxHeaderBytes,
        headersTimeout: Math.min(l.headersTimeoutMs, l.requestTimeoutMs),
        requestTimeout: l.requestTimeoutMs,
        keepAliveTimeout: 5000,
        // How often node looks for requests past their deadlines (default 30 s).
        connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(l.headersTimeoutMs / 2))),
      },
      (req, res) => this.handle(req, res),
    );
    server.maxConnections = l.maxConnections;
    return new Promise((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => {
        if (optional && ['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EADDRINUSE'].includes(e.code ?? '')) {
          const level = this.notListening.has(key) ? 'debug' : 'warn';
          this.notListening.add(key);
          this.opts.log[level]({ address: key, code: e.code }, `not listening on ${key}: ${e.message}`);
          resolve(false);
        } else reject(e);
      };
      server.once('error', fail);
      server.listen({ host: address, port: this.h.port, ipv6Only: address.includes(':'), exclusive: true }, () => {
        server.off('error', fail);
        server.on('error', (e) => this.opts.log.error({ err: e, address: key }, 'listener error'));
        // The port actually bound (port 0 in tests picks a free one).
        const bound = key.replace(/:\d+$/, `:${(server.address() as AddressInfo).port}`);
        this.servers.set(address, { server, key: bound });
        this.opts.log.info({ address: bound }, `health endpoint listening on http://${bound}`);
        resolve(true);
      });
    });
  }

  /** A peer that is not loopback: only a tailnet peer that tailscaled vouches for. */
  private async authorize(req: IncomingMessage): Promise<{ ok: true; who: string } | { ok: false; why: string }> {
    const peer = req.socket.remoteAddress;
    if (!peer) return { ok: false, why: 'no peer address' };
    if (!isTailnet(peer)) return { ok: false, why: `${peer} is neither loopback nor a tailnet address` };
    const ip = unmapped(peer);
    const addr = ip.includes(':') ? `[${ip}]:${req.socket.remotePort}` : `${ip}:${req.socket.remotePort}`;
    let w: WhoIs | null;
    try {
      w = await whois(this.h.tailscaleSocket, addr, this.h.limits.whoisTimeoutMs);
    } catch (e) {
      const t = this.now();
      if (t - this.lastLocalApiWarning > 10_000) {
        this.lastLocalApiWarning = t;
        this.opts.log.warn({ err: (e as Error).message }, 'tailscaled LocalAPI did not answer whois: refusing tailnet peers until it does');
      }
      return { ok: false, why: `LocalAPI: ${(e as Error).message}` };
    }
    if (!w) return { ok: false, why: `tailscaled knows no peer at ${addr}` };
    const by = allowedBy(w, this.h.allow);
    return by ? { ok: true, who: `${w.node ?? addr} (${by})` } : { ok: false, why: `${w.node ?? addr} has no allowed tag or login name` };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const fail = (e: unknown) => {
      this.opts.log.error({ err: e }, 'health request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    };
    // Loopback is answered at once (no promise in the way: this is the path under load).
    const peer = req.socket.remoteAddress;
    if (peer !== undefined && isLoopback(peer)) {
      try {
        return this.respond(req, res);
      } catch (e) {
        return fail(e);
      }
    }
    this.authorize(req).then((auth) => {
      if (auth.ok) return this.respond(req, res);
      this.opts.log.info({ peer, why: auth.why }, 'health request refused');
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
    }).catch(fail);
  }

  private respond(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
    }
    const path = (req.url ?? '/').split('?')[0];
    const now = this.now();
    switch (path) {
      case '/livez':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      case '/readyz': {
        const { read } = this.state.get();
        if (!read.ok) return send(res, 503, 'text/plain; charset=utf-8', `not ready: ${read.why}\n`);
        const age = stateAge(read.state, now);
        if (age.stale) {
          return send(res, 503, 'text/plain; charset=utf-8', `not ready: the health state is ${age.seconds}s old (stale after ${read.state.thresholds.staleAfterSeconds}s)\n`);
        }
        return send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
      }
      case '/health': {
        const { read, key } = this.state.get();
        const r = this.render.get(`h:${key}:${Math.floor(now / 1000)}`, () => {
          const doc = healthDocument(read, now, this.opts.version);
          return { status: doc.status === 'fail' ? 503 : 200, body: JSON.stringify(doc) };
        });
        return send(res, r.status, 'application/health+json', r.body);
      }
      case '/metrics': {
        const { read, key } = this.state.get();
        const r = this.render.get(`m:${key}:${Math.floor(now / 1000)}`, () => ({ status: 200, body: metricsText(read, now, this.opts.version) }));
        return send(res, r.status, METRICS_CONTENT_TYPE, r.body);
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: /livez /readyz /health /metrics\n');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await Promise.all(
      [...this.servers.values()].map(
        ({ server: s }) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    this.servers.clear();
  }
}
