import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { makeBtrfs, layoutHost } from './helpers/btrfs.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

test('btrfs fixture lays out a host and cleans up everything it made', { skip: skipUnless(BTRFS_REQ) }, () => {
  const fx = makeBtrfs();
  try {
    layoutHost(fx);
    const list = fx.btrfs('subvolume', 'list', fx.top);
    for (const s of ['@root', '@root-blank', '@persist', '@home', '@log', '@nix', '@snapshots']) assert.match(list, new RegExp(`path ${s}$`, 'm'));
  } finally {
    fx.cleanup();
  }
  assert.equal(existsSync(fx.dir), false);
});
