"""The one model interface of evaluation: a batch of requests in, one text per request out.

    >>> from lrm_llava.infer.adapters import Request, make_adapter
    >>> model = make_adapter("runs/model")            # llava, hf or openai, picked from the folder
    >>> model.generate([Request(img, "Welche Farbe hat der Kreis?", "de"), Request(None, "2+2?", "en")])
    ['Rot.', '4']
    >>> model.describe()
    {'adapter': 'llava', 'model_id': 'runs/model', 'generation': {...}}

An adapter answers every request greedily, in input order, and answers a request the same way
whatever else shares its batch (batched equals one-by-one). `describe()` is what makes its answers:
the adapter's name, the model's id and the generation settings; evaluation records it in every
prediction row and in `run.json`, and refuses to resume a run made with other settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image


@dataclass(frozen=True)
class Request:
    """One question to a model."""

    image: Image.Image | str | Path | None
    """A PIL image, a path to one, or None for a text-only question."""
    prompt: str
    """The user text (no image placeholder: the adapter adds the image its own way)."""
    language: str = "en"
    """Registry code of the question's language (PaliGemma's prefix prompt names it)."""


class EvalModel(Protocol):
    """What evaluation needs from a model (see the module docstring)."""

    name: str
    """The adapter's name: "llava", "hf" or "openai"."""

    def generate(self, requests: list[Request]) -> list[str]:
        """One reply per request, in order (stripped of surrounding whitespace)."""
        ...

    def describe(self) -> dict[str, Any]:
        """{"adapter", "model_id", "generation": {settings that change the replies}}."""
        ...
