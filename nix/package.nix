# pantheragent: the esbuild bundle (dist/pantheragent.cjs) with its production
# node_modules (better-sqlite3 is native, pino-pretty is loaded on a TTY only), run by
# Node.js 20 with the tools it calls on its PATH.
#
# Dependencies come from package-lock.json through importNpmLock: no hash to keep.
# The lock records no download addresses (npm's omit-lockfile-registry-resolved), so
# each tarball's address is formed the way npm forms it, from `npmRegistry` (the base
# URL that `npm config get registry` prints):
#
#   pkgs.callPackage ./nix/package.nix { npmRegistry = "https://…/"; }
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs_20,
  makeWrapper,
  python3,
  btrfs-progs,
  util-linux,
  coreutils,
  systemd,
  iproute2,
  npmRegistry ? null,
}:

let
  packageJson = lib.importJSON ../package.json;
  packageLock = lib.importJSON ../package-lock.json;

  # "node_modules/a/node_modules/@s/b" -> "@s/b"; an alias entry carries its real name.
  nameOf = path: entry: entry.name or (lib.last (lib.splitString "node_modules/" path));

  tarballUrl =
    path: entry:
    let
      name = nameOf path entry;
    in
    "${lib.removeSuffix "/" npmRegistry}/${name}/-/${lib.last (lib.splitString "/" name)}-${entry.version}.tgz";

  withResolved =
    path: entry:
    if path == "" || entry ? resolved || entry.link or false || !(entry ? version) then
      entry
    else if npmRegistry == null then
      throw ''
        pantheragent: package-lock.json has no download address for ${nameOf path entry}
        (npm omit-lockfile-registry-resolved). Pass the npm registry's base URL, e.g.
        pkgs.callPackage ./nix/package.nix { npmRegistry = "<npm config get registry>"; },
        or pantheragent.override { npmRegistry = ...; }.
      ''
    else
      entry // { resolved = tarballUrl path entry; };

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../build.mjs
      ../tsconfig.json
      ../src
    ];
  };

  runtimePath = lib.makeBinPath [
    btrfs-progs
    util-linux # mount, umount, flock
    coreutils
    systemd # systemctl, systemd-escape
    iproute2
  ];
in
buildNpmPackage {
  pname = "pantheragent";
  inherit (packageJson) version;
  inherit src;

  nodejs = nodejs_20;
  npmDeps = importNpmLock {
    npmRoot = src;
    package = packageJson;
    packageLock = packageLock // {
      packages = lib.mapAttrs withResolved packageLock.packages;
    };
  };
  npmConfigHook = importNpmLock.npmConfigHook;

  # better-sqlite3 compiles its addon with node-gyp; no prebuilt download in the sandbox.
  nativeBuildInputs = [
    makeWrapper
    python3
  ];
  env.npm_config_build_from_source = "true";

  npmBuildScript = "build";

  installPhase = ''
    runHook preInstall

    npm prune --omit=dev --no-save --offline
    # Keep only the compiled addon of better-sqlite3, not its sources and build tree.
    addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
    mv "$addon" better_sqlite3.node
    rm -rf node_modules/better-sqlite3/{build,deps,src}
    mkdir -p node_modules/better-sqlite3/build/Release
    mv better_sqlite3.node "$addon"
    # Its "resolved" entries point at every fetched tarball: not a runtime reference.
    rm -f node_modules/.package-lock.json

    mkdir -p $out/lib/pantheragent $out/bin
    cp -r dist node_modules $out/lib/pantheragent/
    makeWrapper ${lib.getExe nodejs_20} $out/bin/pantheragent \
      --add-flags $out/lib/pantheragent/dist/pantheragent.cjs \
      --prefix PATH : ${runtimePath}

    runHook postInstall
  '';

  meta = {
    description = "Btrfs snapshots, root wipe, rollback, drift and power profiles for NixOS hosts";
    license = lib.licenses.mit;
    mainProgram = "pantheragent";
    platforms = lib.platforms.linux;
  };
}
