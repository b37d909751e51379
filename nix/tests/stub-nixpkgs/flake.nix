{
  # Offline stand-in for the nixpkgs input: `--override-input nixpkgs` (or `follows`)
  # points flake.nix here so that its outputs can be evaluated without nixpkgs.
  description = "stub nixpkgs for pantheragent's tests";

  outputs =
    { self }:
    let
      lib = import ./lib.nix;
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (
        system: import ./pkgs.nix { inherit lib system; }
      );
    };
}
