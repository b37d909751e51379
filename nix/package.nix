# pantheragent: the esbuild bundles (dist/, run through dist/pantheragent.cjs) and
# their V8 code caches, made at build time by the Node.js that runs them, with its
# production node_modules (better-sqlite3 is native, pino-pretty is loaded on a TTY
# only), run by nixpkgs' default Node.js with the tools it calls on its PATH.
#
# Dependencies come from package-lock.json through importNpmLock: no hash to keep.
# The lock records no download addresses, so each tarball's address is formed from
# `npmRegistry` (nix/npm-lock.nix); the default is npm's public registry, and a
# mirror is one override away:
#
#   pantheragent.override { npmRegistry = "https://npm.example.org/"; }
#
# Every tarball is still checked against the lockfile's `integrity`, whatever mirror
# serves it. `passthru.tests` runs `check-config` on every host of hosts/.
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs,
  makeWrapper,
  runCommand,
  btrfs-progs,
  util-linux,
  coreutils,
  systemd,
  iproute2,
  npmRegistry ? "https://registry.npmjs.org/",
}:

let
  packageJson = lib.importJSON ../package.json;
  packageLock = import ./npm-lock.nix { inherit lib npmRegistry; } (lib.importJSON ../package-lock.json);

  # What `npm run build` reads. (Not lib.fileset: it needs a newer Nix than some
  # evaluators this is checked with.)
  sourceFiles = [
    "package.json"
    "package-lock.json"
    "build.mjs"
    "tsconfig.json"
    "src"
  ];
  src = lib.cleanSourceWith {
    name = "pantheragent-source";
    src = ../.;
    filter =
      path: _type:
      let
        rel = lib.removePrefix "${toString ../.}/" (toString path);
      in
      lib.elem rel sourceFiles || lib.hasPrefix "src/" rel;
  };

  runtimePath = lib.makeBinPath [
    btrfs-progs
    util-linux # mount, umount, flock
    coreutils
    systemd # systemctl, systemd-escape
    iproute2
  ];

  hosts = lib.mapAttrs' (file: _: lib.nameValuePair (lib.removeSuffix ".json" file) (../hosts + "/${file}")) (
    lib.filterAttrs (file: type: type == "regular" && lib.hasSuffix ".json" file) (builtins.readDir ../hosts)
  );

  pantheragent = buildNpmPackage {
    pname = "pantheragent";
    inherit (packageJson) version;
    inherit src nodejs;

    npmDeps = importNpmLock {
      npmRoot = src;
      package = packageJson;
      inherit packageLock;
    };
    # The hook points node-gyp at this nodejs' headers: better-sqlite3 is compiled
    # for the Node.js that the wrapper runs, not for nixpkgs' default one.
    npmConfigHook = importNpmLock.npmConfigHook.override { inherit nodejs; };

    nativeBuildInputs = [ makeWrapper ];
    # better-sqlite3 compiles its addon with node-gyp; no prebuilt download in the sandbox.
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
      makeWrapper ${lib.getExe nodejs} $out/bin/pantheragent \
        --add-flags $out/lib/pantheragent/dist/pantheragent.cjs \
        --prefix PATH : ${runtimePath}

      runHook postInstall
    '';

    passthru = {
      inherit packageLock;
      # The settings of every host in hosts/ pass the agent's own check, run by the
      # built package (and so by its better-sqlite3 and Node.js).
      tests = lib.mapAttrs' (
        host: file:
        lib.nameValuePair "check-config-${host}" (
          runCommand "pantheragent-check-config-${host}" { } ''
            ${pantheragent}/bin/pantheragent --log-level error check-config ${file}
            touch $out
          ''
        )
      ) hosts;
    };

    meta = {
      description = "Btrfs snapshots, root wipe, rollback, drift and power profiles for NixOS hosts";
      license = lib.licenses.mit;
      mainProgram = "pantheragent";
      platforms = lib.platforms.linux;
    };
  };
in
pantheragent
