"""Offline backends (`table`, `pseudo`) and `make_translator`, the one factory for every backend.

    make_translator("table", path="translations.jsonl")   # exact lookup of reference translations
    make_translator("pseudo")                             # "[de] text": visible, deterministic
    make_translator("nllb", path="models/nllb-600M")      # transformers, local folder (also m2m100, marian)
    make_translator("ct2", path="ct2-nllb", tokenizer="models/nllb-600M", family="nllb")
    make_translator("google") / ("deepl") / ("openai", model="gpt-4o", base_url=...)  # keys from env
    make_translator("openai", base_url="https://llm.example.org/v1", api_key_env="MY_KEY")  # opt-in

The table file is JSONL, one pair per line:
`{"src": "en", "tgt": "de", "text": "...", "translation": "..."}`, or a TSV with the header
`src	tgt	text	translation` (TSV values cannot hold tabs or newlines; use JSONL for those).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava import languages
from lrm_llava.errors import DataError, TranslationError, UserError
from lrm_llava.options import typed_option
from lrm_llava.translate.protect import is_untranslatable

_TABLE_FIELDS = ("src", "tgt", "text", "translation")


def load_table(path: str | Path) -> dict[tuple[str, str, str], str]:
    """Read a JSONL or TSV translation table into {(src, tgt, text): translation}."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"translation table {path} does not exist; pass --table with the JSONL/TSV file")
    table: dict[tuple[str, str, str], str] = {}
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
        fh.seek(0)
        if first.lstrip().startswith("{"):
            rows = _jsonl_rows(fh, path)
        else:
            rows = _tsv_rows(fh, path)
        for lineno, row in rows:
            missing = [k for k in _TABLE_FIELDS if not isinstance(row.get(k), str)]
            if missing:
                raise DataError(
                    f"{path}:{lineno}: table entry lacks string field(s) {', '.join(missing)}; "
                    f"every entry needs {', '.join(_TABLE_FIELDS)}"
                )
            key = (languages.get(row["src"]).code, languages.get(row["tgt"]).code, row["text"])
            table[key] = row["translation"]
    return table


def _jsonl_rows(fh, path: Path):
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}:{lineno}: malformed JSON ({err.msg} at column {err.colno}); fix or remove the line"
            ) from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object per line")
        yield lineno, row


def _tsv_rows(fh, path: Path):
    reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(_TABLE_FIELDS):
        expected = "\t".join(_TABLE_FIELDS)
        raise DataError(f"{path}:1: TSV header must be exactly {expected!r}, got {header!r}")
    for lineno, cells in enumerate(reader, 2):
        if not cells:
            continue
        if len(cells) != 4:
            raise DataError(f"{path}:{lineno}: expected 4 tab-separated cells, got {len(cells)}")
        yield lineno, dict(zip(_TABLE_FIELDS, cells))


@dataclass
class TableTranslator:
    """Exact lookup of reference translations (ShapeWorld's realizers, pre-translated corpora)."""

    path: str
    """The JSONL/TSV table file."""
    name: str = "table"
    exact: bool = True
    max_batch: int = 1_000_000
    cacheable: bool = False
    """Lookups are free and the table may change between runs: never cached."""
    table: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.model = str(self.path)
        self.table = load_table(self.path)

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        out, missing = [], []
        for text in texts:
            hit = self.table.get((src, tgt, text))
            if hit is None:
                if is_untranslatable(text):  # "3", "B": nothing to look up
                    hit = text
                else:
                    missing.append(text)
            out.append(hit)
        if missing:
            shown = "; ".join(repr(t[:80]) for t in missing[:5])
            raise TranslationError(
                f"translation table {self.path} lacks {len(missing)} {src}->{tgt} entr"
                f"{'y' if len(missing) == 1 else 'ies'}, e.g. {shown}; add them to the table "
                "(one JSONL line each) or pick an MT backend"
            )
        return out


@dataclass
class PseudoTranslator:
    """Deterministic, visibly marked output ("[de] text") for dry runs and tests; no model."""

    name: str = "pseudo"
    model: str = ""
    exact: bool = False
    max_batch: int = 64

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        return [f"[{tgt}] {t}" for t in texts]


BACKENDS = ("table", "pseudo", "nllb", "m2m100", "marian", "ct2", "google", "deepl", "openai")
"""Every backend name `make_translator` knows."""

PAID_BACKENDS = ("google", "deepl", "openai")


def make_translator(name: str, **options):
    """Build the backend `name` with its options (see each backend's dataclass for the fields).

    Common options: `path` (table file or local model folder), `model` (model id, e.g. for openai),
    `base_url`, `timeout`, `retries`, `backoff`, `max_wait`, `api_key_env` (HTTP backends: see
    `lrm_llava.translate.http` for which key goes where), `batch_size`, `device`. A value of the
    wrong type is a `UserError` naming the option.
    """
    key = name.strip().lower()
    # unset CLI flags arrive as None and mean "default"; ratio_bounds=None means "no length check"
    options = {k: v for k, v in options.items() if v is not None or k == "ratio_bounds"}
    if key == "table":
        if "path" not in options:
            raise UserError("the table backend needs a table file: --table translations.jsonl")
        return TableTranslator(path=str(options["path"]))
    if key == "pseudo":
        return PseudoTranslator(max_batch=typed_option(options, "batch_size", int, 64, "pseudo", minimum=1))
    if key in ("nllb", "m2m100", "marian"):
        from lrm_llava.translate.mt import HFTranslator

        return HFTranslator.from_options(key, options)
    if key == "ct2":
        from lrm_llava.translate.mt import CT2Translator

        return CT2Translator.from_options(options)
    if key in PAID_BACKENDS:
        from lrm_llava.translate.http import make_http_translator

        return make_http_translator(key, options)
    raise UserError(f"unknown translation backend {name!r}; choose one of {', '.join(BACKENDS)}")
