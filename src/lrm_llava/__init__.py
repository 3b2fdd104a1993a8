"""LRM-LLaVA: multilingual LLaVA-style vision-language models for low-resource languages.

Translate English visual-instruction data, build the paper's MVQA / EP-VQA / BVQA task
instructions, train a LLaVA model in two stages, and evaluate it on MME, POPE, MMBench and
SEED-Bench in ten languages. Start with `lrm-llava --help` or `make demo`.
"""

__version__ = "0.1.0"


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]):
    """(`__getattr__`, `__dir__`, `__all__`) for a package that names its public objects without
    importing the modules that define them (PEP 562): `from lrm_llava.infer import load_model`
    works as before, but `import lrm_llava.infer` (and so `lrm-llava --help`) does not pay for torch
    and transformers until a name is used. `exports` maps a module to the names it defines."""
    import importlib
    import sys

    owner = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(owner[name]), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owner))

    return __getattr__, __dir__, sorted(owner)
