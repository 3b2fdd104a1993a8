"""Conversation templates, rendering, and label masks computed from token character spans.

Templates (names used in recipes, `--template` flags and `generate_batch`):

- ``vicuna_v1``: exactly LLaVA-1.5's ``conv_vicuna_v1``: the system prompt, then per round
  ``" USER: {q} ASSISTANT: {a}</s>"`` (separator " " after the system prompt and each question,
  the end-of-sequence token after each answer, nothing between rounds).
- ``lrm_pretrain``: LRM-LLaVA's pretraining template. LLaVA's own stage 1 uses ``plain``, which
  drops the question; LRM-LLaVA's MVQA pretraining samples carry a *multilingual question* ("describe
  the image" in language la) whose language decides the answer language, so the question must be
  kept. It is rendered exactly like ``vicuna_v1``, so the projector learned in stage 1 sees the same
  prompt format as stage 2 and inference (no format shift between stages); it is a separate name so
  recipes say which stage a template belongs to and the two can diverge later without touching data.
- ``vicuna_v1_nosystem``: ``vicuna_v1`` without the system prompt: the text starts at the first
  ``"USER: "``. The same rounds at less compute where the prompt is long against the samples: the
  ShapeWorld LM (trained on dialogs with and without it) spends 28 tokens on it, a quarter of an
  average stage-2 sample. Use it for both stages, so that inference sees the trained format.
- ``plain``: LLaVA's ``conv_llava_plain``: ``<image>`` + caption + ``"\\n"``; the question is dropped,
  only the caption and the newline are trained. One round only.
- ``tokenizer``: the tokenizer's own chat template (``apply_chat_template``), for LMs that ship one
  (LLaMA-3, Qwen...). The answer and the end-of-turn special token right after it are trained.

Label masks: the full conversation is rendered to one string and tokenized once with
``return_offsets_mapping``; a token is trained iff its characters lie inside a trained region: the
separator between the generation prompt and the answer (the " " after "ASSISTANT:"), the answer,
and the end token after it. The separator belongs to the region because inference prompts end at
"ASSISTANT:" (LLaVA's convention), so the model has to produce that space itself: SentencePiece
LLaMA tokenizers fold it into the first answer token ("▁Yes"), byte-level BPEs into "ĠYes" or a lone
"Ġ", and either way it is trained. A token that crosses an
answer boundary, an answer without tokens, or an end token that is not one token raises `DataError`
("tokenization mismatch") naming the sample: LLaVA's re-tokenize-and-count approach silently masks
whole samples in that case.

Special-token strings in sample text: a "</s>", "<s>" (or any other special token but ``<image>``)
written inside a question or an answer is text, never the special id: it is tokenized with special
tokens split, while the special tokens the template itself adds (the end token after each answer,
a chat template's markers, BOS) stay special (`_split_data_specials`, the one place that handles it).
Samples without such strings are tokenized exactly as the tokenizer does, id for id.

    >>> from lrm_llava.chat import tokenize_conversation
    >>> tc = tokenize_conversation(sample["conversations"], tokenizer, "vicuna_v1",
    ...                            image_token_id=processor.image_token_id, num_image_tokens=576,
    ...                            sample_id=sample["id"])
    >>> tc.input_ids, tc.labels
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lrm_llava.errors import DataError, UserError

IMAGE_TOKEN = "<image>"
"""The image placeholder in LLaVA data and prompts."""

IGNORE_INDEX = -100
"""Label value of positions that are not trained (PyTorch's cross-entropy ignore_index)."""

STAGE_NAMES: tuple[str, ...] = ("pretrain", "finetune")
"""The two training stages, in order: recipe sections, `data build --stage`, model folders. What
each one trains is `lrm_llava.model.stages.STAGES`; which task instructions it takes,
`lrm_llava.instruct.build.STAGE_TASKS`."""

VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
"""LLaVA-1.5's vicuna_v1 system prompt (llava/conversation.py, conv_vicuna_v1)."""

TEMPLATES: dict[str, str] = {
    "vicuna_v1": "LLaVA-1.5 vicuna_v1: system + ' USER: {q} ASSISTANT: {a}</s>' per round",
    "lrm_pretrain": "LRM-LLaVA pretraining: keeps the multilingual question, rendered like vicuna_v1",
    "vicuna_v1_nosystem": "vicuna_v1 without the system prompt: ' USER: {q} ASSISTANT: {a}</s>' per round",
    "plain": "LLaVA plain (pretraining): <image> + caption + '\\n'; the question is dropped",
    "tokenizer": "the tokenizer's own chat template (apply_chat_template)",
}
"""Template names and one-line descriptions."""

_SYSTEM_PROMPTS: dict[str, str] = {"vicuna_v1": VICUNA_SYSTEM, "lrm_pretrain": VICUNA_SYSTEM, "vicuna_v1_nosystem": ""}
"""The templates rendered as LLaVA's SeparatorStyle.TWO, and the system prompt each starts with."""

_HUMAN_ROLES = ("human", "user")
_GPT_ROLES = ("gpt", "assistant")


@dataclass
class TokenizedConversation:
    """One tokenized training sample."""

    input_ids: list[int]
    """Token ids, `<image>` already expanded to `num_image_tokens` image-token ids."""
    labels: list[int]
    """Same length as `input_ids`; -100 everywhere except answer tokens and their end tokens."""
    text: str = ""
    """The rendered conversation string (before image-token expansion)."""
    answer_spans: list[tuple[int, int]] = field(default_factory=list)
    """Character spans of the trained regions (separator + answer + end token) in `text`."""

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def num_trained_tokens(self) -> int:
        """How many positions carry a label."""
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


def check_template(template: str) -> str:
    """Return `template` if known, else raise a UserError listing the templates."""
    if template not in TEMPLATES:
        raise UserError(f"unknown chat template {template!r}; known templates: {', '.join(TEMPLATES)}")
    return template


def _who(sample_id: str | None) -> str:
    return f"sample {sample_id!r}" if sample_id is not None else "sample (no id given)"


def normalize_conversation(conversations: list[dict], *, sample_id: str | None = None) -> list[tuple[str, str]]:
    """Validate LLaVA turns and return (question, answer) rounds with `<image>` moved to the front
    of the first question ("<image>\\n" + rest, as LLaVA does). At most one `<image>` is allowed."""
    who = _who(sample_id)
    if not isinstance(conversations, list) or not conversations:
        raise DataError(f"{who}: 'conversations' must be a non-empty list of {{'from', 'value'}} turns")
    turns: list[tuple[str, str]] = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise DataError(f"{who}: turn {i} must be an object with 'from' and 'value'")
        role, value = str(turn["from"]).lower(), turn["value"]
        if not isinstance(value, str):
            raise DataError(f"{who}: turn {i} 'value' must be a string, got {type(value).__name__}")
        expected = _HUMAN_ROLES if i % 2 == 0 else _GPT_ROLES
        if role not in expected:
            raise DataError(
                f"{who}: turn {i} is from {turn['from']!r} but turns must alternate human, gpt, human, ..."
            )
        turns.append((role, value))
    if len(turns) % 2:
        raise DataError(f"{who}: the last turn is from 'human'; every question needs a 'gpt' answer")
    n_images = sum(v.count(IMAGE_TOKEN) for _, v in turns)
    if n_images > 1:
        raise DataError(f"{who}: {n_images} '<image>' tokens; one image per sample is supported")
    for i in range(1, len(turns), 2):
        if IMAGE_TOKEN in turns[i][1]:
            raise DataError(f"{who}: '<image>' in an answer (turn {i}); it belongs to the first question")
    rounds = [(turns[i][1], turns[i + 1][1]) for i in range(0, len(turns), 2)]
    if n_images == 1:
        rounds = [(q.replace(IMAGE_TOKEN, "").strip(), a) for q, a in rounds]
        rounds[0] = (IMAGE_TOKEN + "\n" + rounds[0][0], rounds[0][1])
    return rounds


# ----------------------------------------------------------------------------------------------
# Rendering: each renderer returns the full string and the character spans to train.


def _system_prefix(template: str) -> str:
    """What a SeparatorStyle.TWO conversation starts with: the system prompt and its separator."""
    system = _SYSTEM_PROMPTS[template]
    return system + " " if system else ""


def _render_vicuna(
    rounds: list[tuple[str, str]], end_token: str, system_prefix: str
) -> tuple[str, list[tuple[int, int, int]]]:
    """LLaVA SeparatorStyle.TWO with sep=" ", sep2=end token."""
    text = system_prefix
    spans = []
    for question, answer in rounds:
        text += "USER: " + question + " " + "ASSISTANT:"
        prompt_end = len(text)
        text += " "
        start = len(text)
        text += answer
        answer_end = len(text)
        text += end_token
        spans.append((prompt_end, start, answer_end, len(text)))
    return text, spans


def _render_plain(rounds: list[tuple[str, str]], *, sample_id: str | None) -> tuple[str, list[tuple[int, int, int]]]:
    if len(rounds) != 1:
        raise DataError(f"{_who(sample_id)}: the 'plain' template takes one round (image + caption), got {len(rounds)}")
    question, caption = rounds[0]
    prefix = IMAGE_TOKEN if IMAGE_TOKEN in question else ""
    text = prefix + caption + "\n"
    return text, [(len(prefix), len(prefix), len(prefix) + len(caption), len(text))]


def _messages(rounds: list[tuple[str, str]]) -> list[dict]:
    out = []
    for question, answer in rounds:
        out.append({"role": "user", "content": question})
        out.append({"role": "assistant", "content": answer})
    return out


def _require_chat_template(tokenizer) -> None:
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        raise UserError(
            f"template 'tokenizer' needs a tokenizer with a chat template, but {name!r} has none; "
            "use --template vicuna_v1 (LLaVA-1.5) or a language model that ships a chat template"
        )


def _special_prefix(tokenizer, text: str) -> str:
    """The longest special/added token string that `text` starts with ('' if none)."""
    candidates = set(getattr(tokenizer, "all_special_tokens", []) or [])
    candidates.update(str(t) for t in (getattr(tokenizer, "get_added_vocab", dict)() or {}))
    best = ""
    for tok in candidates:
        if tok and text.startswith(tok) and len(tok) > len(best):
            best = tok
    return best


def _render_tokenizer(
    rounds: list[tuple[str, str]], tokenizer, *, sample_id: str | None
) -> tuple[str, list[tuple[int, int, int]]]:
    _require_chat_template(tokenizer)
    messages = _messages(rounds)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for k in range(len(rounds)):
        prompt = tokenizer.apply_chat_template(messages[: 2 * k + 1], tokenize=False, add_generation_prompt=True)
        if not full.startswith(prompt):
            raise DataError(
                f"{_who(sample_id)}: tokenization mismatch: the tokenizer's chat template renders round {k} "
                "differently with and without the following turns; use --template vicuna_v1"
            )
        answer = rounds[k][1].strip()
        pos = len(prompt)
        while pos < len(full) and full[pos].isspace() and not full.startswith(answer, pos):
            pos += 1
        if not full.startswith(answer, pos):
            raise DataError(
                f"{_who(sample_id)}: tokenization mismatch: the chat template changed the text of answer {k}; "
                "use --template vicuna_v1"
            )
        answer_end = pos + len(answer)
        end = answer_end + len(_special_prefix(tokenizer, full[answer_end:]))
        spans.append((len(prompt), pos, answer_end, end))
    return full, spans


def render_conversation(
    conversations: list[dict], template: str = "vicuna_v1", *, tokenizer=None, sample_id: str | None = None
) -> tuple[str, list[tuple[int, int, int]]]:
    """Render a LLaVA conversation to one string; also return, per answer, the character offsets
    (prompt_end, answer_start, answer_end, end_token_end): `text[:prompt_end]` is what the
    generation prompt of this round renders to (it ends with "ASSISTANT:" for vicuna_v1). `tokenizer` gives the end token (its eos, "</s>" for
    LLaMA/Vicuna) and, for template "tokenizer", the chat template."""
    check_template(template)
    rounds = normalize_conversation(conversations, sample_id=sample_id)
    if template == "plain":
        return _render_plain(rounds, sample_id=sample_id)
    if template == "tokenizer":
        if tokenizer is None:
            raise UserError("template 'tokenizer' needs the tokenizer (pass tokenizer=...)")
        return _render_tokenizer(rounds, tokenizer, sample_id=sample_id)
    return _render_vicuna(rounds, _end_token(tokenizer), _system_prefix(template))


def _end_token(tokenizer) -> str:
    # LLaVA writes a literal "</s>", which is the eos of LLaMA/Vicuna; using the tokenizer's eos keeps
    # that and also trains the right stop token for LMs whose eos differs.
    eos = getattr(tokenizer, "eos_token", None) if tokenizer is not None else None
    return eos or "</s>"


def build_generation_prompt(
    question: str, template: str = "vicuna_v1", *, has_image: bool = True, tokenizer=None
) -> str:
    """The rendered prompt ending right before the answer, e.g. for vicuna_v1
    "<system> USER: <image>\\nquestion ASSISTANT:". `question` must not contain `<image>`
    (it is added when `has_image`). Template "tokenizer" needs `tokenizer`."""
    check_template(template)
    question = question.replace(IMAGE_TOKEN, "").strip() if IMAGE_TOKEN in question else question
    user = (IMAGE_TOKEN + "\n" + question) if has_image else question
    if template in _SYSTEM_PROMPTS:
        return _system_prefix(template) + "USER: " + user + " " + "ASSISTANT:"
    if template == "plain":
        # The plain template has no question: the model continues a caption after the image.
        return IMAGE_TOKEN if has_image else ""
    if tokenizer is None:
        raise UserError("template 'tokenizer' needs the tokenizer (pass tokenizer=...)")
    _require_chat_template(tokenizer)
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
    )


