# NixOS VM test of the root wipe and the root rollback (DESIGN.md section 6), for
# pkgs.testers.runNixOSTest; flake.nix has it as checks.x86_64-linux.vm-wipe-rollback:
#
#   nix build .#checks.x86_64-linux.vm-wipe-rollback -L     # needs KVM
#   nix run .#checks.x86_64-linux.vm-wipe-rollback.driverInteractive
#
# The machine's disk starts empty. In stage 1, before the wipe, `vm-btrfs-layout`
# makes it a Btrfs filesystem with @persist and @log (once); the wipe then archives
# @root under @old_roots and boots a fresh snapshot of @root-blank, at every boot.
# The test writes a file on /, reboots, sees it gone and archived, asks for the
# previous boot's root back (`rollback root --to previous-boot --yes`: there is no
# terminal to confirm on), reboots, and sees it again.
{ self }:

{ lib, ... }:

let
  device = "/dev/vda";
  subvolume = name: {
    inherit device;
    fsType = "btrfs";
    options = [ "subvol=${name}" ];
    neededForBoot = true;
  };
in
{
  name = "pantheragent-wipe-rollback";

  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];

      virtualisation.useDefaultFilesystems = false;
      virtualisation.fileSystems = {
        "/" = subvolume "@root";
        "/persist" = subvolume "@persist";
        "/var/log" = subvolume "@log";
      };
      virtualisation.diskSize = 2048;

      boot.initrd.systemd.enable = true;
      boot.initrd.systemd.initrdBin = [
        pkgs.btrfs-progs
        pkgs.util-linux # blkid
      ];
      boot.initrd.systemd.services.vm-btrfs-layout = {
        description = "test: make the empty disk a Btrfs filesystem with @persist and @log";
        wantedBy = [ "initrd.target" ];
        requires = [ "dev-vda.device" ];
        after = [ "dev-vda.device" ];
        before = [ "pantheragent-wipe.service" ];
        unitConfig.DefaultDependencies = false;
        serviceConfig.Type = "oneshot";
        script = ''
          if ! blkid ${device}; then
            mkfs.btrfs -L nixos ${device}
            mkdir -p /vm-top
            mount -t btrfs -o subvolid=5 ${device} /vm-top
            btrfs subvolume create /vm-top/@persist
            btrfs subvolume create /vm-top/@log
            umount /vm-top
          fi
        '';
      };

      environment.systemPackages = [ pkgs.btrfs-progs ];

      services.pantheragent = {
        enable = true;
        wipeRoot.enable = true;
        snapshotSchedule = null;
        settings = lib.recursiveUpdate (lib.importJSON ../../hosts/hetzner-vps.json) {
          host = "machine";
          btrfs.device = device;
          # Under the persistent storage: the index survives every wipe.
          stateDir = "/persist/pantheragent";
          persistence.directories = [ ];
          persistence.files = [ ];
        };
      };
    };

  testScript = ''
    def top(command):
        return machine.succeed(
            "mkdir -p /mnt/top && mount -t btrfs -o subvolid=5 ${device} /mnt/top && "
            + command
            + "; status=$?; umount /mnt/top; exit $status"
        )

    machine.wait_for_unit("multi-user.target")
    machine.succeed("systemctl is-active pantheragent.service")
    machine.succeed("test -d /persist/pantheragent")

    with subtest("a file written on / is gone after a reboot, and archived"):
        machine.succeed("echo canary > /canary && sync")
        machine.reboot()
        machine.wait_for_unit("multi-user.target")
        machine.fail("test -e /canary")
        print(machine.succeed("pantheragent list --roots"))
        top("grep -l canary /mnt/top/@old_roots/*/canary")

    with subtest("rollback root --to previous-boot brings that root back at the next boot"):
        print(machine.succeed("pantheragent rollback root --to previous-boot --yes"))
        machine.reboot()
        machine.wait_for_unit("multi-user.target")
        machine.succeed("test \"$(cat /canary)\" = canary")
        # The root it replaced was archived too: nothing is lost either way.
        top("test $(ls /mnt/top/@old_roots | wc -l) -ge 2")
  '';
}
