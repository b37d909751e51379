{
  description = "pantheragent: Btrfs snapshots, root wipe, rollback, drift and power profiles for NixOS hosts";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # hosts/<name>.json: the agent's settings of each host of the fleet.
      hosts = lib.mapAttrs' (file: _: {
        name = lib.removeSuffix ".json" file;
        value = lib.importJSON (./hosts + "/${file}");
      }) (lib.filterAttrs (file: type: type == "regular" && lib.hasSuffix ".json" file) (builtins.readDir ./hosts));
    in
    {
      # services.pantheragent, its package defaulting to this flake's.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.pantheragent.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      overlays.default = final: prev: {
        pantheragent = final.callPackage ./nix/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });

      # Examples: each host of hosts/ on a minimal NixOS base (nix/example-host.nix).
      nixosConfigurations = lib.mapAttrs (
        host: settings:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            (import ./nix/example-host.nix { inherit host settings; })
            { nixpkgs.hostPlatform = "x86_64-linux"; }
          ];
        }
      ) hosts;

      # `nix flake check`: the package, check-config of every host run by it, and on
      # x86_64-linux (KVM) the boot test of the root wipe and rollback.
      checks = forAllSystems (
        pkgs:
        let
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        in
        { inherit package; }
        // package.tests
        // lib.optionalAttrs (pkgs.stdenv.hostPlatform.system == "x86_64-linux") {
          vm-wipe-rollback = pkgs.testers.runNixOSTest (import ./nix/tests/vm.nix { inherit self; });
        }
      );
    };
}
