# NixOS module for pantheragent (DESIGN.md sections 4, 6, 8, 9 and 11).
#
#   services.pantheragent = {
#     enable = true;
#     wipeRoot.enable = true;
#     settings = lib.importJSON ./hosts/yoga.json;
#   };
#
# The settings become /etc/pantheragent/config.json, checked at build time by the
# agent's own schema (`pantheragent check-config`), so a typo fails the build, not the
# boot. The initrd wipe script is rendered from the same file at build time.
#
# `package` defaults to pkgs.pantheragent (the flake's overlays.default); the flake's
# nixosModules.default sets it to the flake's own package.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:

let
  cfg = config.services.pantheragent;
  s = cfg.settings;
  inherit (lib) mkOption mkEnableOption mkIf mkMerge types literalExpression;

  settingsFormat = pkgs.formats.json { };
  exe = "${cfg.package}/bin/pantheragent";

  # The agent that runs at build time (check-config, render-initrd). When the build
  # machine cannot run this host's binaries (cross), the build platform's agent does:
  # both steps read a JSON file and write text, the same on every platform.
  buildAgent =
    if pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform then
      cfg.package
    else
      pkgs.buildPackages.callPackage ./package.nix { };
  buildExe = "${buildAgent}/bin/pantheragent";

  rawConfigFile = settingsFormat.generate "pantheragent-settings.json" cfg.settings;

  # The file every unit reads: the settings, once the agent has accepted them.
  configFile =
    if cfg.checkConfig then
      pkgs.runCommand "pantheragent-config.json"
        {
          preferLocalBuild = true;
        }
        ''
          ${buildExe} --log-level error check-config ${rawConfigFile}
          cp ${rawConfigFile} $out
        ''
    else
      rawConfigFile;

  # The initrd's root wipe: a POSIX sh script rendered from the configuration (which
  # render-initrd parses with the same schema, checkConfig or not).
  wipeScript =
    pkgs.runCommand "pantheragent-wipe"
      {
        preferLocalBuild = true;
      }
      ''
        ${buildExe} --log-level error --config ${configFile} render-initrd > $out
        chmod 0555 $out
      '';

  # The agent's own rule for `host` (src/config/schema.ts).
  validHost = name: builtins.match "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?" name != null;

  # A unit wanted by these targets and ordered after them runs once the machine is
  # back from sleep (systemd.special(7): the target is reached after resume).
  sleepTargets = [
    "suspend.target"
    "hibernate.target"
    "hybrid-sleep.target"
    "suspend-then-hibernate.target"
  ];

  absolutePath = types.strMatching "/.*";
  profile = types.enum [
    "power-saver"
    "balanced"
    "performance"
  ];

  # A settings section: the declared options below, plus any other key of the
  # agent's schema (checked by check-config, which rejects unknown keys).
  section =
    description: options:
    mkOption {
      type = types.submodule {
        freeformType = settingsFormat.type;
        inherit options;
      };
      default = { };
      description = "${description} Keys not declared here are passed through to the agent.";
    };

  isUnder = dir: path: path == dir || lib.hasPrefix "${lib.removeSuffix "/" dir}/" path;

  # stateDir survives the root wipe when it lies in the persistent storage, in a
  # directory the agent is told is persistent, or on a file system of its own.
  stateDirPersistent =
    lib.any (dir: isUnder dir s.stateDir) ([ s.persistence.storage ] ++ s.persistence.directories)
    || lib.any (fs: fs.mountPoint != "/" && fs.fsType != "tmpfs" && isUnder fs.mountPoint s.stateDir) (
      lib.attrValues config.fileSystems
    );

  powerManagers = {
    "services.power-profiles-daemon" = config.services.power-profiles-daemon.enable or false;
    "services.tlp" = config.services.tlp.enable or false;
    "services.auto-cpufreq" = config.services.auto-cpufreq.enable or false;
    "services.asusd" = config.services.asusd.enable or false;
  };

  tailscaleInterface = config.services.tailscale.interfaceName or "tailscale0";
  listensOnTailnet = lib.elem "tailscale" s.health.listen;

  # Hardening of the root units that work on the Btrfs top level (daemon and the
  # snapshot timer's service). Btrfs ioctls and mounting need CAP_SYS_ADMIN; the DAC
  # capabilities let it read and tag subvolumes owned by other users.
  btrfsUnitHardening = {
    # The top level is mounted inside the unit's own mount namespace, so it never
    # shows up (or lingers) in the host's.
    PrivateMounts = true;
    # Devices: the Btrfs device (mounting the top level opens it) and btrfs-control,
    # plus the standard pseudo devices (DevicePolicy=closed). Not PrivateDevices: the
    # device must stay visible.
    DevicePolicy = "closed";
    DeviceAllow = [
      "/dev/btrfs-control rw"
      "${s.btrfs.device} rw"
    ];
    # Every process stays visible (ProtectProc=ptraceable with CAP_SYS_PTRACE, not
    # invisible): before deleting or replacing a subvolume the agent reads the
    # mountinfo of every mount namespace on the host (/proc/<pid>/ns/mnt), so that a
    # snapshot mounted only inside a container or a PrivateMounts= unit is never
    # deleted. Not ProcSubset=pid: taking over a boot reads
    # /proc/sys/kernel/random/boot_id. No CAP_CHOWN: only `restore`, run by a person,
    # changes owners.
    ProtectProc = "ptraceable";
    CapabilityBoundingSet = [
      "CAP_SYS_PTRACE"
      "CAP_SYS_ADMIN"
      "CAP_DAC_OVERRIDE"
      "CAP_DAC_READ_SEARCH"
      "CAP_FOWNER"
    ];
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ReadWritePaths = [
      s.stateDir
      s.runtimeDir
    ] ++ lib.optional (s.btrfs.topLevel != null) s.btrfs.topLevel;
    # Subvolumes are reached through the top-level mount, never through /home.
    ProtectHome = true;
    PrivateTmp = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectKernelLogs = true;
    ProtectKernelModules = true;
    ProtectKernelTunables = true;
    ProtectControlGroups = true;
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
      "AF_NETLINK"
    ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [
      "@system-service"
      "@mount"
    ];
    SystemCallErrorNumber = "EPERM";
    UMask = "0022";
  };
