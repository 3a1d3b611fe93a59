"""The import graph points one way: tooling and wiring on top, the runtime below, the contract at the bottom.

Read from the source (ast), so the check covers lazy imports inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("anxin", "broker", "cloud", "contracts", "edge", "firmware_sim", "tools")

# package -> our packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "broker": set(),
    "edge": {"contracts"},
    "cloud": {"contracts"},
    "firmware_sim": {"contracts"},
    "anxin": {"broker", "cloud", "contracts", "edge", "firmware_sim"},
    "tools": {"anxin", "broker", "cloud", "contracts", "edge", "firmware_sim"},
}


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(OURS)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_upward_imports(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package] - {package})
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_the_check_sees_a_lazy_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def later() -> None:\n    from tools.bench import SECTION\n", encoding="utf-8")
    assert imported_packages(module) == {"tools"}


def test_pure_detection_imports_no_gateway_code() -> None:
    """The detectors are pure: only the adapter side (adapter, config, detectors) touches the gateway."""
    adapters = {"adapter.py", "config.py", "detectors.py"}
    wrong: dict[str, list[str]] = {}
    for path in sorted((ROOT / "edge" / "detection").glob("*.py")):
        if path.name in adapters:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        outside = [m for m in modules if m.startswith("edge") and not m.startswith("edge.detection")]
        if outside:
            wrong[path.name] = outside
    assert wrong == {}
