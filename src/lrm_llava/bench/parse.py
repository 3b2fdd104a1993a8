"""Turn a model's raw reply into an answer, in any of the registry's languages.

The official parsers are English-only; these rules generalize them with the registry's per-language
words (`yes_words`, `no_words`, `negation_words`, `a_is_word`). On English they give the official
result for every reply the official scripts can parse (see docs/benchmarks.md for the two
deliberate extensions of the letter parser).

- MME ("first characters" rule, `eval_tool/calculation.py`): lower-case; a reply that *is* a yes/no
  word wins; otherwise the yes/no word found earliest within the first `L + 1` characters, where `L`
  is the longest yes/no word of the language (4 characters in English, as in the official script);
  otherwise unparseable (wrong). Chinese has no spaces, and the rule needs none.
- POPE (negation rule, LLaVA's `eval_pope.py`): keep the first sentence, drop commas, split into
  words; a negation word of the language makes the answer "no", anything else is "yes". English
  uses the official rule verbatim (case-sensitive `No`/`not`/`no`). In Chinese the negation
  characters are searched inside the sentence. Words with an apostrophe match as affixes: French
  "n'" starts "n'y", English "n't" ends "isn't".
- English fallback: a non-English reply that the language's own words cannot parse is parsed
  with the English words ("Yes, ..." to a German question still counts). Whether the model
  answered in the language asked is measured separately (`bench.fidelity`).
- Options (VLMEvalKit's `can_infer`): punctuation `.()[],:;!*#{}` becomes space; if exactly one
  option letter stands alone as a word, that is the answer, except a lone "A" in a reply of more
  than three words in languages where "A" is a word (`a_is_word`: English article, Spanish/Italian
  preposition, Czech/Croatian conjunction); then a letter wrapper at the start ("B.", "(C)", "D)");
  then the option texts, in the question's language: exactly one option text inside the reply.
  Otherwise unparseable (wrong).

Two parse modes (`PARSE_MODES`; `DEFAULT_PARSE_MODE` is the one switch of the default):

- `official` (default): MMBench replies are read exactly as VLMEvalKit's `can_infer` does without a
  judge model (`parse_option_official`), SEED replies exactly as LLaVA's
  `scripts/convert_seed_for_submission.py` does (`parse_seed_official`: the reply must be the
  letter); MME and POPE by the rules above (the official ones, generalized to ten languages).
- `lenient`: the multilingual letter parser above (`parse_option`) for MMBench and SEED alike.
"""

from __future__ import annotations

import re

from lrm_llava.errors import UserError
from lrm_llava.languages import ENGLISH, Language, get

OFFICIAL = "official"
LENIENT = "lenient"
PARSE_MODES = (OFFICIAL, LENIENT)
"""How MMBench and SEED replies are read (module docstring); MME and POPE read the same in both."""

DEFAULT_PARSE_MODE = OFFICIAL
"""The one switch of the default parse mode (`eval --parse-mode`, `score_predictions`)."""


def check_parse_mode(mode: str) -> str:
    """`mode` if it is a parse mode, else a `UserError` naming them."""
    if mode not in PARSE_MODES:
        raise UserError(f"--parse-mode {mode!r}: unknown; choose {' or '.join(PARSE_MODES)} (official: "
                        "VLMEvalKit's MMBench matching and LLaVA's SEED rule; lenient: the multilingual letter parser)")
    return mode

_OPTION_PUNCT = ".()[],:;!*#{}" + "。，：；！（）【】、"
_WRAPPER = re.compile(r"^\s*[\(\[（【]?\s*([A-Z])\s*(?:[\)\]）】.:：．、]|$)")
_COMMAS = ",，、"
_APOSTROPHES = "’ʼ`"


def _norm(text: str) -> str:
    for ch in _APOSTROPHES:
        text = text.replace(ch, "'")
    return text.strip().lower()


def _first_chars(text: str, lang: Language) -> str | None:
    """MME's rule for one language's yes/no words; `text` already normalized."""
    yes, no = lang.yes_words, lang.no_words
    if text in yes:
        return "yes"
    if text in no:
        return "no"
    prefix = text[: max(len(w) for w in yes + no) + 1]
    best: tuple[int, int, str] | None = None
    for label, words in (("yes", yes), ("no", no)):
        for word in words:
            pos = prefix.find(word)
            # Earliest match wins ("不是" is "no" although "是" is in it); a longer word wins a tie.
            if pos >= 0 and (best is None or (pos, -len(word)) < (best[0], -best[1])):
                best = (pos, len(word), label)
    return best[2] if best else None


def parse_yes_no(output: str, language: str) -> str | None:
    """MME: "yes", "no", or None (unparseable) by the first-characters rule, English fallback."""
    text = _norm(output)
    label = _first_chars(text, get(language))
    if label is None and language != ENGLISH:
        label = _first_chars(text, get(ENGLISH))
    return label


def _pope_english(output: str) -> str:
    # LLaVA's eval_pope.py, verbatim in behaviour (case-sensitive words).
    text = output.strip()
    if text.find(".") != -1:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    return "no" if ("No" in words or "not" in words or "no" in words) else "yes"


def _first_sentence(text: str, enders: str) -> str:
    pieces = re.split("[" + re.escape(enders) + "]", text)
    return next((p for p in pieces if p.strip()), "")


