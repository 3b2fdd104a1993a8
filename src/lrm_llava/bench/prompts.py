"""The one prompt per benchmark (LLaVA-1.5 evaluation conventions), localized from the registry.

The user text sent to the model (the chat template and the image token are added by
`lrm_llava.infer.generate_batch`); shown here for English, other languages use the same layout with
their question text and the registry's suffix in their language:

- MME:     "{question}\\n{short_answer_suffix}"
           (LLaVA-1.5 replaces MME's " Please answer yes or no." by its short-answer suffix;
           the question file's suffix, in any language, is removed before.)
           e.g. "Is there a dog in this image?\\nAnswer the question using a single word or phrase."
- POPE:    "{text}\\n{short_answer_suffix}"
- MMBench: "{hint}\\n{question}\\nA. {A}\\nB. {B}[\\nC. {C}][\\nD. {D}]\\n{option_suffix}"
           (the hint line only when the row has one; only the options present)
- SEED:    "{question}\\nA. {choice_a}\\nB. {choice_b}\\nC. {choice_c}\\nD. {choice_d}\\n{option_suffix}"

The exact prompt is stored with every prediction (`prompt` field), so a run documents itself.
"""

from __future__ import annotations

from lrm_llava.bench.common import Item
from lrm_llava.languages import get

TEMPLATES: dict[str, str] = {
    "mme": "{question}\n{short_answer_suffix}",
    "pope": "{question}\n{short_answer_suffix}",
    "mmbench": "[{hint}\n]{question}\n{A. option}...\n{option_suffix}",
    "seed": "{question}\n{A. option}...\n{option_suffix}",
}
"""Human-readable form of each benchmark's prompt (for reports and docs)."""


def build_prompt(item: Item) -> str:
    """The user text for one item, in the item's language."""
    lang = get(item.language)
    if item.benchmark in ("mme", "pope"):
        return f"{item.question}\n{lang.short_answer_suffix}"
    lines = [item.hint] if item.hint else []
    lines.append(item.question)
    lines += [f"{letter}. {text}" for letter, text in item.options.items()]
    lines.append(lang.option_suffix)
    return "\n".join(lines)
