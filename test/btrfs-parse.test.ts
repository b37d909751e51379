// Parsers over real captured btrfs-progs v6.2 output (test/fixtures/btrfs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  mountSubvolId,
  parseFindNew,
  parseGetDefault,
  parseMountInfo,
  parseQgroupShow,
  parseRoProperty,
  parseSubvolumeList,
  parseSubvolumeShow,
} from '../src/btrfs/parse.js';
import { ParseError } from '../src/errors.js';

const fx = (f: string) => readFileSync(join(__dirname, 'fixtures/btrfs', f), 'utf8');

test('subvolume list: every field, nested paths, parent uuids', () => {
  const l = parseSubvolumeList(fx('subvolume-list.txt'));
  assert.equal(l.length, 5);
  assert.deepEqual(l[0], {
    id: 256, gen: 8, cgen: 7, parent: 5, topLevel: 5, parentUuid: null, receivedUuid: null,
    uuid: '0fc32e1a-689a-c344-ae7d-abb287626c17', path: '@root',
  });
  assert.equal(l[2]!.path, '@root/nested');
  assert.equal(l[4]!.path, '@snapshots/@root.20261125T220000+0000');
  assert.equal(l[4]!.parentUuid, l[0]!.uuid);
  const ro = parseSubvolumeList(fx('subvolume-list-ro.txt')).map((s) => s.path);
  assert.deepEqual(ro, ['@root-blank', '@snapshots/@root.20261125T220000+0000']);
});

test('subvolume list: paths with spaces and the <FS_TREE> prefix of -a', () => {
  const line = 'ID 300 gen 9 cgen 9 parent 5 top level 5 parent_uuid -                                    received_uuid -                                    uuid 11111111-2222-3333-4444-555555555555 path <FS_TREE>/dir with space/@x';
  assert.equal(parseSubvolumeList(line)[0]!.path, 'dir with space/@x');
});

test('subvolume list: an unknown line is an error, not a guess', () => {
  assert.throws(() => parseSubvolumeList('ID 256 gen 7 top level 5 path @root'), ParseError);
});

test('subvolume show: read-only snapshot and writable subvolume', () => {
  const ro = parseSubvolumeShow(fx('subvolume-show-ro.txt'));
  assert.equal(ro.name, '@root.20261125T220000+0000');
  assert.equal(ro.id, 260);
  assert.equal(ro.readonly, true);
  assert.equal(ro.genAtCreation, 8);
  assert.equal(ro.parentUuid, '0fc32e1a-689a-c344-ae7d-abb287626c17');
  const rw = parseSubvolumeShow(fx('subvolume-show-rw.txt'));
  assert.equal(rw.readonly, false);
  assert.equal(rw.parentUuid, null);
  assert.throws(() => parseSubvolumeShow('@x\n\tName: x\n'), ParseError);
});

test('find-new: inline, regular and preallocated extents, paths with spaces, marker', () => {
  const r = parseFindNew(fx('find-new.txt'));
  assert.equal(r.marker, 8);
  assert.deepEqual(r.entries.map((e) => e.path), ['etc/with space/f', 'big', 'prealloc']);
  assert.throws(() => parseFindNew('inode 1 something'), ParseError);
  assert.throws(() => parseFindNew(''), /transid marker/);
});

test('property ro, get-default', () => {
  assert.equal(parseRoProperty(fx('property-ro.txt')), true);
  assert.equal(parseRoProperty('ro=false\n'), false);
  assert.throws(() => parseRoProperty('ro=maybe'), ParseError);
  assert.equal(parseGetDefault(fx('get-default.txt')), 5);
  assert.equal(parseGetDefault('ID 256 gen 9 top level 5 path @root\n'), 256);
});

test('mountinfo: btrfs subvolid, escaped spaces', () => {
  const m = parseMountInfo(fx('mountinfo.txt'));
  const top = m.find((x) => x.mountPoint === '/tmp/m')!;
  assert.equal(top.fsType, 'btrfs');
  assert.equal(mountSubvolId(top), 5);
  const esc = parseMountInfo('50 27 0:39 /@persist /mnt/with\\040space rw - btrfs /dev/loop0 rw,subvolid=256,subvol=/@persist')[0]!;
  assert.equal(esc.mountPoint, '/mnt/with space');
  assert.equal(mountSubvolId(esc), 256);
});

test('qgroup show: level-0 sizes by subvolume id', () => {
  const q = parseQgroupShow(fx('qgroup-show.txt'));
  assert.deepEqual(q.get(257), { referenced: 3162112, exclusive: 16384 });
  assert.deepEqual(q.get(5), { referenced: 16384, exclusive: 16384 });
  assert.equal(parseQgroupShow('Qgroupid Referenced Exclusive Path\n1/100 10 10 <stale>\n').size, 0, 'higher levels are not subvolumes');
  assert.throws(() => parseQgroupShow('0/abc 1 2 x'), ParseError);
});
