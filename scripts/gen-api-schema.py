#!/usr/bin/env python3
"""Generates Sources/VireoAPI/Generated/PVEAPISchema.swift from Proxmox's API schema.

Takes facts only (paths, methods, parameter names, types, formats, limits, enums, defaults,
permission expressions, protected/allowtoken flags, return type); no description text.
Usage: scripts/gen-api-schema.py [path/to/pve-api-schema.json]
The endpoint selection is PREFIXES below: add a path when Vireo implements it.
"""
import json
import os
import sys

PREFIXES = [
    "/version", "/access", "/pools", "/cluster", "/cluster/status", "/cluster/resources",
    "/cluster/nextid", "/cluster/tasks", "/nodes", "/nodes/{node}", "/nodes/{node}/status",
    "/nodes/{node}/tasks", "/storage", "/storage/{storage}", "/nodes/{node}/storage",
    "/nodes/{node}/storage/{storage}", "/nodes/{node}/storage/{storage}/status",
    "/nodes/{node}/storage/{storage}/content", "/nodes/{node}/storage/{storage}/content/{volume}",
    "/nodes/{node}/storage/{storage}/upload", "/nodes/{node}/qemu", "/nodes/{node}/qemu/{vmid}",
    "/nodes/{node}/qemu/{vmid}/config", "/nodes/{node}/qemu/{vmid}/pending", "/nodes/{node}/qemu/{vmid}/status",
    "/nodes/{node}/qemu/{vmid}/status/current", "/nodes/{node}/qemu/{vmid}/status/start",
    "/nodes/{node}/qemu/{vmid}/status/stop", "/nodes/{node}/qemu/{vmid}/status/shutdown",
    "/nodes/{node}/qemu/{vmid}/status/reset", "/nodes/{node}/qemu/{vmid}/status/suspend",
    "/nodes/{node}/qemu/{vmid}/status/resume", "/nodes/{node}/qemu/{vmid}/status/reboot",
    "/nodes/{node}/qemu/{vmid}/monitor",
]

# Indexed parameters (`ide[n]`) and how many instances a VM config may have.
INDEXED = {
    "ide": 4, "sata": 6, "scsi": 31, "virtio": 16, "net": 32, "serial": 4, "unused": 256, "hostpci": 16,
    "usb": 14, "parallel": 3, "ipconfig": 32, "numa": 8, "virtiofs": 10, "mp": 256, "dev": 256,
}
EXCLUDE = ["/access/openid", "/access/vncticket", "/access/users/{userid}/unlock-tfa",
           "/access/domains/{realm}/sync"]


def selected(path):
    if any(path == e or path.startswith(e + "/") for e in EXCLUDE):
        return False
    for p in PREFIXES:
        if path == p:
            return True
        if p in ("/access", "/pools", "/nodes/{node}/tasks") and path.startswith(p + "/"):
            return True
    return False


def swift_str(s):
    return json.dumps(s, ensure_ascii=False)


def perm(p):
    if p is None:
        return ".rootOnly"
    if "check" in p:
        return check(p["check"])
    user = p.get("user")
    if user == "world":
        return ".world"
    if user == "all":
        return ".anyUser"
    return ".rootOnly"


def check(c):
    kind = c[0]
    if kind in ("and", "or"):
        return f".{kind}([{', '.join(check(x) for x in c[1:])}])"
    if kind == "perm":
        path, privs = c[1], c[2]
        opts = dict(zip(c[3::2], c[4::2]))
        any_ = "true" if opts.get("any") else "false"
        req = swift_str(opts["require_param"]) if "require_param" in opts else "nil"
        return f".perm({swift_str(path)}, [{', '.join(swift_str(x) for x in privs)}], any: {any_}, requireParam: {req})"
    if kind == "userid-param":
        if c[1] == "self":
            return ".useridSelf"
        return f".useridParam({swift_str(c[1])})"
    if kind == "userid-group":
        privs = c[1]
        opts = dict(zip(c[2::2], c[3::2]))
        mode = "." + opts["groups_param"] if "groups_param" in opts else "nil"
        return f".useridGroup([{', '.join(swift_str(x) for x in privs)}], groupsParam: {mode})"
    if kind == "perm-modify":
        return f".permModify({swift_str(c[1])})"
    raise SystemExit(f"unknown permission check {c}")