def template_adds_special_tokens(template: str) -> bool:
    """Whether to let the tokenizer add BOS: not for "tokenizer" (chat templates write their own)."""
    return template != "tokenizer"


# ----------------------------------------------------------------------------------------------
# Tokenization + labels


def _is_special(tokenizer, text: str) -> bool:
    return text in set(getattr(tokenizer, "all_special_tokens", []) or []) or text in (
        getattr(tokenizer, "get_added_vocab", dict)() or {}
    )


def _data_special_strings(tokenizer) -> tuple[str, ...]:
    """The special-token strings that sample text must not turn into special ids: every special
    token of the tokenizer (bos, eos, pad, unk, chat markers, ...) except `<image>`, the one
    placeholder data may hold (`normalize_conversation` checks it). Longest first."""
    found = set(getattr(tokenizer, "all_special_tokens", None) or ())
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    found.update(str(t) for t in decoder.values() if getattr(t, "special", False))
    found.discard(IMAGE_TOKEN)
    return tuple(sorted((t for t in found if t), key=lambda t: (-len(t), t)))


def _sample_texts(conversations) -> list[str]:
    if not isinstance(conversations, list):
        return []
    return [t["value"] for t in conversations if isinstance(t, dict) and isinstance(t.get("value"), str)]


_FILLER = "\ufffd"
"""Stands in for each character of a special-token string of the sample text when finding the
special tokens the template itself writes (no special token contains it)."""