def _has_negation(sentence: str, words: tuple[str, ...], cjk: bool) -> bool:
    tokens = re.findall(r"[\w']+", sentence)
    for word in words:
        if cjk and not word.isascii():
            if word in sentence:
                return True
        elif word.endswith("'"):
            if any(t.startswith(word) for t in tokens):
                return True
        elif "'" in word:
            if any(t.endswith(word) for t in tokens):
                return True
        elif word in tokens:
            return True
    return False


def negation_found(output: str, language: str) -> bool:
    """True if the reply's first sentence holds a negation word of the language (or of English)."""
    lang = get(language)
    text = _norm(output)
    for ch in _COMMAS:
        text = text.replace(ch, " ")
    sentence = _first_sentence(text, lang.sentence_end + ".。")
    words = tuple(dict.fromkeys(lang.negation_words + get(ENGLISH).negation_words))
    return _has_negation(sentence, words, cjk=lang.script == "Hans")


def parse_pope(output: str, language: str) -> str:
    """POPE: "no" if a negation word appears in the first sentence, else "yes" (never unparseable)."""
    if language == ENGLISH:
        return _pope_english(output)
    return "no" if negation_found(output, language) else "yes"


def pope_defaulted(output: str, language: str) -> bool:
    """True when a POPE reply says neither yes nor no: the official rule scores it "yes" by
    default; the report counts these as unparsed so a silent model cannot hide behind the rule."""
    return parse_yes_no(output, language) is None and not negation_found(output, language)


def parse_option(output: str, options: dict[str, str], language: str) -> str | None:
    """The chosen option letter, or None (unparseable). `options` maps letters to option texts
    in the question's language."""
    lang = get(language)
    text = output.strip()
    if not text or not options:
        return None
    mod = re.sub(r"([A-Za-z]+)", r" \1 ", text) if lang.script == "Hans" else text
    for ch in _OPTION_PUNCT:
        mod = mod.replace(ch, " ")
    tokens = mod.split()
    found = [letter for letter in options if letter in tokens]
    if len(found) == 1 and not (found[0] == "A" and lang.a_is_word and len(tokens) > 3):
        return found[0]
    match = _WRAPPER.match(text)
    if match and match.group(1) in options:
        return match.group(1)
    low = text.lower()
    hits = [letter for letter, opt in options.items() if opt and opt.lower() in low]
    return hits[0] if len(hits) == 1 else None


VLMEVAL_REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
"""Replies VLMEvalKit's `can_infer_option` scores as the refusal "Z" (always wrong)."""

_VLMEVAL_PUNCT = ".()[],:;!*#{}"


def parse_option_official(output: str, options: dict[str, str]) -> str | None:
    """MMBench, VLMEvalKit's `can_infer` (vlmeval/utils/matching_util.py) without a judge model:

    1. `can_infer_option`: a refusal phrase (`VLMEVAL_REFUSALS`) is "Z" (wrong). Each of
       `.()[],:;!*#{}` becomes a space and the reply is split on whitespace; if exactly one option
       letter is among the words, it is the answer ("The answer is A." -> A; the article rule is
       VLMEvalKit's verbose mode only, off by default). No letter but a word "Z": "Z" (wrong).
    2. otherwise `can_infer_text`: the option whose text (lower-cased) is inside the lower-cased
       reply, if exactly one is ("B. A blue square" has two letters, so its option text decides).
    Anything else is unparseable ("Z" under `exact_matching`: wrong)."""
    text = "" if output is None else str(output)
    if "Failed to obtain answer via API" not in text:
        if any(phrase in text for phrase in VLMEVAL_REFUSALS):
            return None
        mod = text
        for ch in _VLMEVAL_PUNCT:
            mod = mod.replace(ch, " ")
        words = mod.split()
        found = [letter for letter in options if letter in words]
        if len(found) == 1:
            return found[0]
        if not found and "Z" in words:
            return None
    low = text.lower()
    hits = [letter for letter, opt in options.items() if str(opt).lower() in low]
    return hits[0] if len(hits) == 1 else None


def parse_seed_official(output: str, options: dict[str, str]) -> str | None:
    """SEED, LLaVA's `convert_seed_for_submission.py`: the (stripped) reply is compared with the
    answer letter as is, so only a reply that *is* an option letter counts ("B" yes; "B.", "(C) red",
    "b" or the option text no)."""
    text = "" if output is None else str(output).strip()
    return text if text in options else None


def parse_output(benchmark: str, output: str, language: str, options: dict[str, str] | None = None,
                 mode: str = DEFAULT_PARSE_MODE) -> str | None:
    """Dispatch: MME -> yes/no/None, POPE -> yes/no, MMBench/SEED -> letter/None (by `mode`)."""
    if benchmark == "mme":
        return parse_yes_no(output, language)
    if benchmark == "pope":
        return parse_pope(output, language)
    if mode == OFFICIAL:
        if benchmark == "seed":
            return parse_seed_official(output, options or {})
        return parse_option_official(output, options or {})
    check_parse_mode(mode)
    return parse_option(output, options or {}, language)


def is_unparsed(benchmark: str, output: str, language: str, options: dict[str, str] | None = None,
                mode: str = DEFAULT_PARSE_MODE) -> bool:
    """Counted in the report: no answer could be read from the reply (POPE: no evidence either way)."""
    if benchmark == "pope":
        return pope_defaulted(output, language)
    return parse_output(benchmark, output, language, options, mode) is None
