# A minimal NixOS host running pantheragent with the settings of one hosts/*.json:
# the Btrfs layout of DESIGN.md section 2 (on LUKS when btrfs.device is a mapping),
# systemd in stage 1, the root wiped at every boot, the persisted directories
# bind-mounted from the persistent storage, Tailscale. flake.nix builds the four
# nixosConfigurations from it; a real host adds its hardware, users and services.
{ host, settings }:

{ lib, ... }:

let
  device = settings.btrfs.device;
  luks = lib.hasPrefix "/dev/mapper/" device;
  storage = settings.persistence.storage or "/persist";
  subvolume = name: neededForBoot: {
    inherit device neededForBoot;
    fsType = "btrfs";
    options = [
      "subvol=${name}"
      "compress=zstd"
      "noatime"
    ];
  };
  # What the impermanence module does for directories, in its simplest form.
  bind = dir: {
    device = "${storage}${dir}";
    fsType = "none";
    options = [ "bind" ];
    neededForBoot = true;
  };
in
{
  networking.hostName = host;
  system.stateVersion = "25.11";

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  boot.initrd.systemd.enable = true;
  boot.initrd.luks.devices = lib.optionalAttrs luks {
    ${lib.removePrefix "/dev/mapper/" device}.device = "/dev/disk/by-partlabel/${lib.removePrefix "/dev/mapper/" device}";
  };

  fileSystems = {
    "/" = subvolume "@root" false;
    "/nix" = subvolume "@nix" false;
    ${storage} = subvolume "@persist" true;
    "/var/log" = subvolume "@log" true;
    "/boot" = {
      device = "/dev/disk/by-partlabel/ESP";
      fsType = "vfat";
      options = [ "umask=0077" ];
    };
  }
  // lib.optionalAttrs (settings.snapshots.sources ? "@home") { "/home" = subvolume "@home" false; }
  // lib.genAttrs (settings.persistence.directories or [ ]) bind;

  # Persisted files: links into the storage (machine-id is read before this, so a
  # real host sets it in the configuration or mounts it).
  systemd.tmpfiles.rules = map (file: "L+ ${file} - - - - ${storage}${file}") (
    lib.filter (file: file != "/etc/machine-id") (settings.persistence.files or [ ])
  );

  services.tailscale.enable = true;
  services.openssh.enable = true;

  services.pantheragent = {
    enable = true;
    wipeRoot.enable = true;
    inherit settings;
  };
}