def _split_data_specials(
    conversations: list[dict],
    template: str,
    tokenizer,
    text: str,
    ids: list[int],
    offsets: list[tuple[int, int]],
    specials: tuple[str, ...],
    sample_id: str | None,
) -> tuple[list[int], list[tuple[int, int]]]:
    """The one place where sample text meets special-token strings (finding: a "</s>" or "<s>"
    written inside a question or an answer became the real EOS/BOS and was trained as such).

    The special tokens the template writes stay special: they are found by rendering the same
    conversation with every special-token string of the sample text replaced by as many filler
    characters (same length, so the same positions). Every other special token of the encoding came
    from sample text; it is replaced by the tokens of its characters, tokenized with special tokens
    split (`split_special_tokens=True`), offsets kept. Only samples that contain such a string get
    here: for all other data the token ids are exactly those of the tokenizer (the fast path)."""
    neutral_conv = []
    for turn in conversations:
        value = turn["value"]
        for tok in specials:
            value = value.replace(tok, _FILLER * len(tok))
        neutral_conv.append({**turn, "value": value})
    neutral, _ = render_conversation(neutral_conv, template, tokenizer=tokenizer, sample_id=sample_id)
    if len(neutral) != len(text):
        raise DataError(
            f"{_who(sample_id)}: the sample text holds a special-token string ({', '.join(map(repr, specials))}) "
            f"that template {template!r} does not render verbatim; remove it from the data"
        )
    owned: set[tuple[int, str]] = set()
    for tok in specials:
        start = neutral.find(tok)
        while start != -1:
            owned.add((start, tok))
            start = neutral.find(tok, start + 1)
    special_ids = {i for i in (getattr(tokenizer, "all_special_ids", None) or ())}
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    special_ids.update(i for i, t in decoder.items() if getattr(t, "special", False))
    new_ids: list[int] = []
    new_offsets: list[tuple[int, int]] = []
    for tid, (s, e) in zip(ids, offsets):
        piece = text[s:e]
        content = next((tok for tok in specials if tok in piece), None) if tid in special_ids and s < e else None
        if content is None or (s + piece.index(content), content) in owned:
            new_ids.append(tid)
            new_offsets.append((s, e))
            continue
        sub = tokenizer(piece, add_special_tokens=False, split_special_tokens=True, return_offsets_mapping=True,
                        truncation=False, verbose=False)
        new_ids.extend(sub["input_ids"])
        new_offsets.extend((s + a, s + b) for a, b in sub["offset_mapping"])
    return new_ids, new_offsets


