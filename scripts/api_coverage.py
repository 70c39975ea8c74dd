#!/usr/bin/env python3
"""How much of Proxmox VE's API Vireo answers.

Compares the in-scope endpoints of Proxmox's schema (as kept by scripts/gen-api-schema.py in
Sources/VireoAPI/Generated/PVEAPISchema.swift) with the operations of Vireo's OpenAPI document
(GET /api2/openapi.json of a running daemon, or a saved copy).

Out of scope are the areas Vireo does not intend to cover: Ceph, containers (LXC; only their
list answers, empty), ACME, APT repository management, appliance templates and OCI registries.
Every other schema endpoint counts, including the areas that come with later issues (firewall,
HA, SDN, notifications, backup).

Usage: api_coverage.py OPENAPI_JSON [--missing AREA_PREFIX]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENERATED = REPO / "Sources" / "VireoAPI" / "Generated" / "PVEAPISchema.swift"

OUT_OF_SCOPE = [
    r"^/cluster/ceph",
    r"^/nodes/\{node\}/ceph",
    r"^/nodes/\{node\}/lxc/",
    r"^/cluster/acme",
    r"^/nodes/\{node\}/certificates/acme",
    r"^/nodes/\{node\}/apt",
    r"^/nodes/\{node\}/aplinfo",
    r"^/nodes/\{node\}/query-oci-repo-tags",
]


def scope_endpoints() -> set[tuple[str, str]]:
    """(METHOD, path) of every endpoint the generated schema keeps: Vireo's scope."""
    text = GENERATED.read_text()
    document = json.loads(text[text.index('#"""') + 4 : text.rindex('"""#')])
    return {tuple(key.split(" ", 1)) for key in document["endpoints"]}


def in_scope(path: str) -> bool:
    return not any(re.search(pattern, path) for pattern in OUT_OF_SCOPE)


def vireo_endpoints(openapi: dict) -> set[tuple[str, str]]:
    found = set()
    for path, operations in openapi.get("paths", {}).items():
        short = path.removeprefix("/api2/json")
        for method in operations:
            if method in ("get", "post", "put", "delete"):
                found.add((method.upper(), short))
    return found


def area(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts[0] == "nodes" and len(parts) > 2:
        if parts[2] in ("qemu", "storage") and len(parts) > 4:
            return "/".join(["nodes", parts[2], parts[4]])
        return "nodes/" + parts[2]
    return "/".join(parts[:2])


def coverage(openapi: dict) -> dict:
    scope = scope_endpoints()
    answered = vireo_endpoints(openapi) & scope
    return {"scope": scope, "answered": answered, "missing": scope - answered}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("openapi", help="Vireo's OpenAPI document (a file)")
    parser.add_argument("--missing", metavar="PREFIX", help="list missing endpoints under this path prefix")
    args = parser.parse_args()
    result = coverage(json.loads(Path(args.openapi).read_text()))
    scope, answered, missing = result["scope"], result["answered"], result["missing"]
    total = Counter(area(p) for _, p in scope)
    done = Counter(area(p) for _, p in answered)
    for name in sorted(total):
        print(f"{done[name]:4d} / {total[name]:4d}  {name}")
    print(f"Vireo answers {len(answered)} of {len(scope)} in-scope endpoints ({100 * len(answered) / len(scope):.0f}%)")
    if args.missing is not None:
        for method, path in sorted(missing, key=lambda e: (e[1], e[0])):
            if path.startswith(args.missing):
                print(f"missing: {method} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
