# Evaluates nix/module.nix (or a module that imports it, such as the flake's
# nixosModules.default) offline, against ./stub-nixpkgs, the way the NixOS module system
# would for what the module uses: option defaults and types, submodules with freeform
# settings, mkIf/mkMerge/mkDefault, list concatenation, imports. It is a test harness,
# not a module system: definitions from "other modules" come in as plain `config`.
#
#   nix-instantiate --eval --json -E 'import ./nix/tests/eval-module.nix { config = { services.pantheragent.enable = true; }; }'
#
# Returns { config; cfg; failedAssertions; }: the merged configuration the module
# defines, its evaluated services.pantheragent options, and the messages of the
# assertions that fail.
{
  module ? ../module.nix,
  config ? { },
  hostName ? "yoga",
}:

let
  inherit (builtins)
    all
    attrNames
    concatMap
    filter
    foldl'
    isAttrs
    isFunction
    isList
    listToAttrs
    replaceStrings
    toJSON
    ;

  lib = import ./stub-nixpkgs/lib.nix;
  pkgs = import ./stub-nixpkgs/pkgs.nix {
    inherit lib;
    system = "x86_64-linux";
  };
  utils.escapeSystemdPath =
    s: replaceStrings [ "/" ] [ "-" ] (replaceStrings [ "-" ] [ "\\x2d" ] (lib.removeSuffix "/" (lib.removePrefix "/" s)));

  isDerivationLike = v: isAttrs v && v ? outPath;
  isPlainAttrs = v: isAttrs v && !isDerivationLike v;
  isOption = v: isAttrs v && (v._type or null) == "option";
  showPath = path: builtins.concatStringsSep "." path;

  # b's definitions over a's, recursively (for the base configuration).
  update =
    a: b:
    if isPlainAttrs a && isPlainAttrs b then
      a // builtins.mapAttrs (n: v: if a ? ${n} then update a.${n} v else v) b
    else
      b;

  # What the rest of a NixOS configuration would provide.
  base = {
    networking.hostName = hostName;
    boot.initrd.systemd.enable = true;
    nix.package = pkgs.nix;
    systemd.package = pkgs.systemd;
    fileSystems = {
      "/" = {
        mountPoint = "/";
        fsType = "btrfs";
      };
      "/persist" = {
        mountPoint = "/persist";
        fsType = "btrfs";
      };
      "/nix" = {
        mountPoint = "/nix";
        fsType = "btrfs";
      };
    };
  };
  definitions = update base config;

  # Options: values from definitions or defaults, type-checked; submodules recursed.
  evalTree =
    path: declared: defs:
    let
      ours = lib.any (n: isOption declared.${n}) (attrNames declared);
      unknown = filter (n: !(declared ? ${n})) (attrNames defs);
    in
    if ours && unknown != [ ] then
      throw "The option `${showPath (path ++ [ (builtins.head unknown) ])}' does not exist."
    else
      builtins.mapAttrs (
        n: d:
        if isOption d then
          evalOption (path ++ [ n ]) d (defs ? ${n}) (defs.${n} or null)
        else
          evalTree (path ++ [ n ]) d (defs.${n} or { })
      ) declared;

  evalOption =
    path: opt: defined: value:
    let
      type = opt.type or lib.types.json;
      v =
        if defined then
          value
        else if opt ? default then
          opt.default
        else
          throw "The option `${showPath path}' is used but not defined.";
    in
    if type.name == "submodule" then
      evalSubmodule path type.module v
    else if type.check v then
      v
    else
      throw "The option `${showPath path}' is not of type `${type.name}': ${toJSON v}";

  evalSubmodule =
    path: module: v:
    let
      m = if isFunction module then module { } else module;
      declared = m.options or { };
      extra = removeAttrs v (attrNames declared);
    in
    if !(m ? freeformType) && extra != { } then
      throw "The option `${showPath (path ++ [ (builtins.head (attrNames extra)) ])}' does not exist."
    else if m ? freeformType && !(all (n: m.freeformType.check extra.${n}) (attrNames extra)) then
      throw "A definition under `${showPath path}' is not of type `${m.freeformType.name}'."
    else
      extra // evalTree path declared (removeAttrs v (attrNames extra));

  # Modules and their imports.
  load = m: if builtins.isPath m || builtins.isString m then import m else m;
  instantiate =
    m:
    let
      v = load m;
      r = if isFunction v then v args else v;
    in
    [ r ] ++ concatMap instantiate (r.imports or [ ]);
  instances = instantiate module;
  configOf =
    r:
    if r ? config || r ? options then
      r.config or { }
    else
      removeAttrs r [
        "imports"
        "_file"
        "key"
      ];
  declaredOptions = foldl' update { } (map (r: r.options or { }) instances);

  fullConfig = update definitions (evalTree [ ] declaredOptions definitions);
  args = {
    config = fullConfig;
    options = declaredOptions;
    inherit lib pkgs utils;
  };

  # mkIf / mkMerge / mkOverride, pushed through the definition tree.
  empty = {
    _type = "empty";
  };
  isEmpty = v: isAttrs v && (v._type or null) == "empty";
  resolve =
    v:
    let
      t = if isAttrs v then v._type or null else null;
    in
    if t == "if" then
      (if v.condition then resolve v.content else empty)
    else if t == "merge" then
      foldl' merge empty (map resolve v.contents)
    else if t == "override" then
      resolve v.content
    else if isPlainAttrs v then
      let
        r = builtins.mapAttrs (_: resolve) v;
        kept = removeAttrs r (filter (n: isEmpty r.${n}) (attrNames r));
      in
      # A subtree whose every definition was conditional and off defines nothing.
      if kept == { } && v != { } then empty else kept
    else
      v;
  merge =
    a: b:
    if isEmpty a then
      b
    else if isEmpty b then
      a
    else if isPlainAttrs a && isPlainAttrs b then
      listToAttrs (
        map (n: {
          name = n;
          value =
            if a ? ${n} && b ? ${n} then
              merge a.${n} b.${n}
            else if a ? ${n} then
              a.${n}
            else
              b.${n};
        }) (lib.attrValues (listToAttrs (map (n: { name = n; value = n; }) (attrNames a ++ attrNames b))))
      )
    else if isList a && isList b then
      a ++ b
    else if a == b then
      a
    else
      throw "conflicting definitions: ${toJSON a} and ${toJSON b}";

  resolved = resolve {
    _type = "merge";
    contents = map configOf instances;
  };
  resultConfig = if isEmpty resolved then { } else resolved;
in
{
  config = resultConfig;
  cfg = fullConfig.services.pantheragent or { };
  failedAssertions = map (a: a.message) (filter (a: !a.assertion) (resultConfig.assertions or [ ]));
}
