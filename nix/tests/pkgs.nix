# Test-side packages for evaluating nix/package.nix and nix/module.nix offline: the
# nixos-eval kit's unbuildable stand-ins (../shared/nixos-eval/pkgs.nix, with nixpkgs'
# real lib) plus what these two files use and the kit does not have. Nothing here is
# nixpkgs code; where nixpkgs' behaviour matters, it is restated, and only as much as
# the tests rely on:
#
# - importNpmLock: a lock entry is fetched only when it has `resolved`; an http(s)
#   address becomes `fetchurl { url; hash = integrity; }` (here a fixed-output
#   derivation, so Nix itself rejects a malformed hash); every dependency named in
#   package.json must then have a fetched entry at node_modules/<name>. Anything else
#   (no address, another scheme) is an evaluation error naming the entry.
# - npmConfigHook: overridable with the nodejs whose headers node-gyp compiles against.
# - buildNpmPackage: a derivation keeping its arguments (npmDeps, the hook, nodejs and
#   the phases), so that its drvPath forces all of them.
# - stdenv.buildPlatform.canExecute, buildPackages, nodejs (nixpkgs' default, 24).
{
  kit,
  system ? "x86_64-linux",
  lib ? import (kit + "/nixpkgs-lib/lib"),
  buildSystem ? system,
}:

let
  base = import (kit + "/pkgs.nix") { inherit lib system; };

  drv =
    name: attrs:
    derivation (
      {
        inherit name system;
        builder = "/bin/sh";
        args = [
          "-c"
          "exit 1"
        ];
      }
      // removeAttrs attrs [
        "meta"
        "passthru"
      ]
    )
    // (attrs.passthru or { })
    // {
      meta = attrs.meta or { };
    };
  tool = pname: main: extra: drv pname ({ inherit pname; meta.mainProgram = main; } // extra);

  fetchurl =
    { url, hash }:
    derivation {
      name = baseNameOf url;
      inherit system url;
      builder = "/bin/sh";
      outputHash = hash;
      outputHashMode = "flat";
    };

  importNpmLock = {
    __functor =
      _:
      {
        npmRoot ? null,
        package ? lib.importJSON (npmRoot + "/package.json"),
        packageLock ? lib.importJSON (npmRoot + "/package-lock.json"),
      }:
      let
        fetchEntry =
          path: entry:
          if !(entry ? resolved) then
            null
          else if builtins.match "https?://.+" entry.resolved != null then
            fetchurl {
              url = entry.resolved;
              hash = entry.integrity or (throw "test importNpmLock: ${path} has no integrity");
            }
          else
            throw "test importNpmLock: ${path}: `${entry.resolved}` is not an http(s) address";
        packages = lib.mapAttrs (
          path: entry:
          let
            src = fetchEntry path entry;
          in
          entry // lib.optionalAttrs (src != null) { resolved = "file:${src}"; }
        ) packageLock.packages;
        local =
          name: _:
          (packages."node_modules/${name}" or (throw "test importNpmLock: no lock entry for ${name}")).resolved
            or (throw "test importNpmLock: ${name} (package.json) is never fetched");
        package' =
          package
          // lib.mapAttrs (_: lib.mapAttrs local) (
            lib.filterAttrs (k: _: k == "dependencies" || k == "devDependencies") package
          );
      in
      drv "${package.name}-${package.version}-sources" {
        package = builtins.toJSON package';
        packageLock = builtins.toJSON (packageLock // { inherit packages; });
        passthru = {
          inherit packages;
          packageJson = package';
        };
      };
    npmConfigHook = lib.makeOverridable (
      { nodejs }:
      drv "npm-config-hook" {
        nodeSrc = nodejs;
        passthru = { inherit nodejs; };
      }
    ) { inherit nodejs; };
  };

  buildNpmPackage =
    args:
    drv "${args.pname}-${args.version}" (
      removeAttrs args [
        "env"
        "nativeBuildInputs"
      ]
      // args.env or { }
      // {
        nativeBuildInputs = args.nativeBuildInputs or [ ] ++ [
          args.nodejs
          args.npmConfigHook
        ];
        passthru = (args.passthru or { }) // {
          inherit (args) npmDeps npmConfigHook nodejs;
          installPhaseText = args.installPhase;
        };
      }
    );

  nodejs = tool "nodejs-24" "node" { };

  self = base // {
    inherit
      buildNpmPackage
      importNpmLock
      fetchurl
      nodejs
      ;
    nodejs_22 = tool "nodejs-22" "node" { };
    stdenv = base.stdenv // {
      buildPlatform = {
        system = buildSystem;
        canExecute = platform: platform.system == buildSystem;
      };
    };
    callPackage =
      fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
      in
      lib.makeOverridable f (builtins.intersectAttrs (builtins.functionArgs f) self // args);
    # The overlay's attribute (flake.nix overlays.default).
    pantheragent = self.callPackage ../package.nix { };
    buildPackages = if buildSystem == system then self else import ./pkgs.nix { inherit kit lib; system = buildSystem; };
  };
in
self