def _has_text(text: str, span: tuple[int, int], start: int, end: int) -> bool:
    """Whether the token at `span` covers a non-space character of `text[start:end]`."""
    return bool(text[max(span[0], start): min(span[1], end)].strip())


def _core_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The token's span without leading/trailing whitespace (empty when all whitespace)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def tokenize_conversation(
    conversations: list[dict],
    tokenizer,
    template: str = "vicuna_v1",
    *,
    image_token_id: int | None = None,
    num_image_tokens: int = 1,
    sample_id: str | None = None,
) -> TokenizedConversation:
    """Tokenize a LLaVA conversation and build its label mask (see the module docstring).

    `image_token_id`: when given, the single `<image>` is replaced by `num_image_tokens` copies of
    it (labels -100); when None the `<image>` text is tokenized as is. Needs a fast tokenizer.
    """
    who = _who(sample_id)
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("tokenize_conversation needs a fast tokenizer (offsets mapping); load it with use_fast=True")
    if num_image_tokens < 1:
        raise UserError(f"num_image_tokens must be >= 1, got {num_image_tokens}")
    text, spans = render_conversation(conversations, template, tokenizer=tokenizer, sample_id=sample_id)
    enc = tokenizer(
        text,
        add_special_tokens=template_adds_special_tokens(template),
        return_offsets_mapping=True,
        truncation=False,
        verbose=False,
    )
    ids: list[int] = list(enc["input_ids"])
    offsets: list[tuple[int, int]] = [tuple(o) for o in enc["offset_mapping"]]
    specials = _data_special_strings(tokenizer)
    if specials and any(tok in value for value in _sample_texts(conversations) for tok in specials):
        ids, offsets = _split_data_specials(conversations, template, tokenizer, text, ids, offsets, specials,
                                            sample_id)
    labels = [IGNORE_INDEX] * len(ids)

    for k, (region_start, start, answer_end, end) in enumerate(spans):
        if not text[start:answer_end].strip():
            raise DataError(f"{who}: answer {k} is empty; every 'gpt' turn needs text")
        positions = []
        for pos, (s, e) in enumerate(offsets):
            if s == e or e <= region_start or s >= end:  # outside (BOS and other added specials: s == e)
                continue
            if s < region_start or e > end:
                raise DataError(
                    f"{who}: tokenization mismatch: token {pos} {text[s:e]!r} crosses the boundary of "
                    f"answer {k}; the tokenizer merges template text with the answer"
                )
            positions.append(pos)
        if not any(_has_text(text, offsets[p], start, answer_end) for p in positions):
            raise DataError(f"{who}: tokenization mismatch: answer {k} got no tokens")
        end_text = text[answer_end:end]
        if end_text and _is_special(tokenizer, end_text):
            # A special end token (</s>, <|im_end|>, <|eot_id|>) must be exactly one token of its own,
            # or the model never learns to stop.
            end_positions = [p for p in positions if offsets[p][1] > answer_end]
            if [offsets[p] for p in end_positions] != [(answer_end, end)] or (
                end_text == tokenizer.eos_token and ids[end_positions[0]] != tokenizer.eos_token_id
            ):
                raise DataError(
                    f"{who}: tokenization mismatch: the end token {end_text!r} after answer {k} is not "
                    f"one token of its own; add it to the tokenizer as a special token"
                )
        for pos in positions:
            labels[pos] = ids[pos]

    if image_token_id is not None and IMAGE_TOKEN in text:
        ids, labels = _expand_image(text, ids, labels, offsets, image_token_id, num_image_tokens, who)
    trained = [(s, e) for s, _, _, e in spans]
    return TokenizedConversation(input_ids=ids, labels=labels, text=text, answer_spans=trained)


