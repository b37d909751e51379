# A stand-in for the few parts of nixpkgs' lib that flake.nix, nix/package.nix and
# nix/module.nix use, so that the tests can evaluate them offline where nixpkgs cannot
# be had. Only what those files call is here. The option functions build plain data
# (tagged with _type like the real ones) that ../eval-module.nix interprets.
let
  inherit (builtins)
    all
    attrNames
    concatStringsSep
    elem
    elemAt
    filter
    fromJSON
    isAttrs
    isBool
    isInt
    isList
    isString
    length
    listToAttrs
    match
    readFile
    split
    stringLength
    substring
    ;

  mkType = name: check: {
    _type = "option-type";
    inherit name check;
  };

  # Every character literal: in a bracket expression, or escaped where that cannot be.
  escapeRegex =
    s:
    concatStringsSep "" (
      map (c: if elem c [ "\\" "^" "[" "]" ] then "\\${c}" else "[${c}]") (stringToCharacters s)
    );
  stringToCharacters = s: builtins.genList (i: substring i 1 s) (stringLength s);
in
rec {
  # trivial / lists / attrsets / strings
  genAttrs =
    names: f:
    listToAttrs (
      map (n: {
        name = n;
        value = f n;
      }) names
    );
  inherit (builtins) mapAttrs attrValues any elem;
  mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (attrNames attrs);
  optional = cond: x: if cond then [ x ] else [ ];
  last = list: elemAt list (length list - 1);
  hasPrefix = pre: s: substring 0 (stringLength pre) s == pre;
  hasSuffix = suf: s: stringLength s >= stringLength suf && substring (stringLength s - stringLength suf) (stringLength suf) s == suf;
  removeSuffix = suf: s: if hasSuffix suf s then substring 0 (stringLength s - stringLength suf) s else s;
  removePrefix = pre: s: if hasPrefix pre s then substring (stringLength pre) (stringLength s) s else s;
  splitString = sep: s: filter isString (split (escapeRegex sep) s);
  importJSON = path: fromJSON (readFile path);
  makeBinPath = pkgs: concatStringsSep ":" (map (p: "${p}/bin") pkgs);
  getExe = p: "${p}/bin/${p.meta.mainProgram}";
  licenses.mit.spdxId = "MIT";
  platforms.linux = [
    "x86_64-linux"
    "aarch64-linux"
  ];

  fileset = {
    unions = members: {
      _type = "fileset";
      inherit members;
    };
    # The real one copies the selected files to the store; here the source stays a
    # description, which is all the stub builders look at.
    toSource =
      { root, fileset }:
      {
        _type = "fileset-source";
        inherit root fileset;
        outPath = "/nix/store/00000000000000000000000000000000-source";
      };
  };

  # options
  mkOption = attrs: attrs // { _type = "option"; };
  mkEnableOption =
    name:
    mkOption {
      type = types.bool;
      default = false;
      description = "Whether to enable ${name}.";
    };
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;

  types = rec {
    bool = mkType "bool" isBool;
    str = mkType "str" isString;
    int = mkType "int" isInt;
    port = mkType "port" (v: isInt v && v >= 0 && v <= 65535);
    package = mkType "package" (v: isAttrs v && v ? outPath);
    strMatching = re: mkType "string matching ${re}" (v: isString v && match re v != null);
    enum = values: mkType "one of ${concatStringsSep ", " (map builtins.toJSON values)}" (v: elem v values);
    nullOr = t: mkType "null or ${t.name}" (v: v == null || t.check v);
    listOf = t: mkType "list of ${t.name}" (v: isList v && all t.check v);
    attrsOf = t: mkType "attribute set of ${t.name}" (v: isAttrs v && all t.check (builtins.attrValues v));
    # JSON values, as pkgs.formats.json's type accepts them.
    json = mkType "JSON value" (
      v:
      v == null
      || isBool v
      || isInt v
      || builtins.isFloat v
      || isString v
      || (isList v && all json.check v)
      || (isAttrs v && !(v ? _type) && all json.check (builtins.attrValues v))
    );
    submodule = module: {
      _type = "option-type";
      name = "submodule";
      check = isAttrs;
      inherit module;
    };
  };
}
