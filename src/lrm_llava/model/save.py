"""Save a Llava model + processor as a plain Hugging Face folder (safetensors).

The folder loads with `AutoModelForImageTextToText.from_pretrained(out_dir)` and
`AutoProcessor.from_pretrained(out_dir)`, with nothing from this project needed (and in vLLM).
LoRA adapters, if any, are merged first.

    >>> save_model(model, processor, "runs/x/final", extra_files={"training_args.json": "{...}"})
"""

from __future__ import annotations

from pathlib import Path

from lrm_llava.errors import UserError
from lrm_llava.model.stages import merge_lora


def save_model(model, processor, out_dir: str | Path, *, extra_files: dict[str, str] | None = None) -> Path:
    """Write model (safetensors), processor and `extra_files` (name -> text) to `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    merge_lora(model)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    for name, text in (extra_files or {}).items():
        target = (out / name).resolve()
        if out.resolve() not in target.parents:
            raise UserError(f"extra file name {name!r} would be written outside {out}; use a plain file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return out
