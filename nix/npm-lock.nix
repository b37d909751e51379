# package-lock.json with a download address on every entry npm fetches.
#
# This project's lockfile records none (npm's omit-lockfile-registry-resolved), and
# importNpmLock fetches only entries that have `resolved`: without it, a dependency
# is never fetched and the offline `npm ci` of the build fails. Each address is formed
# the way npm forms it from a registry base URL: <registry>/<name>/-/<basename>-<version>.tgz
# (for "@scope/pkg": <registry>/@scope/pkg/-/pkg-<version>.tgz), and is checked
# against the entry's `integrity` when fetched.
{ lib, npmRegistry }:

lockfile:
let
  registry = lib.removeSuffix "/" npmRegistry;

  # "node_modules/a/node_modules/@s/b" -> "@s/b"; an alias entry carries its real name.
  nameOf = path: entry: entry.name or (lib.last (lib.splitString "node_modules/" path));

  tarballUrl =
    path: entry:
    let
      name = nameOf path entry;
    in
    "${registry}/${name}/-/${lib.last (lib.splitString "/" name)}-${entry.version}.tgz";

  # The root package, workspace links and dependencies bundled inside another
  # package's tarball are not downloaded.
  fetched = path: entry: path != "" && !(entry.link or false) && !(entry.inBundle or false);

  withResolved =
    path: entry:
    if !(fetched path entry) || entry ? resolved then
      entry
    else if !(entry ? version && entry ? integrity) then
      throw "pantheragent: package-lock.json entry ${path} has no version or integrity to fetch it by: run `npm install` to complete the lockfile."
    else
      entry // { resolved = tarballUrl path entry; };
in
lockfile // { packages = lib.mapAttrs withResolved lockfile.packages; }