def _expand_image(
    text: str,
    ids: list[int],
    labels: list[int],
    offsets: list[tuple[int, int]],
    image_token_id: int,
    num_image_tokens: int,
    who: str,
) -> tuple[list[int], list[int]]:
    """Replace the tokens of the single "<image>" by `num_image_tokens` image-token ids."""
    img_start = text.index(IMAGE_TOKEN)
    img_end = img_start + len(IMAGE_TOKEN)
    inside = []
    for pos, (s, e) in enumerate(offsets):
        if s == e:
            continue
        cs, ce = _core_span(text, s, e)
        if cs >= img_end or ce <= img_start:
            continue
        if cs < img_start or ce > img_end:
            raise DataError(
                f"{who}: tokenization mismatch: token {pos} {text[s:e]!r} merges '<image>' with nearby text; "
                "add '<image>' to the tokenizer as a special token"
            )
        inside.append(pos)
    if not inside or inside != list(range(inside[0], inside[-1] + 1)):
        raise DataError(f"{who}: tokenization mismatch: '<image>' did not tokenize to a contiguous span")
    first, last = inside[0], inside[-1] + 1
    new_ids = ids[:first] + [image_token_id] * num_image_tokens + ids[last:]
    new_labels = labels[:first] + [IGNORE_INDEX] * num_image_tokens + labels[last:]
    return new_ids, new_labels
