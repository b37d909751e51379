{
  description = "pantheragent: Btrfs snapshots, root wipe, rollback, drift and power profiles for NixOS hosts";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      # services.pantheragent; its package defaults to nix/package.nix built with the
      # host's pkgs (or pkgs.pantheragent's override, through `package`).
      nixosModules.default = {
        imports = [ ./nix/module.nix ];
      };

      overlays.default = final: prev: {
        pantheragent = final.callPackage ./nix/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });
    };
}