in
{
  options.services.pantheragent = {
    enable = mkEnableOption "pantheragent, the Btrfs snapshot, root-wipe, drift and power-profile agent";

    package = lib.mkPackageOption pkgs "pantheragent" {
      extraDescription = ''
        The flake's `nixosModules.default` sets it to the flake's own
        `packages.<system>.default`; with `nix/module.nix` alone, add the flake's
        `overlays.default` or set it.
      '';
    };

    checkConfig = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Check `settings` with `pantheragent check-config` at build time, so that a typo
        or an unknown key fails the build, not the boot. When the build machine cannot
        run the host's binaries, the build platform's agent checks it.
      '';
    };

    wipeRoot.enable = mkEnableOption ''
      the root wipe at every boot: in systemd stage 1, the root subvolume is archived
      under `root.archiveDir` and replaced by a fresh snapshot of `root.blank`
      (impermanence). Needs `boot.initrd.systemd.enable`. Only what
      `settings.persistence` declares (and what lives on other subvolumes) survives a
      reboot
    '';

    snapshotSchedule = mkOption {
      type = types.nullOr types.str;
      default = "hourly";
      example = "*:0/15";
      description = ''
        When pantheragent-snapshot.timer snapshots every source and applies retention
        (`pantheragent snapshot --prune`), as a systemd calendar expression
        ({manpage}`systemd.time(7)`), or null for no timer (the daemon, or you, run
        it). A run missed while the machine was off or asleep happens at the next boot
        or resume. Each host starts its runs at a fixed offset of up to 5 minutes
        (`RandomizedDelaySec`, `FixedRandomDelay`), so that a fleet does not snapshot
        all at once.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Open `settings.health.port` on the Tailscale interface, and only there, when
        `settings.health.listen` includes `"tailscale"`.
      '';
    };

    settings = mkOption {
      default = { };
      example = literalExpression "lib.importJSON ./hosts/yoga.json";
      description = ''
        The agent's configuration, written to {file}`/etc/pantheragent/config.json`
        (DESIGN.md section 4). Besides the options declared here, every key of the
        agent's schema may be set: `root`, `snapshots`, `diff`, `drift`, `timezone`,
        `power.chargeLimit`, `health.allow`, and so on. The whole file is checked with
        `pantheragent check-config` at build time; unknown keys are errors.
      '';
      type = types.submodule {
        freeformType = settingsFormat.type;
        options = {
          host = mkOption {
            type = types.str;
            default = lib.toLower config.networking.hostName;
            defaultText = literalExpression "lib.toLower config.networking.hostName";
            description = ''
              Name of this host in the health document, the metrics and the drift
              report: lowercase letters, digits and `-` (a host name).
            '';
          };

          stateDir = mkOption {
            type = absolutePath;
            default = "/var/lib/pantheragent";
            description = ''
              Where the SQLite index, the lock and the journal live. With
              `wipeRoot.enable` it must survive the wipe: keep it under
              `persistence.storage` or in `persistence.directories`.
            '';
          };

          runtimeDir = mkOption {
            type = absolutePath;
            default = "/run/pantheragent";
            description = ''
              Where the daemon publishes the health state that the health endpoint
              reads, and where it mounts the Btrfs top level (`top`).
            '';
          };

          btrfs = section "The Btrfs filesystem the agent works on." {
            device = mkOption {
              type = absolutePath;
              default = "/dev/mapper/cryptroot";
              example = "/dev/sda2";
              description = ''
                The block device of the Btrfs filesystem (the opened LUKS mapping on the
                laptops). The initrd wipe waits for this device.
              '';
            };
            topLevel = mkOption {
              type = types.nullOr absolutePath;
              default = null;
              description = ''
                An existing mount of the top level (subvolid 5) to work on. When null,
                the agent mounts it privately at {file}`<runtimeDir>/top`.
              '';
            };
          };

          persistence = section "What survives the root wipe (DESIGN.md section 6)." {
            storage = mkOption {
              type = absolutePath;
              default = "/persist";
              description = "Mount point of the persistent storage subvolume (`@persist`).";
            };
            directories = mkOption {
              type = types.listOf absolutePath;
              default = [
                "/etc/nixos"
                "/var/lib/nixos"
              ];
              example = [
                "/etc/nixos"
                "/var/lib/nixos"
                "/var/lib/pantheragent"
              ];
              description = ''
                Directories on the root that are persisted (bind-mounted from storage).
                `drift` checks that each is mounted; `diff` leaves them out.
              '';
            };
            files = mkOption {
              type = types.listOf absolutePath;
              default = [ "/etc/machine-id" ];
              description = "Files on the root that are persisted.";
            };
          };

          power = section "Power profiles (DESIGN.md section 8)." {
            enable = mkOption {
              type = types.bool;
              default = true;
              description = ''
                Manage power profiles: apply `onAC`/`onBattery` when the power source
                changes (a udev rule) and verify them from the daemon. Set to false on
                servers.
              '';
            };
            model = mkOption {
              type = types.enum [
                "auto"
                "generic"
                "lenovo-yoga-7"
                "asus-zephyrus-m16"
              ];
              default = "auto";
              description = "Which knob table to use; `auto` reads DMI, `generic` uses only standard knobs.";
            };
            onAC = mkOption {
              type = profile;
              default = "balanced";
              description = "Profile on AC power.";
            };
            onBattery = mkOption {
              type = profile;
              default = "power-saver";
              description = "Profile on battery.";
            };
          };

          health = section "The health endpoint (DESIGN.md section 9)." {
            port = mkOption {
              type = types.port;
              default = 9473;
              description = "TCP port of the health endpoint.";
            };
            listen = mkOption {
              type = types.listOf (
                types.enum [
                  "loopback"
                  "tailscale"
                ]
              );
              default = [
                "loopback"
                "tailscale"
              ];
              description = "Where the health endpoint listens: loopback, and this host's Tailscale addresses.";
            };
          };
        };
      };
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      # Health's snapshot-age thresholds follow the timer: a daily timer must not
      # make every snapshot look 24 periods late. A full calendar expression such as
      # "*:0/15" has no single period; set settings.health.snapshotInterval for it.
      services.pantheragent.settings.health.snapshotInterval = mkIf (lib.elem cfg.snapshotSchedule [
        "minutely"
        "hourly"
        "daily"
        "weekly"
        "monthly"
      ]) (lib.mkDefault cfg.snapshotSchedule);

      assertions = [
        {
          assertion = validHost s.host;
          message = "services.pantheragent.settings.host (\"${s.host}\", from networking.hostName unless set) is not a host name the agent accepts: lowercase letters, digits and '-', at most 63, not starting or ending with '-'. Set services.pantheragent.settings.host.";
        }
        {
          assertion = cfg.wipeRoot.enable -> stateDirPersistent;
          message = "services.pantheragent.settings.stateDir (${s.stateDir}) is on the root that is wiped at every boot, so the snapshot index would be lost: put it under settings.persistence.storage (${s.persistence.storage}), or persist it and add it to settings.persistence.directories.";
        }
      ];

      environment.systemPackages = [ cfg.package ];
      environment.etc."pantheragent/config.json".source = configFile;

      systemd.tmpfiles.rules = [
        "d ${s.stateDir} 0700 root root - -"
        "d ${s.runtimeDir} 0755 root root - -"
      ];

      systemd.services.pantheragent = {
        description = "pantheragent: Btrfs snapshots, root wipe bookkeeping, drift and power profiles";
        wantedBy = [ "multi-user.target" ];
        after = [ "local-fs.target" ];
        restartTriggers = [ configFile ];
        # drift: `nix eval` of the flake, git for its revision.
        path = [
          config.nix.package
          pkgs.git
        ];
        environment = {
          NIX_REMOTE = "daemon";
          XDG_CACHE_HOME = "%C/pantheragent";
        };
        serviceConfig = btrfsUnitHardening // {
          Type = "simple";
          ExecStart = "${exe} daemon";
          Restart = "on-failure";
          RestartSec = "5s";
          CacheDirectory = "pantheragent";
          CacheDirectoryMode = "0700";
          # /sys stays read-only here (ProtectKernelTunables, from the hardening): the
          # daemon verifies power knobs; only pantheragent-profile.service writes them.
        };
      };

      systemd.services.pantheragent-snapshot = {
        description = "pantheragent: snapshot the persistent subvolumes, then apply retention";
        after = [ "local-fs.target" ];
        # A switch does not interrupt a run (the next one reads the new file).
        restartIfChanged = false;
        serviceConfig = btrfsUnitHardening // {
          Type = "oneshot";
          ExecStart = "${exe} snapshot --prune";
          Nice = 10;
          IOSchedulingClass = "idle";
        };
      };

      systemd.timers.pantheragent-snapshot = mkIf (cfg.snapshotSchedule != null) {
        description = "pantheragent: scheduled snapshots and retention";
        wantedBy = [ "timers.target" ];
        timerConfig = {
          OnCalendar = cfg.snapshotSchedule;
          Persistent = true;
          RandomizedDelaySec = lib.mkDefault "5m";
          FixedRandomDelay = lib.mkDefault true;
          AccuracySec = lib.mkDefault "1m";
        };
      };

      systemd.services.pantheragent-health = {
        description = "pantheragent: read-only health endpoint for loopback and the tailnet";
        wantedBy = [ "multi-user.target" ];
        after = [
          "network.target"
          "tailscaled.service"
          "pantheragent.service"
        ];
        restartTriggers = [ configFile ];
        serviceConfig = {
          Type = "simple";
          ExecStart = "${exe} serve-health";
          Restart = "on-failure";
          RestartSec = "5s";

          # Unprivileged and read-only: it serves what the daemon publishes in
          # runtimeDir and asks tailscaled's LocalAPI who a peer is.
          DynamicUser = true;
          CapabilityBoundingSet = "";
          AmbientCapabilities = "";
          NoNewPrivileges = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          ReadOnlyPaths = [ "-${s.runtimeDir}" ];
          PrivateTmp = true;
          PrivateDevices = true;
          PrivateUsers = true;
          PrivateIPC = true;
          ProtectClock = true;
          ProtectHostname = true;
          ProtectKernelLogs = true;
          ProtectKernelModules = true;
          ProtectKernelTunables = true;
          ProtectControlGroups = true;
          ProtectProc = "invisible";
          ProcSubset = "pid";
          RestrictAddressFamilies = [
            "AF_INET"
            "AF_INET6"
            "AF_UNIX"
          ];
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          LockPersonality = true;
          RemoveIPC = true;
          UMask = "0077";
          SystemCallArchitectures = "native";
          SystemCallFilter = [
            "@system-service"
            "~@privileged"
          ];
          SystemCallErrorNumber = "EPERM";
          # Loopback and the tailnet only, whatever the firewall says.
          IPAddressAllow = [
            "localhost"
            "100.64.0.0/10"
            "fd7a:115c:a1e0::/48"
          ];
          IPAddressDeny = "any";
        };
      };

      networking.firewall.interfaces = mkIf (cfg.openFirewall && listensOnTailnet) {
        ${tailscaleInterface}.allowedTCPPorts = [ s.health.port ];
      };
    }

    (mkIf s.power.enable {
      assertions = lib.mapAttrsToList (name: enabled: {
        assertion = !enabled;
        message = "${name} is enabled and would fight pantheragent over the power profile: set ${name}.enable = lib.mkForce false, or services.pantheragent.settings.power.enable = false.";
      }) powerManagers;

      # Run at boot (the laptop may start on battery), by the udev rule below when the
      # power source changes, and after every resume from sleep (the power source may
      # have changed while asleep).
      systemd.services.pantheragent-profile = {
        description = "pantheragent: apply the power profile for the current power source";
        after = [ "local-fs.target" ] ++ sleepTargets;
        wantedBy = [ "multi-user.target" ] ++ sleepTargets;
        restartIfChanged = false;
        serviceConfig = {
          Type = "oneshot";
          ExecStart = "${exe} profile auto";
          ReadWritePaths = [
            s.stateDir
            s.runtimeDir
          ];
          UMask = "0022";
          # Writes /sys (platform_profile, cpufreq, charge thresholds); nothing else.
          CapabilityBoundingSet = [
            "CAP_SYS_ADMIN"
            "CAP_DAC_OVERRIDE"
            "CAP_DAC_READ_SEARCH"
          ];
          NoNewPrivileges = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          PrivateNetwork = true;
          # /sys is not /dev: no device node is needed.
          PrivateDevices = true;
          ProtectProc = "invisible";
          ProcSubset = "pid";
          ProtectClock = true;
          ProtectHostname = true;
          ProtectKernelLogs = true;
          ProtectKernelModules = true;
          ProtectKernelTunables = false;
          ProtectControlGroups = true;
          RestrictAddressFamilies = [ "AF_UNIX" ];
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          LockPersonality = true;
          SystemCallArchitectures = "native";
          SystemCallFilter = [ "@system-service" ];
          SystemCallErrorNumber = "EPERM";
        };
      };

      # udev kills what RUN+= leaves behind and runs it with MemoryDenyWriteExecute,
      # under which Node cannot run: the rule only queues the unit.
      services.udev.extraRules = ''
        SUBSYSTEM=="power_supply", ACTION=="change", ATTR{type}=="Mains|USB", RUN+="${config.systemd.package}/bin/systemctl --no-block start pantheragent-profile.service"
      '';
    })

    (mkIf cfg.wipeRoot.enable {
      assertions = [
        {
          assertion = config.boot.initrd.systemd.enable;
          message = "services.pantheragent.wipeRoot.enable needs systemd in stage 1: set boot.initrd.systemd.enable = true.";
        }
      ];

      boot.initrd.systemd = {
        extraBin.btrfs = "${pkgs.btrfs-progs}/bin/btrfs";
        storePaths = [ wipeScript ];
        services.pantheragent-wipe =
          let
            device = "${utils.escapeSystemdPath s.btrfs.device}.device";
          in
          {
            description = "pantheragent: archive the root subvolume and start from a fresh one";
            wantedBy = [ "initrd.target" ];
            requires = [ device ];
            # After the LUKS mapping exists and any resume from hibernation was tried.
            after = [
              device
              "local-fs-pre.target"
            ];
            before = [ "sysroot.mount" ];
            unitConfig = {
              DefaultDependencies = false;
              ConditionPathExists = "/etc/initrd-release";
            };
            serviceConfig = {
              Type = "oneshot";
              ExecStart = "${wipeScript}";
              StandardOutput = "journal+console";
              StandardError = "journal+console";
            };
          };
      };
    })
  ]);
}
