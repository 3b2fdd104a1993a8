"""The translation-backend flags, declared once for every command that translates (`data build`,
`bench translate`), and the one mapping from them to `make_translator` options.

    add_backend_flags(parser, cache_help="default <out>/translation-cache.sqlite")
    translator = make_translator(args.backend, **backend_options(args.backend, args.option, args.table,
                                                                 args.model, args.base_url))
"""

from __future__ import annotations

import argparse

from lrm_llava.options import number_or_text, parse_key_values


def add_backend_flags(parser: argparse.ArgumentParser, *, default: str = "pseudo", cache_help: str) -> None:
    """--backend, --table, --model, --base-url, --option and --cache."""
    from lrm_llava.translate.backends import BACKENDS

    parser.add_argument("--backend", default=default, choices=BACKENDS, metavar="BACKEND",
                        help=f"translation backend: {', '.join(BACKENDS)} (default: {default})")
    parser.add_argument("--table", help="translation table (JSONL/TSV) for --backend table")
    parser.add_argument("--model", help="local MT model folder (nllb, m2m100, marian, ct2) or model name (openai)")
    parser.add_argument("--base-url", help="API root for google/deepl/openai (e.g. a local OpenAI-compatible server)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="further backend options: timeout, retries, backoff, batch_size, device, "
                        "tokenizer, family, api_key_env, max_wait")
    parser.add_argument("--cache", help=f"SQLite translation cache ({cache_help})")


def backend_options(backend: str, option: list[str] | dict | None = None, table: str | None = None,
                    model: str | None = None, base_url: str | None = None) -> dict:
    """`make_translator` options from the flags: `--option` items (or a dict of them) with the named
    flags set over them. `--model` is the model *name* for openai and the model *folder*
    (`path`) for the local backends."""
    options = dict(option) if isinstance(option, dict) else parse_key_values(option, "--option", number_or_text)
    if table:
        options["path"] = table
    if model:
        options["model" if backend == "openai" else "path"] = model
    if base_url:
        options["base_url"] = base_url
    return options


def add_engine_flags(parser: argparse.ArgumentParser) -> None:
    """--engine, --address and --engine-option: where the translations run (`translate.distributed`)."""
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: this process; ray: an actor pool on Ray Data, results committed to the same "
                        "cache block by block (default: local)")
    parser.add_argument("--address", help="Ray cluster address for --engine ray (\"auto\" on a node of a running "
                        "cluster; default: a local Ray)")
    parser.add_argument("--engine-option", action="append", default=[], metavar="KEY=VALUE",
                        help="Ray engine options: workers=2, block_size=256, cpus_per_worker=1, gpus_per_worker=0, "
                        "num_cpus")


def engine_options(args: argparse.Namespace) -> dict:
    """The `--engine-option` items as a dict."""
    return parse_key_values(args.engine_option, "--engine-option", number_or_text)

