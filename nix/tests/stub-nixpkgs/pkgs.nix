# A stand-in for the packages and builders that nix/package.nix and nix/module.nix
# use. Every "package" is a real but unbuildable derivation (its builder fails), so
# store paths, drvPath and `nix flake check --no-build` work offline; the arguments a
# builder was called with stay readable on the result for the tests.
{ lib, system }:

let
  stubDrv =
    name: attrs:
    derivation {
      inherit name system;
      builder = "/bin/sh";
      args = [
        "-c"
        "echo 'stub package from nix/tests/stub-nixpkgs: not buildable' >&2; exit 1"
      ];
    }
    // attrs;

  tool =
    pname: mainProgram:
    stubDrv pname {
      inherit pname;
      meta.mainProgram = mainProgram;
    };

  self = {
    inherit lib system;
    stdenv.hostPlatform.system = system;

    callPackage =
      fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
        result = f (builtins.intersectAttrs (builtins.functionArgs f) self // args);
      in
      result // { override = more: self.callPackage fn (args // more); };

    formats.json =
      { }:
      {
        type = lib.types.json;
        generate =
          name: value:
          stubDrv name {
            json = value;
            text = builtins.toJSON value;
          };
      };

    runCommand = name: env: buildCommand: stubDrv name (env // { inherit buildCommand; });

    buildNpmPackage =
      attrs:
      stubDrv "${attrs.pname}-${attrs.version}" (
        attrs
        // {
          builder = "buildNpmPackage";
        }
      );

    importNpmLock = {
      __functor =
        _: args:
        stubDrv "npm-deps" {
          inherit args;
        };
      npmConfigHook = tool "npm-config-hook" "npm-config-hook";
    };

    nodejs_20 = tool "nodejs-20" "node";
    makeWrapper = tool "make-wrapper" "makeWrapper";
    python3 = tool "python3" "python3";
    btrfs-progs = tool "btrfs-progs" "btrfs";
    util-linux = tool "util-linux" "mount";
    coreutils = tool "coreutils" "ls";
    systemd = tool "systemd" "systemctl";
    iproute2 = tool "iproute2" "ip";
    git = tool "git" "git";
    nix = tool "nix" "nix";
  };
in
self
