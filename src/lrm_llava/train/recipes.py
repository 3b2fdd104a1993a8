"""Recipes: YAML files of `TrainConfig` keys, with a `pretrain:` and a `finetune:` section.

Keys at the top level apply to both stages; the stage's section overrides them; `--set key=value`
flags (and named CLI flags) override both. String values may hold `${VAR}` placeholders, filled
from the environment (local model paths: `${VISION_PATH}`, `${LLM_PATH}`); a placeholder that is
still needed and has no variable raises `UserError` naming the variable to set. An unknown key
(with its close matches) or a value that is not of the key's type raises `UserError` naming the
recipe file, or the `--set` flag for keys given there; `lrm-llava train --list-keys` lists them.

Shipped recipes (src/lrm_llava/recipes/): paper-vicuna13b, paper-vicuna7b, paper-llama2-13b,
paper-llama3-8b, tiny. A recipe is given by name or by path; `recipe.yaml` written next to a
trained model is itself a recipe.

    cfg = load_recipe("tiny", "pretrain", {"data": ["a.json"], "output_dir": "runs/s1"})
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.errors import UserError
from lrm_llava.options import load_yaml
from lrm_llava.train.config import TrainConfig, check_value, valid_keys

RECIPE_DIR = Path(__file__).resolve().parent.parent / "recipes"
"""Folder of the shipped recipes."""

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def list_recipes() -> list[str]:
    """Names of the shipped recipes."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def recipe_file(recipe: str | Path) -> Path:
    """The YAML file of a recipe given by shipped name or by path."""
    path = Path(recipe)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise UserError(f"recipe file {str(path)!r} not found; shipped recipes: {', '.join(list_recipes())}")
        return path
    shipped = RECIPE_DIR / f"{recipe}.yaml"
    if not shipped.is_file():
        raise UserError(f"unknown recipe {str(recipe)!r}; shipped recipes: {', '.join(list_recipes())} "
                        "(or give the path of a .yaml file)")
    return shipped


def read_recipe(recipe: str | Path) -> dict[str, Any]:
    """The raw mapping of a recipe file (sections not merged, placeholders not filled)."""
    path = recipe_file(recipe)
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise UserError(f"{path}: {where}invalid YAML ({getattr(err, 'problem', err)}); fix the recipe") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a recipe is a mapping of keys, got {type(data).__name__}")
    return data


def _expand(value: Any, key: str, source: str, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match) -> str:
            name = match.group(1)
            if name not in env or env[name] == "":
                raise UserError(f"{source}: key {key!r} needs the environment variable {name} "
                                f"(value {value!r}); set it, e.g. `export {name}=/path/to/local/folder`, "
                                f"or override the key with --set {key}=...")
            return env[name]
        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v, key, source, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, key, source, env) for k, v in value.items()}
    return value


def _unknown(keys: list[str], valid: set[str]) -> str:
    """"a (did you mean b?), finetune.c" for unknown keys (a stage section's with its prefix), with
    their close matches among the valid ones."""
    parts = []
    for key in keys:
        close = difflib.get_close_matches(key.rpartition(".")[2], sorted(valid), n=3)
        parts.append(f"{key} (did you mean {' or '.join(close)}?)" if close else key)
    return ", ".join(parts)


def resolve_recipe(
    recipe: str | Path,
    stage: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides_source: str = "--set",
) -> dict[str, Any]:
    """Merge shared keys, the stage section and `overrides`; fill placeholders; check keys and types.

    An unknown key or a value of the wrong type is a `UserError` that blames where it came from:
    the recipe file, or `overrides_source` (the `--set` flag) for keys of `overrides`.
    """
    source = str(recipe_file(recipe))
    raw = read_recipe(recipe)
    if stage not in STAGE_NAMES:
        raise UserError(f"unknown stage {stage!r}; choose one of {', '.join(STAGE_NAMES)}")
    merged: dict[str, Any] = {k: v for k, v in raw.items() if k not in STAGE_NAMES}
    valid = set(valid_keys())
    unknown = sorted(k for k in merged if k not in valid)
    for name in STAGE_NAMES:  # both sections: a typo in the other stage's is found now, not later
        section = raw.get(name) or {}
        if not isinstance(section, dict):
            raise UserError(f"{source}: section {name!r} must be a mapping of keys")
        unknown += sorted(f"{name}.{k}" for k in section if k not in valid)
    if unknown:
        raise UserError(f"{source}: unknown key(s) {_unknown(unknown, valid)}. "
                        "Fix the recipe; `lrm-llava train --list-keys` lists every key.")
    merged.update(raw.get(stage) or {})
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    for key in sorted(given):
        if key not in valid:
            raise UserError(f"{overrides_source} {key}: unknown key {_unknown([key], valid)}. "
                            "`lrm-llava train --list-keys` lists every key.")
    merged.update(given)
    merged["stage"] = stage
    env = os.environ if env is None else env
    out = {}
    for key, value in merged.items():
        where = f"{overrides_source} {key}" if key in given else source
        value = _expand(value, key, where, env)
        try:
            out[key] = check_value(key, value)
        except ValueError as err:
            fix = "fix the value" if key in given else "fix the recipe"
            raise UserError(f"{where}: {err}; {fix} (`lrm-llava train --list-keys` shows every key's type)") from None
    return out


def load_recipe(
    recipe: str | Path,
    stage: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> TrainConfig:
    """A `TrainConfig` for `stage` from a recipe (name or path) and overrides."""
    values = resolve_recipe(recipe, stage, overrides, env=env)
    try:
        return TrainConfig(**values)
    except (TypeError, ValueError) as err:
        if isinstance(err, UserError):
            raise
        raise UserError(f"stage {stage} (recipe {recipe_file(recipe)} and the flags / --set): invalid "
                        f"setting: {err}") from None


def stage_overrides(overrides: dict, stage: str) -> dict:
    """The keys of `overrides` that apply to `stage`: plain keys, and `<stage>.<key>` ones (the
    `--set finetune.num_train_epochs=6` syntax of the demo and the experiments)."""
    out = {}
    for key, value in overrides.items():
        prefix, dot, name = key.partition(".")
        if not dot:
            out[key] = value
        elif prefix not in STAGE_NAMES:
            raise UserError(f"--set {key}: the prefix must be a stage ({', '.join(STAGE_NAMES)})")
        elif prefix == stage:
            out[name] = value
    return out