def param(name, v):
    t = v.get("type", "string")
    args = [swift_str(name), "." + t]
    if v.get("optional"):
        args.append("optional: true")
    fmt = v.get("format")
    if isinstance(fmt, str):
        args.append(f"format: {swift_str(fmt)}")
    elif isinstance(fmt, dict):
        args.append('format: "property-string"')
    if "pattern" in v:
        pat = v["pattern"]
        if pat.startswith("(?^:") and pat.endswith(")"):
            pat = pat[4:-1]
        elif pat.startswith("(?^i:") and pat.endswith(")"):
            pat = "(?i)" + pat[5:-1]
        args.append(f"pattern: {swift_str(pat)}")
    for key, label in (("minLength", "minLength"), ("maxLength", "maxLength")):
        if key in v:
            args.append(f"{label}: {int(v[key])}")
    for key in ("minimum", "maximum"):
        if key in v:
            args.append(f"{key}: {v[key]}")
    if "enum" in v:
        args.append(f"enumValues: [{', '.join(swift_str(str(x)) for x in v['enum'])}]")
    if "default" in v and isinstance(v["default"], (int, float, str)) and not isinstance(v["default"], bool):
        d = v["default"]
        if t in ("integer", "boolean") and isinstance(d, (int, float)):
            args.append(f"defaultValue: {swift_str(str(int(d)))}")
        elif t == "number" and isinstance(d, (int, float)):
            args.append(f"defaultValue: {swift_str(str(d))}")
        elif t == "string":
            args.append(f"defaultValue: {swift_str(str(d))}")
    if "requires" in v and isinstance(v["requires"], str):
        args.append(f"requires: {swift_str(v['requires'])}")
    return f"ParameterSpec({', '.join(args)})"


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
    out = [
        "// Generated by scripts/gen-api-schema.py from Proxmox VE's API schema; do not edit.",
        "// Facts only: parameters, permissions, flags and return types of the endpoints Vireo serves.",
        "// One statement per endpoint keeps the type checker fast on this large table.",
        "",
        "import VireoAccess",
        "",
        "extension APISchema {",
        "    static let pve: [String: EndpointSchema] = {",
        "        var table: [String: EndpointSchema] = [:]",
    ]
    chunk = 25
    groups = [entries[i:i + chunk] for i in range(0, len(entries), chunk)]
    for n in range(len(groups)):
        out.append(f"        addPart{n}(to: &table)")
    out += ["        return table", "    }()", ""]
    for n, group in enumerate(groups):
        out.append(f"    private static func addPart{n}(to table: inout [String: EndpointSchema]) {{")
        for path, method, info in group:
            params = info.get("parameters", {})
            props = params.get("properties", {})
            expanded = {}
            for k, v in props.items():
                if k.endswith("[n]"):
                    base = k[:-3]
                    for i in range(INDEXED.get(base, 1)):
                        expanded[f"{base}{i}"] = v
                else:
                    expanded[k] = v
            props = expanded
            returns = info.get("returns", {}).get("type", "null")
            if isinstance(returns, list):
                returns = returns[0]
            protected = "true" if info.get("protected") else "false"
            allowtoken = "false" if info.get("allowtoken", 1) == 0 else "true"
            additional = "true" if params.get("additionalProperties") else "false"
            out.append("        do {")
            out.append("            var parameters: [ParameterSpec] = []")
            for k in sorted(props):
                out.append(f"            parameters.append({param(k, props[k])})")
            out.append(f"            table[{swift_str(method + ' ' + path)}] = EndpointSchema(")
            out.append(f"                parameters: parameters, permission: {perm(info.get('permissions'))},")
            out.append(f"                protected: {protected}, allowToken: {allowtoken}, additionalProperties: {additional},")
            out.append(f"                returns: {swift_str(returns)})")
            out.append("        }")
        out.append("    }")
        out.append("")
    out[-1:] = ["}", ""]
    target = os.path.join(here, "../Sources/VireoAPI/Generated/PVEAPISchema.swift")
    open(target, "w").write("\n".join(out))
    print(f"{len(entries)} endpoints -> {os.path.normpath(target)}")


main()
