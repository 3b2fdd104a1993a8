"""Meaning frames: what a ShapeWorld sentence says, independent of any language.

Every caption, question, answer, option and hint the testbed writes is one of these frozen
dataclasses; `lrm_llava.world.realize.realize(frame, lang)` turns it into a sentence in one of
the ten languages. Exports build frames from scenes, realize them in English for the LLaVA sources
and in every language for the reference translation table, so each English string has an exact,
grammatical translation.

    >>> from lrm_llava.world.frames import Exist
    >>> from lrm_llava.world.realize import realize
    >>> realize(Exist("circle", "red"), "de")
    'Gibt es auf dem Bild einen roten Kreis?'
"""

from __future__ import annotations

from dataclasses import dataclass

from lrm_llava.world.scene import Obj


@dataclass(frozen=True)
class Caption:
    """"There are three shapes: a large red circle on the left, ... and ...\""""

    objects: tuple[Obj, ...]
    """The shapes, in the order they are mentioned."""


@dataclass(frozen=True)
class Exist:
    """Question "Is there a (red) circle in the image?"."""

    kind: str
    color: str | None = None
    """None asks about the kind alone."""


@dataclass(frozen=True)
class CountQ:
    """Question "How many circles are there in the image?" (kind None: "How many shapes ...")."""

    kind: str | None = None


@dataclass(frozen=True)
class CountA:
    """Answer "Two circles." / "One shape." (the noun keeps numeral agreement visible)."""

    n: int
    kind: str | None = None


@dataclass(frozen=True)
class CountCheck:
    """Yes/no question "Are there exactly two circles in the image?"."""

    n: int
    kind: str | None = None


@dataclass(frozen=True)
class ColorQ:
    """Question "What color is the shape on the left?"."""

    pos: str


@dataclass(frozen=True)
class ColorA:
    """Answer "Red." (agreeing, where the language needs it, with the word for "shape"/"colour")."""

    color: str


@dataclass(frozen=True)
class ColorCheck:
    """Yes/no question "Is the circle on the left red?"."""

    kind: str
    pos: str
    color: str


@dataclass(frozen=True)
class KindQ:
    """Question "What shape is on the left?"."""

    pos: str


@dataclass(frozen=True)
class KindA:
    """Answer "A circle."."""

    kind: str


@dataclass(frozen=True)
class WhereQ:
    """Question "Where is the red circle?"."""

    kind: str
    color: str


@dataclass(frozen=True)
class WhereA:
    """Answer "On the left."."""

    pos: str


@dataclass(frozen=True)
class WhereCheck:
    """Yes/no question "Is the red circle on the left?"."""

    kind: str
    color: str
    pos: str


@dataclass(frozen=True)
class YesNo:
    """Answer "Yes." / "No."."""

    value: bool


@dataclass(frozen=True)
class WhichPresentQ:
    """Multiple-choice question "Which of the following shapes is in the image?"."""


@dataclass(frozen=True)
class Hint:
    """The MMBench-style hint "The image shows simple shapes on a white background."."""


@dataclass(frozen=True)
class Describe:
    """The pretraining request "Describe the image briefly." (the registry's first describe prompt)."""


@dataclass(frozen=True)
class ColorOpt:
    """Option text "red" (citation form)."""

    color: str


@dataclass(frozen=True)
class KindOpt:
    """Option text "circle"."""

    kind: str


@dataclass(frozen=True)
class PosOpt:
    """Option text "on the left"."""

    pos: str


@dataclass(frozen=True)
class CountOpt:
    """Option text "2" (digits are the same in every language)."""

    n: int


@dataclass(frozen=True)
class ThingOpt:
    """Option text "red circle"."""

    kind: str
    color: str


Frame = (
    Caption | Exist | CountQ | CountA | CountCheck | ColorQ | ColorA | ColorCheck | KindQ | KindA | WhereQ
    | WhereA | WhereCheck | YesNo | WhichPresentQ | Hint | Describe | ColorOpt | KindOpt | PosOpt | CountOpt
    | ThingOpt
)
"""Any frame the realizers understand."""
