"""Command-line pieces shared by several subcommands: parsing of repeated `KEY=VALUE` options
(`--option`, `--price`, `--task-weights`, ...) and the names `--dtype` accepts."""

from __future__ import annotations

from collections.abc import Callable

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
