// hosts/*.json: the agent settings of the four pantherOS hosts (DESIGN.md sections 1
// and 4). Each is proven valid by the bundled CLI's own `check-config` (exit 0), a
// broken copy is refused with exit 78 naming the field, and each says what the design
// says about its host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { STRICT } from './helpers/env.js';

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/pantheragent.cjs');
const HOSTS = ['hetzner-vps', 'ovh-vps', 'yoga', 'zephyrus'];
const LAPTOPS: Record<string, { model: string; onAC: string; onBattery: string }> = {
  yoga: { model: 'lenovo-yoga-7', onAC: 'balanced', onBattery: 'power-saver' },
  zephyrus: { model: 'asus-zephyrus-m16', onAC: 'performance', onBattery: 'balanced' },
};

function needDist(): string | false {
  if (existsSync(CLI)) return false;
  if (STRICT) throw new Error('PANTHERAGENT_TEST_STRICT=1 but dist/pantheragent.cjs is missing (npm run build)');
  return 'dist/ not built (npm run build)';
}
const skipDist = needDist();

function checkConfig(file: string, json = false) {
  const r = spawnSync(process.execPath, [CLI, ...(json ? ['--json'] : []), 'check-config', file], {
    encoding: 'utf8',
    env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'silent' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const hostFile = (h: string) => join(ROOT, 'hosts', `${h}.json`);
const raw = (h: string) => JSON.parse(readFileSync(hostFile(h), 'utf8'));

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pantheragent-hosts-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('hosts/ holds the four hosts of the fleet', () => {
  assert.deepEqual(readdirSync(join(ROOT, 'hosts')).sort(), HOSTS.map((h) => `${h}.json`));
});

for (const host of HOSTS) {
  test(`pantheragent check-config hosts/${host}.json exits 0`, { skip: skipDist }, () => {
    const r = checkConfig(hostFile(host));
    assert.equal(r.code, 0, r.stderr);
    const j = checkConfig(hostFile(host), true);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.valid, true);
    assert.equal(doc.config.host, host);
  });

  test(`a broken copy of hosts/${host}.json exits 78 and names the field`, { skip: skipDist }, () => {
    const cases: [string, (c: any) => void, string][] = [
      ['bad profile', (c) => (c.power.onAC = 'turbo'), 'power.onAC'],
      ['unknown key', (c) => (c.snapshots.retain = {}), 'snapshots'],
      ['relative state dir', (c) => (c.stateDir = 'var/lib/pantheragent'), 'stateDir'],
    ];
    for (const [what, mutate, path] of cases) {
      const c = raw(host);
      mutate(c);
      const file = join(tmp, `${host}-${what.replaceAll(' ', '-')}.json`);
      writeFileSync(file, JSON.stringify(c, null, 2));
      const r = checkConfig(file);
      assert.equal(r.code, 78, `${what}: ${r.stderr}`);
      assert.ok(r.stderr.includes(path), `${what}: names ${path}:\n${r.stderr}`);
    }
  });

  test(`hosts/${host}.json says what the design says about ${host}`, () => {
    const c = parseConfig(raw(host), hostFile(host));
    assert.equal(c.host, host);
    assert.equal(c.drift.attribute, `nixosConfigurations.${host}`);
    assert.deepEqual(c.health.listen, ['loopback', 'tailscale']);
    assert.ok(c.health.allow.tags.includes('tag:monitor'), 'the monitoring node may read it');
    // The index must survive the root wipe (the module asserts the same).
    const persistent = [c.persistence.storage, ...c.persistence.directories];
    assert.ok(persistent.some((d) => c.stateDir === d || c.stateDir.startsWith(`${d}/`)), `stateDir ${c.stateDir} is persistent`);
    assert.ok(c.persistence.files.includes('/etc/machine-id'));
    assert.deepEqual([c.root.subvolume, c.root.blank, c.root.archiveDir], ['@root', '@root-blank', '@old_roots']);
    assert.ok('@persist' in c.snapshots.sources && '@log' in c.snapshots.sources);
    assert.ok(!('@nix' in c.snapshots.sources), '@nix is reproducible, never snapshotted');

    const laptop = LAPTOPS[host];
    if (laptop) {
      assert.equal(c.btrfs.device, '/dev/mapper/cryptroot', 'Btrfs on LUKS');
      assert.equal(c.power.enable, true);
      assert.equal(c.power.model, laptop.model);
      assert.equal(c.power.onAC, laptop.onAC);
      assert.equal(c.power.onBattery, laptop.onBattery);
      assert.ok('@home' in c.snapshots.sources);
      assert.ok(c.persistence.directories.includes('/etc/NetworkManager/system-connections'));
    } else {
      assert.equal(c.power.enable, false, 'servers have no power knobs');
      assert.ok(!('@home' in c.snapshots.sources), 'servers have no @home');
      assert.match(c.btrfs.device, /^\/dev\/(sd|vd|nvme)/);
      assert.equal(c.timezone, 'UTC');
    }
  });
}
