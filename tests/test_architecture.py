"""The import rules of docs/architecture.md, checked against the code.

The "may import" column of the package table in docs/architecture.md is the rule; this test walks
every module of `src/lrm_llava` (imports inside functions included: a lazy import is still an
arrow) and fails on an import the table does not allow, and on any import loop between modules.
Change the table and the code together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "lrm_llava"
DOC = ROOT / "docs" / "architecture.md"


def read_rules(doc: Path) -> dict[str, set[str] | None]:
    """{unit: units it may import} from the doc's package table; None means "anything"."""
    rules: dict[str, set[str] | None] = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        unit = _unit_name(cells[0].strip("`"))
        allowed = cells[2]
        if allowed.startswith("all"):
            rules[unit] = None
        else:
            rules[unit] = {_unit_name(name) for name in re.findall(r"`([^`]+)`", allowed)}
    return rules


def _unit_name(text: str) -> str:
    return text.strip().rstrip("/").removesuffix(".py")


def unit_of(module: str) -> str:
    """"lrm_llava.bench.run" -> "bench"; "lrm_llava.jsonio" -> "jsonio"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, src: Path) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, src: Path) -> set[str]:
    """Every `lrm_llava` module that `path` imports, at any depth of its code."""
    package = module_name(path, src)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "lrm_llava"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "lrm_llava":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate, src) else base)
    return found


def _is_module(name: str, src: Path) -> bool:
    rel = Path(*name.split(".")[1:])
    return (src / rel).with_suffix(".py").is_file() or (src / rel / "__init__.py").is_file()


def forbidden_imports(src: Path, rules: dict[str, set[str] | None]) -> list[str]:
    problems = []
    for path in sorted(src.rglob("*.py")):
        unit = unit_of(module_name(path, src))
        if unit == "__init__":
            continue
        if unit not in rules:
            problems.append(f"{path.relative_to(src.parent)}: `{unit}` is not in the table of docs/architecture.md")
            continue
        allowed = rules[unit]
        for target in sorted(imports_of(path, src)):
            other = unit_of(target)
            if other in (unit, "__init__") or allowed is None:
                continue
            if other not in allowed:
                problems.append(f"{path.relative_to(src.parent)} imports {target}: `{unit}` may not import `{other}`")
    return problems


def import_loops(src: Path) -> list[list[str]]:
    """Loops in the module graph (a package's __init__ re-exporting its modules is not an arrow back)."""
    graph: dict[str, set[str]] = {}
    for path in src.rglob("*.py"):
        name = module_name(path, src)
        graph[name] = {t for t in imports_of(path, src) if not name.startswith(t + ".") and t != name}
    loops, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == "open":
                loops.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return [loop for loop in loops if not all(m.endswith("__init__") or "." not in m for m in loop)]


def test_every_import_follows_the_architecture_table():
    rules = read_rules(DOC)
    assert {"errors", "chat", "model", "data", "train", "bench", "analysis", "pipeline"} <= set(rules)
    assert forbidden_imports(SRC, rules) == []


def test_no_import_loops():
    assert import_loops(SRC) == []


@pytest.fixture
def toy_tree(tmp_path: Path) -> Path:
    src = tmp_path / "lrm_llava"
    for rel, text in {"__init__.py": "", "errors.py": "", "model/__init__.py": "",
                      "model/build.py": "from lrm_llava.errors import UserError\n",
                      "train/__init__.py": "", "train/a.py": "from lrm_llava.train import b\n",
                      "train/b.py": "def f():\n    from lrm_llava.train.a import x\n"}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    return src


def test_the_checker_catches_a_forbidden_import_and_a_loop(toy_tree: Path):
    rules = {"errors": set(), "model": {"errors"}, "train": {"model", "errors"}}
    assert forbidden_imports(toy_tree, rules) == []
    (toy_tree / "model" / "build.py").write_text("def f():\n    from lrm_llava.train import a\n")
    assert forbidden_imports(toy_tree, rules) == [
        "lrm_llava/model/build.py imports lrm_llava.train.a: `model` may not import `train`"]
    assert import_loops(toy_tree) == [["lrm_llava.train.a", "lrm_llava.train.b", "lrm_llava.train.a"]]
