#!/usr/bin/env python3
"""Generates Sources/VireoAPI/Generated/PVEAPISchema.swift from Proxmox's API schema.

Takes facts only (paths, methods, parameter names, types, formats, limits, enums, defaults,
permission expressions, protected/allowtoken flags, return type); no description text.
Usage: scripts/gen-api-schema.py [path/to/pve-api-schema.json]
Every endpoint in Vireo's scope is kept (scope: OUT_OF_SCOPE in api_coverage.py), so an endpoint
is registered against Proxmox's schema without regenerating.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_coverage import in_scope  # noqa: E402

# Indexed parameters (`ide[n]`) and how many instances a VM config may have.
INDEXED = {
    "ide": 4, "sata": 6, "scsi": 31, "virtio": 16, "net": 32, "serial": 4, "unused": 256, "hostpci": 16,
    "usb": 14, "parallel": 3, "ipconfig": 32, "numa": 8, "virtiofs": 10, "mp": 256, "dev": 256,
}


def selected(path):
    return in_scope(path)


def strip_text(schema):
    """A return schema without descriptions and renderers: what a value must look like."""
    if isinstance(schema, dict):
        return {k: strip_text(v) for k, v in schema.items()
                if k not in ("description", "verbose_description", "renderer", "title", "typetext",
                             "format_description", "links")}
    if isinstance(schema, list):
        return [strip_text(v) for v in schema]
    return schema


def swift_str(s):
    return json.dumps(s, ensure_ascii=False)


def permission(p):
    """The permissions block without its description: what the Swift loader interprets."""
    if p is None:
        return None
    return {k: v for k, v in p.items() if k in ("check", "user")}


def param(name, v):
    t = v.get("type", "string")
    out = {"name": name, "type": t}
    if v.get("optional"):
        out["optional"] = 1
    fmt = v.get("format")
    if isinstance(fmt, str):
        out["format"] = fmt
    elif isinstance(fmt, dict):
        out["format"] = "property-string"
    if "pattern" in v:
        pat = v["pattern"]
        if pat.startswith("(?^:") and pat.endswith(")"):
            pat = pat[4:-1]
        elif pat.startswith("(?^i:") and pat.endswith(")"):
            pat = "(?i)" + pat[5:-1]
        out["pattern"] = pat
    for key in ("minLength", "maxLength"):
        if key in v:
            out[key] = int(v[key])
    for key in ("minimum", "maximum"):
        if key in v:
            out[key] = v[key]
    if v.get("enum"):
        out["enum"] = [str(x) for x in v["enum"]]
    if "default" in v and isinstance(v["default"], (int, float, str)) and not isinstance(v["default"], bool):
        d = v["default"]
        if t in ("integer", "boolean") and isinstance(d, (int, float)):
            out["default"] = str(int(d))
        elif t == "number" and isinstance(d, (int, float)):
            out["default"] = str(d)
        elif t == "string":
            out["default"] = str(d)
    if "requires" in v and isinstance(v["requires"], str):
        out["requires"] = v["requires"]
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../shared/spec/pve-api-schema.json")
    schema = json.load(open(src))
    entries = []

    def walk(nodes):
        for n in nodes:
            if selected(n["path"]):
                for method in sorted(n.get("info", {})):
                    entries.append((n["path"], method, n["info"][method]))
            walk(n.get("children", []))

    walk(schema)
    entries.sort(key=lambda e: (e[0], e[1]))
    # Parameters are stored once and lists refer to them by index: the VM config parameters are
    # the same for create and both config updates. `ide[n]` stays one entry with its count.
    params, param_index, sets, set_index, endpoints = [], {}, [], {}, {}
    for path, method, info in entries:
        plist = []
        for name, spec in sorted(info.get("parameters", {}).get("properties", {}).items()):
            entry = param(name[:-3] if name.endswith("[n]") else name, spec)
            if name.endswith("[n]"):
                entry["indexed"] = INDEXED.get(name[:-3], 1)
            key = json.dumps(entry, sort_keys=True)
            if key not in param_index:
                param_index[key] = len(params)
                params.append(entry)
            plist.append(param_index[key])
        key = json.dumps(plist)
        if key not in set_index:
            set_index[key] = len(sets)
            sets.append(plist)
        params_info = info.get("parameters", {})
        returns = info.get("returns", {}).get("type", "null")
        if isinstance(returns, list):
            returns = returns[0]
        endpoint = {"parameters": set_index[key], "returns": returns}
        perms = permission(info.get("permissions"))
        if perms is not None:
            endpoint["permissions"] = perms
        if info.get("protected"):
            endpoint["protected"] = 1
        if info.get("allowtoken", 1) == 0:
            endpoint["allowtoken"] = 0
        if params_info.get("additionalProperties"):
            endpoint["additionalProperties"] = 1
        endpoints[f"{method} {path}"] = endpoint
    lines = ['{"parameters": [']
    lines += [json.dumps(p, sort_keys=True, ensure_ascii=False) + ("," if i + 1 < len(params) else "")
              for i, p in enumerate(params)]
    lines.append('], "parameterSets": [')
    lines += [json.dumps(p) + ("," if i + 1 < len(sets) else "") for i, p in enumerate(sets)]
    lines.append('], "endpoints": {')
    names = sorted(endpoints)
    lines += [json.dumps(n) + ": " + json.dumps(endpoints[n], sort_keys=True) + ("," if i + 1 < len(names) else "")
              for i, n in enumerate(names)]
    lines.append("}}")
    document = "\n".join(lines)
    if '"#' in document:
        raise SystemExit("schema text contains a raw-string delimiter")
    out = [
        "// Generated by scripts/gen-api-schema.py from Proxmox VE's API schema; do not edit.",
        "// Facts only: parameters, permissions, flags and return types of the endpoints Vireo serves.",
        "// Kept as JSON text (decoded once by PVESchemaTable): a literal table of this size makes",
        "// optimized builds crawl.",
        "",
        "extension APISchema {",
        "    static let pveText = #\"\"\"",
        document,
        "\"\"\"#",
        "}",
        "",
    ]
    # The return schemas (types, properties, enums; no text), for the API tests' field-by-field checks.
    returns = {f"{method} {path}": strip_text(info.get("returns", {})) for path, method, info in entries}
    with open(os.path.join(here, "../tests/api/pve-returns.json"), "w") as handle:
        json.dump(returns, handle, indent=0, sort_keys=True)
        handle.write("\n")
    target = os.path.join(here, "../Sources/VireoAPI/Generated/PVEAPISchema.swift")
    open(target, "w").write("\n".join(out))
    print(f"{len(entries)} endpoints -> {os.path.normpath(target)}")


main()
