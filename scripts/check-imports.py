#!/usr/bin/env python3
"""Every module a target imports is one it declares in Package.swift (a target of ours or a
product), or a system module. SwiftPM's own import check sees only targets of this package, so a
product that arrives transitively (e.g. Logging through another target) would pass it unnoticed."""
import json
import pathlib
import re
import subprocess
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Dispatch", "Synchronization", "Testing", "XCTest",
          "Darwin", "os", "_Concurrency"}
# A product whose module names differ from the product name.
MODULES_OF_PRODUCT = {"Crypto": {"Crypto"}, "CryptoExtras": {"_CryptoExtras", "CryptoExtras"},
                      "SystemPackage": {"SystemPackage"}, "ArgumentParser": {"ArgumentParser"}}

root = pathlib.Path(__file__).resolve().parent.parent
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)
problems = []
for target in package["targets"]:
    declared = set()
    for dependency in target["dependencies"]:
        kind, value = next(iter(dependency.items()))
        name = value[0]
        declared |= MODULES_OF_PRODUCT.get(name, {name})
    folder = root / ("Tests" if target["type"] == "test" else "Sources") / target["name"]
    for source in sorted(folder.rglob("*.swift")):
        for number, line in enumerate(source.read_text().splitlines(), 1):
            match = re.match(r"\s*(?:@testable\s+)?(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+(?:\w+\s+)?([A-Za-z_][\w.]*)", line)
            if not match:
                continue
            module = match.group(1).split(".")[0]
            if module in SYSTEM or module in declared or module == target["name"]:
                continue
            problems.append(f"{source.relative_to(root)}:{number}: imports {module}, which target {target['name']} does not declare")
for problem in problems:
    print(problem)
if problems:
    sys.exit(f"\n{len(problems)} undeclared import(s)")
print(f"imports: every import of {len(package['targets'])} targets is declared")
