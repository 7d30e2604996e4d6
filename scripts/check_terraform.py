"""Parse every Terraform file under the given directories with python-hcl2 (make lint).

Exit 0 when all parse, 1 with one ``file: error`` line per file that does not, 2 on bad usage.
Terraform itself is not needed (nor run): this is the offline syntax gate; checkov then scans.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hcl2


def broken(directory: Path) -> list[str]:
    """``file: error`` for each ``*.tf`` under ``directory`` that python-hcl2 cannot parse."""
    errors: list[str] = []
    for path in sorted(directory.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue  # providers and modules terraform init downloaded, not ours
        try:
            with path.open(encoding="utf-8") as handle:
                hcl2.load(handle)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            errors.append(f"{path}: {first}")
    return errors


def main(argv: list[str]) -> int:
    """Check each directory of ``argv``; see the module docstring."""
    if not argv:
        print("usage: check_terraform.py DIR...", file=sys.stderr)
        return 2
    errors: list[str] = []
    found = 0
    for name in argv:
        directory = Path(name)
        if not directory.is_dir():
            print(f"not a directory: {directory}", file=sys.stderr)
            return 2
        found += len([p for p in directory.rglob("*.tf") if ".terraform" not in p.parts])
        errors += broken(directory)
    for line in errors:
        print(line, file=sys.stderr)
    if found == 0:
        print("no Terraform files found", file=sys.stderr)
        return 1
    print(f"terraform: {found} files parsed, {len(errors)} with errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
