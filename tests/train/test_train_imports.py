"""The layering of train/ and model/: no import loop among train/ modules (lazy, function-level
imports included), and model/ never imports train/ (or any other job package)."""

from __future__ import annotations

import ast
from pathlib import Path

import lrm_llava

SRC = Path(lrm_llava.__file__).resolve().parent


def _imports(package: str) -> dict[str, set[str]]:
    """{module: lrm_llava modules it imports anywhere in its body} for the modules of `package`."""
    out = {}
    for path in sorted((SRC / package).glob("*.py")):
        name = f"lrm_llava.{package}.{path.stem}"
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lrm_llava"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("lrm_llava"))
        out[name] = found
    return out


def test_no_import_loop_in_train():
    graph = {m: {d for d in deps if d in _imports("train")} for m, deps in _imports("train").items()}
    graph.pop("lrm_llava.train.__init__")  # the package re-exports; nobody imports it from inside
    assert "lrm_llava.train.trainer" not in graph["lrm_llava.train.loss"]
    assert "lrm_llava.train.loss" not in graph["lrm_llava.train.vision_cache"]

    def visit(module, path):
        assert module not in path, f"import loop: {' -> '.join([*path, module])}"
        for dep in graph.get(module, ()):
            visit(dep, [*path, module])

    for module in graph:
        visit(module, [])


def test_model_never_imports_train_or_other_jobs():
    for module, deps in _imports("model").items():
        # `from lrm_llava import lazy_exports` (the package root) is fine: only sub-packages count
        bad = sorted(d for d in deps if d.split(".")[1:2] in (["train"], ["data"], ["infer"], ["bench"]))
        assert not bad, f"{module} imports {bad}"
