"""Recipes: YAML files of `TrainConfig` keys, with a `pretrain:` and a `finetune:` section.

Keys at the top level apply to both stages; the stage's section overrides them; `--set key=value`
flags (and named CLI flags) override both. String values may hold `${VAR}` placeholders, filled
from the environment (local model paths: `${VISION_PATH}`, `${LLM_PATH}`); a placeholder that is
still needed and has no variable raises `UserError` naming the variable to set. Unknown keys raise
`UserError` listing the valid ones.

Shipped recipes (src/lrm_llava/recipes/): paper-vicuna13b, paper-vicuna7b, paper-llama2-13b,
paper-llama3-8b, tiny. A recipe is given by name or by path; `recipe.yaml` written next to a
trained model is itself a recipe.

    cfg = load_recipe("tiny", "pretrain", {"data": ["a.json"], "output_dir": "runs/s1"})
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.errors import UserError
from lrm_llava.options import load_yaml
from lrm_llava.train.config import TrainConfig, valid_keys

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


def _coerce(key: str, value: Any) -> Any:
    """YAML 1.1 reads `1e-3` as a string: turn numeric strings into numbers for numeric fields."""
    field = TrainConfig.__dataclass_fields__[key]
    kind = str(field.type)
    if isinstance(value, str):
        if "float" in kind:
            try:
                return float(value)
            except ValueError:
                pass
        if kind.startswith("int"):
            try:
                return int(value)
            except ValueError:
                pass
    if key == "data" and isinstance(value, str):
        return [value]
    return value


def resolve_recipe(
    recipe: str | Path,
    stage: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge shared keys, the stage section and `overrides`; fill placeholders; check keys."""
    source = str(recipe_file(recipe))
    raw = read_recipe(recipe)
    if stage not in STAGE_NAMES:
        raise UserError(f"unknown stage {stage!r}; choose one of {', '.join(STAGE_NAMES)}")
    merged: dict[str, Any] = {k: v for k, v in raw.items() if k not in STAGE_NAMES}
    section = raw.get(stage) or {}
    if not isinstance(section, dict):
        raise UserError(f"{source}: section {stage!r} must be a mapping of keys")
    merged.update(section)
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    merged["stage"] = stage
    valid = set(valid_keys())
    unknown = sorted(k for k in merged if k not in valid)
    if unknown:
        raise UserError(f"{source}: unknown key(s) {', '.join(unknown)}. Valid keys: {', '.join(sorted(valid))}")
    env = os.environ if env is None else env
    return {k: _coerce(k, _expand(v, k, source, env)) for k, v in merged.items()}


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
        raise UserError(f"{recipe_file(recipe)} (stage {stage}): invalid setting: {err}") from None


def config_fields() -> list[dataclasses.Field]:
    """The fields of TrainConfig (for help texts)."""
    return list(dataclasses.fields(TrainConfig))


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
