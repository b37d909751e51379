{
  # A stand-in for the nixpkgs input, made from the nixos-eval kit, so that this
  # repository's flake.nix can be evaluated offline (`nix flake check --no-build`,
  # `nix eval`) with nixpkgs' real lib. test/nix.test.ts copies it to a temporary
  # directory with the kit (./kit) and nix/tests/pkgs.nix (./pkgs.nix) beside it.
  #
  # lib.nixosSystem evaluates the modules with lib.evalModules and the kit's NixOS
  # declarations; other NixOS options (boot.loader, system.stateVersion, ...) are
  # accepted as they are, and system.build.toplevel stands in for the system: it
  # fails, as NixOS does, when an assertion fails.
  # legacyPackages are ./pkgs.nix; testers.runNixOSTest evaluates the test's
  # name and testScript (its nodes need NixOS).
  description = "nixpkgs stand-in from ../shared/nixos-eval for pantheragent's tests";

  outputs =
    { self }:
    let
      baseLib = import ./kit/nixpkgs-lib/lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      pkgsFor =
        system:
        let
          pkgs = import ./pkgs.nix {
            kit = ./kit;
            inherit system;
            lib = self.lib;
          };
        in
        pkgs
        // {
          testers.runNixOSTest =
            test:
            let
              t = if builtins.isFunction test then test { inherit (self) lib; } else test;
            in
            derivation {
              name = "vm-test-run-${t.name}";
              inherit system;
              builder = "/bin/sh";
              inherit (t) testScript;
            };
        };

      nixosSystem =
        { modules, ... }:
        let
          lib = self.lib;
          eval = lib.evalModules {
            modules = [
              ./kit/nixos-stubs.nix
              (
                { config, ... }:
                {
                  options.system.build.toplevel = lib.mkOption { type = lib.types.package; };
                  config._module.freeformType = lib.types.lazyAttrsOf lib.types.anything;
                  config._module.args.pkgs = self.legacyPackages.${config.nixpkgs.hostPlatform or "x86_64-linux"};
                  config.system.build.toplevel =
                    let
                      failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
                    in
                    if failed != [ ] then
                      throw "Failed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failed}"
                    else
                      derivation {
                        name = "nixos-system-${config.networking.hostName}";
                        system = config.nixpkgs.hostPlatform or "x86_64-linux";
                        builder = "/bin/sh";
                        units = builtins.toJSON config.rendered;
                      };
                }
              )
            ] ++ modules;
            specialArgs = {
              utils = import ./kit/utils.nix lib;
              modulesPath = "/nonexistent";
            };
          };
        in
        eval // { inherit (eval) config options; };
    in
    {
      lib = baseLib.extend (_: _: { inherit nixosSystem; });
      legacyPackages = baseLib.genAttrs systems pkgsFor;
    };
}
