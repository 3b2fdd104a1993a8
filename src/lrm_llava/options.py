"""Command-line and configuration pieces shared by every job: the YAML reading of recipes and
`--set KEY=VALUE`, repeated `KEY=VALUE` options (`--option`, `--price`, `--task-weights`, ...),
flags derived from a job's config dataclass (`add_field`: its default and its docstring as help,
declared once), and the names `--dtype` accepts."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import math
import re
import textwrap
from collections.abc import Callable
from typing import Any

import yaml

from lrm_llava.errors import UserError


def number_or_text(value: str) -> int | float | str:
    """"3" -> 3, "0.5" -> 0.5, anything else unchanged (backend options mix numbers and names)."""
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


def parse_key_values(items: list[str] | None, what: str, cast: Callable[[str], object] = str) -> dict:
    """Merge `["a=1,b=2", "c=3"]` into {"a": cast("1"), ...}; a clear error names the bad item."""
    out: dict = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise UserError(f"{what} {part!r}: expected KEY=VALUE")
            try:
                out[key.strip()] = cast(value.strip())
            except ValueError:
                raise UserError(f"{what} {part!r}: {value!r} is not a valid value") from None
    return out


DTYPE_NAMES = ("float32", "bfloat16", "float16")
"""Weight dtypes a model can be loaded in by name (`--dtype`; "auto" picks per device)."""


# ------------------------------------------------------------------------------------ YAML, --set
class _Yaml12BoolLoader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2), so that TrainingArguments values
    such as `save_strategy: no` stay strings instead of becoming False (YAML 1.1's yes/no/on/off)."""


_Yaml12BoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12BoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(text: str) -> Any:
    """Recipes, `recipe.yaml` and --set values: safe YAML where only true/false are booleans."""
    return yaml.load(text, Loader=_Yaml12BoolLoader)  # noqa: S506 - a SafeLoader subclass


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """`["key=value", ...]` → dict; values are parsed as YAML (numbers, booleans, lists)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r}: write key=value (e.g. --set max_steps=10)")
        try:
            out[key.strip()] = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


# ------------------------------------------------------------------- flags from config dataclasses
@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """{field: docstring} of a dataclass whose fields are documented by a string right below them
    (the style of every config here); fields of base classes included."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass.__module__ == "builtins":
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def field_default(cls: type, name: str) -> Any:
    """The default of dataclass field `name` (its default_factory called)."""
    f = cls.__dataclass_fields__[name]
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def add_field(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, name: str,
              *flags: str, **kwargs: Any) -> argparse.Action:
    """Add the flag of config field `cls.name`: `--name-with-dashes` (or `flags`), its default and
    its docstring as help come from the dataclass, so a job's options are declared once there.
    `kwargs` go to `add_argument` (type, choices, action, metavar; `help` is appended to the doc)."""
    if name not in cls.__dataclass_fields__:
        raise KeyError(f"{cls.__name__} has no field {name!r}")
    default = kwargs.pop("default", None if kwargs.get("required") else field_default(cls, name))
    extra = kwargs.pop("help", "")
    doc = field_docs(cls).get(name, "")
    shown = "" if default in (None, "", [], (), False) or kwargs.get("action") == "store_true" else \
        f" (default: {','.join(map(str, default)) if isinstance(default, (list, tuple)) else default})"
    help_text = " ".join(part for part in (doc.replace("%", "%%"), extra) if part) + shown
    return parser.add_argument(*(flags or (f"--{name.replace('_', '-')}",)), dest=name, default=default,
                               help=help_text or None, **kwargs)


# ----------------------------------------------------------------------------- shared flag groups
def add_model_flags(parser: argparse.ArgumentParser, *, batch_size: int | None = 16,
                    max_new_tokens: int | None = 16, dtype: bool = True, template: bool = True) -> None:
    """The flags of every command that runs a model (`chat`, `eval`, `analyze gap|reliance`),
    declared once: --template, --device, --dtype, --batch-size, --max-new-tokens (the last two
    only where the command takes them, with its default; --dtype and --template can be left out)."""
    from lrm_llava.chat.templates import TEMPLATES

    if template:
        parser.add_argument("--template", default=None, choices=sorted(TEMPLATES),
                            help="conversation template (default: the one the model was trained with, from "
                            "its recipe.yaml; else vicuna_v1)")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:1 ... (default: a GPU when there is one, else cpu)")
    if dtype:
        parser.add_argument("--dtype", choices=["auto", *DTYPE_NAMES], default="auto",
                            help="weights' dtype (auto: bfloat16 on a GPU that supports it, else float32)")
    if batch_size is not None:
        parser.add_argument("--batch-size", type=int, default=batch_size,
                            help=f"questions per generation batch (default: {batch_size})")
    if max_new_tokens is not None:
        parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens,
                            help=f"most tokens generated per answer (default: {max_new_tokens})")


# ------------------------------------------------------------------------ typed backend options
_KIND_NAMES = {int: "a whole number", float: "a number", str: "a text", bool: "true or false"}


def typed_option(options: dict, key: str, kind: type, default, backend: str, *, minimum: float | None = None):
    """`options[key]` as `kind` (int, float, str or bool), or `default` when absent.

    `--option KEY=VALUE` values arrive as numbers or text (`number_or_text`); a value of the wrong
    type is a `UserError` naming the backend, the option and the expected type, never a traceback."""
    if key not in options or options[key] is None:
        return default
    raw = options[key]
    expected = _KIND_NAMES.get(kind, kind.__name__)
    value = _convert(raw, kind)
    if value is None or (minimum is not None and value < minimum):
        bound = f" of at least {minimum:g}" if minimum is not None else ""
        raise UserError(
            f"the {backend} backend's option {key}={raw!r} is not valid: expected {expected}{bound} "
            f"(e.g. --option {key}={default if default not in (None, '') else 'VALUE'})"
        )
    return value


def _convert(raw, kind: type):
    """`raw` as `kind`, or None when it is not one."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text)
    if kind is str:
        return raw if isinstance(raw, str) else str(raw)
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.strip()) if kind is float else int(raw.strip())
        except ValueError:
            try:
                raw = float(raw.strip())
            except ValueError:
                return None
    if not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None
    if kind is int:
        return int(raw) if float(raw).is_integer() else None
    return kind(raw)


# ------------------------------------------------------------------------------- command groups
def command_group(subparsers, name: str, help: str):
    """Add a command that only groups subcommands (`lrm-llava data build`, `bench translate`, ...):
    run bare, it prints its help and exits 2. Returns the subparsers to add the subcommands to."""
    group = subparsers.add_parser(name, help=help)
    group.set_defaults(func=lambda args: group.print_help() or 2)
    return group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


def config_values(cls: type, args: argparse.Namespace, **values: Any) -> dict[str, Any]:
    """The fields of config dataclass `cls` from parsed flags: every field that has a flag of the
    same name (`add_field`'s `dest`) takes the flag's value; `values` set or override the others
    (fields whose flag needs converting, such as `--set` items)."""
    found = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return {**found, **values}


def config_from_args(cls: type, args: argparse.Namespace, **values: Any):
    """`cls(**config_values(cls, args, **values))`."""
    return cls(**config_values(cls, args, **values))


def add_command(subparsers, name: str, func: Callable, summary: str, description: str = ""):
    """Add the command `name`: `summary` is its line in the parent's --help, `description` (default:
    the summary) heads its own --help, `func(args)` runs it. Returns the parser for its flags."""
    parser = subparsers.add_parser(name, help=summary, description=description or summary)
    parser.set_defaults(func=func)
    return parser
