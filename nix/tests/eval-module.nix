# Evaluates nix/module.nix with the nixos-eval kit (../shared/nixos-eval beside the
# repository: nixpkgs' real lib.evalModules, NixOS's real systemd unit types and unit
# renderer), many cases in one evaluation:
#
#   nix-instantiate --eval --strict --json -E 'import ./nix/tests/eval-module.nix {
#     cases.yoga = { host = "yoga"; settings = ./hosts/yoga.json; }; }'
#
# A case takes the arguments of the kit's eval.nix (host, settings, wipe,
# initrdSystemd, extra) and gets its result: failedAssertions, warnings, rendered
# units, tmpfiles, initrd, etc, firewall, udev rules, settings. The packages are
# ./pkgs.nix (the kit's stand-ins, with pkgs.pantheragent from nix/package.nix);
# `buildSystem` makes the build machine another platform (cross); `overlayPackage`
# replaces pkgs.pantheragent by a stand-in named pantheragent-from-overlay.
#
# `options` adds what the rendered text does not show, from the same modules
# evaluated directly: the units' wantedBy, the package, and the build steps behind
# /etc/pantheragent/config.json and the initrd script.
{
  kit ? ../../../shared/nixos-eval,
  cases,
}:

let
  lib = import (kit + "/nixpkgs-lib/lib");

  # One package set per build platform, shared by the cases: the package's source is
  # hashed once per evaluation.
  pkgsBySystem = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (buildSystem: import ./pkgs.nix { inherit kit lib buildSystem; });
  pkgsFor =
    case:
    let
      pkgs = pkgsBySystem.${case.buildSystem or "x86_64-linux"};
    in
    if case.overlayPackage or false then
      pkgs // { pantheragent = pkgs.writeText "pantheragent-from-overlay" ""; }
    else
      pkgs;
  moduleFor = case: {
    imports = [ ../module.nix ];
    _module.args.pkgs = lib.mkForce (pkgsFor case);
  };
  kitArgs = case: removeAttrs case [ "buildSystem" "overlayPackage" ];

  # The kit's eval.nix, with the evaluated configuration kept (same modules).
  options =
    case:
    let
      args = kitArgs case;
      s = if args.settings or null == null then { } else lib.importJSON args.settings;
      c =
        (lib.evalModules {
          modules = [
            (kit + "/nixos-stubs.nix")
            (moduleFor case)
            (args.extra or { })
            {
              networking.hostName = args.host or "yoga";
              boot.initrd.systemd.enable = args.initrdSystemd or true;
              services.pantheragent = {
                enable = true;
                wipeRoot.enable = args.wipe or true;
              } // lib.optionalAttrs (s != { }) { settings = s; };
            }
          ];
          specialArgs = {
            utils = import (kit + "/utils.nix") lib;
            modulesPath = "/nonexistent";
          };
        }).config;
      cfg = c.services.pantheragent;
      step = drv: {
        path = "${drv}";
        command = drv.buildCommand;
      };
    in
    {
      package = "${cfg.package}";
      configFile = step c.environment.etc."pantheragent/config.json".source;
      wipeScript = if c.boot.initrd.systemd.storePaths == [ ] then null else step (lib.head c.boot.initrd.systemd.storePaths).source;
      wantedBy = lib.mapAttrs (_: u: u.wantedBy) c.systemd.services;
      timers = lib.mapAttrs (_: u: u.wantedBy) c.systemd.timers;
      initrdWantedBy = lib.mapAttrs (_: u: u.wantedBy) c.boot.initrd.systemd.services;
    };

  run =
    _: case:
    import (kit + "/eval.nix") ({ module = moduleFor case; } // removeAttrs (kitArgs case) [ "options" ])
    // lib.optionalAttrs (case.options or false) { options = options (removeAttrs case [ "options" ]); };
in
lib.mapAttrs run cases
