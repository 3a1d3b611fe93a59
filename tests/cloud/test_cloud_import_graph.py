"""The import graph of the code, read from the source with ``ast`` (nothing is imported).

- No cycle between cloud/'s domain packages (``cloud/incidents``, ``cloud/notify``, …): an edge
  A → B means some module of A imports something of B. Use cases sit above the domains they call
  (intake, response, inbound), everyone may import ``cloud/timeline``, and ``cloud/incidents``
  imports none of notify, commands, intake.
- cloud/'s leaf modules (errors, settings, metrics, db, phones) import no domain package.
- ``contracts`` imports no other project package; ``edge`` and ``firmware_sim`` import nothing from
  ``cloud``; ``cloud`` imports nothing from ``edge``, ``firmware_sim``, ``anxin`` or offline tools.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOUD = ROOT / "cloud"
NOT_DOMAINS = frozenset({"migrations"})  # Alembic's scripts: they load every model on purpose
LEAF_MODULES = ("errors", "settings", "metrics", "db", "phones")
PROJECT_PACKAGES = frozenset({"contracts", "edge", "cloud", "firmware_sim", "anxin", "tools", "bench"})


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path) -> Iterator[str]:
    """Every dotted name ``path`` imports, relative imports resolved; ``from a import b`` gives ``a.b``
    (``b`` may be a module or a name in ``a``: callers map names to packages, so both work)."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{source}.{alias.name}"


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts)


def package_graph(top: Path) -> dict[str, dict[str, list[str]]]:
    """Edges between the sub-packages of ``top``: ``{a: {b: ["a/x.py imports top.b.y", …]}}``."""
    root = top.parent
    domains = {
        p.name
        for p in top.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_DOMAINS
    }
    graph: dict[str, dict[str, list[str]]] = {d: {} for d in domains}
    for path in _python_files(top):
        rel = path.relative_to(top).parts
        if len(rel) < 2 or rel[0] not in domains:
            continue
        for name in imported_names(path, root):
            parts = name.split(".")
            if parts[0] != top.name or len(parts) < 2:
                continue
            target = parts[1]
            if target in domains and target != rel[0]:
                why = f"{path.relative_to(root)} imports {name}"
                graph[rel[0]].setdefault(target, []).append(why)
    return graph


def find_cycle(graph: Mapping[str, Mapping[str, object]]) -> list[str] | None:
    """One cycle (``[a, b, …, a]``) in ``graph``, or None when it has none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, {})):
            found = visit(nxt, [*path, node])
            if found is not None:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def _explain(graph: Mapping[str, Mapping[str, list[str]]], cycle: list[str]) -> str:
    lines = [" → ".join(cycle)]
    for a, b in itertools.pairwise(cycle):
        lines.append(f"  {a} → {b}: " + "; ".join(graph[a][b][:3]))
    return "\n".join(lines)


def _imports_from(folder: Path, forbidden: frozenset[str]) -> list[str]:
    found = []
    for path in _python_files(folder):
        for name in imported_names(path, ROOT):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_no_cycle_between_cloud_domain_packages() -> None:
    graph = package_graph(CLOUD)
    assert {"incidents", "notify", "commands", "intake", "timeline", "live"} <= graph.keys()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between cloud packages:\n" + _explain(graph, cycle or [])


def test_incidents_call_no_use_case_and_the_timeline_calls_no_one() -> None:
    graph = package_graph(CLOUD)
    assert not graph["incidents"].keys() & {"notify", "commands", "intake", "response", "inbound", "live"}, (
        graph["incidents"]
    )
    assert graph["timeline"] == {}


def test_cloud_leaf_modules_import_no_domain_package() -> None:
    domains = package_graph(CLOUD).keys()
    offending = [
        f"cloud/{leaf}.py imports {name}"
        for leaf in LEAF_MODULES
        for name in imported_names(CLOUD / f"{leaf}.py", ROOT)
        if name.startswith("cloud.") and name.split(".")[1] in domains
    ]
    assert offending == []


def test_services_stay_apart() -> None:
    assert _imports_from(ROOT / "contracts", PROJECT_PACKAGES - {"contracts"}) == []
    assert _imports_from(ROOT / "edge", frozenset({"cloud"})) == []
    assert _imports_from(ROOT / "firmware_sim", frozenset({"cloud"})) == []
    assert _imports_from(CLOUD, PROJECT_PACKAGES - {"cloud", "contracts"}) == []


def test_the_checker_finds_a_cycle_and_names_the_imports(tmp_path: Path) -> None:
    top = tmp_path / "town"
    for package, source in {
        "a": "from town.b import thing\n",
        "b": "from ..c import other\n",  # relative imports are resolved too
        "c": "def f() -> None:\n    import town.a.mod\n",  # and imports inside functions
        "d": "from town.a import thing\n",
    }.items():
        (top / package).mkdir(parents=True)
        (top / package / "__init__.py").write_text("")
        (top / package / "mod.py").write_text(source)
    (top / "__init__.py").write_text("")
    graph = package_graph(top)
    assert graph["d"] == {"a": ["town/d/mod.py imports town.a.thing"]}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    (top / "c" / "mod.py").write_text("import town.d.mod\n")  # c → d → a → b → c: still a cycle
    assert find_cycle(package_graph(top)) == ["a", "b", "c", "d", "a"]
    (top / "c" / "mod.py").write_text("")
    assert find_cycle(package_graph(top)) is None
