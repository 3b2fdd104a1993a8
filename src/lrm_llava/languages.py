"""The language registry: every per-language fact the project uses lives here, and only here.

Modules never keep their own language lists: they call `get(code)`, `parse_languages(...)`, or read
`LANGUAGES`. Adding an eleventh language is one new `Language(...)` entry below (plus, for the
ShapeWorld testbed only, a realizer in `world/realize.py`).

    >>> from lrm_llava.languages import get, parse_languages
    >>> get("de").nllb
    'deu_Latn'
    >>> parse_languages("all")[:3]
    ['en', 'zh', 'it']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lrm_llava.errors import UserError

ENGLISH = "en"


@dataclass(frozen=True)
class Language:
    """Everything the project needs to know about one language."""

    code: str
    """ISO 639-1 code used everywhere in the project (file names, `lang` fields, CLI flags)."""
    english_name: str
    """Name in English ("German"); also used in English BVQA requests ("Please answer in German.")."""
    native_name: str
    """Name in the language itself ("Deutsch")."""
    nllb: str
    """NLLB-200 / FLORES-200 code (zho_Hans, not zho_Hant)."""
    m2m: str
    """M2M100 language code."""
    google: str
    """Google Cloud Translation v2 code."""
    deepl_target: str | None
    """DeepL v2 target_lang, or None where DeepL does not offer the language."""
    deepl_source: str | None
    """DeepL v2 source_lang, or None."""
    marian: str | None
    """OPUS-MT (Marian) suffix for en→xx models (Helsinki-NLP/opus-mt-en-xx), or None if none exists."""
    lingua: str
    """lingua-language-detector `Language` enum member name, for the language-fidelity checks."""
    script: str
    """Writing system: "Latn", "Cyrl" or "Hans"; drives sentence splitting and tokenisation rules."""
    yes_words: tuple[str, ...]
    """Lower-case words/prefixes that mean "yes" as the first word of a reply (MME/POPE parsing)."""
    no_words: tuple[str, ...]
    """Lower-case words/prefixes that mean "no" as the first word of a reply."""
    negation_words: tuple[str, ...]
    """Lower-case words whose presence makes a POPE reply "no" (the POPE rule, generalised)."""
    yes_no_suffix: str
    """MME's "Please answer yes or no." in this language."""
    short_answer_suffix: str
    """LLaVA-1.5's "Answer the question using a single word or phrase." in this language."""
    option_suffix: str
    """LLaVA-1.5's "Answer with the option's letter from the given choices directly." in this language."""
    a_is_word: bool
    """True where a capital "A" can start a sentence as a word (English article, Spanish/Italian
    preposition, Czech/Croatian conjunction): a lone "A" then is not taken as an option letter."""
    describe_prompts: tuple[str, ...]
    """Pool of "describe the image" questions for MVQA pretraining samples."""
    answer_in_english: str
    """BVQA request, in this language, to answer in English ("Please answer in English.")."""
    pivot_instruction: str
    """EP-VQA instruction, in this language: translate the question to English, then answer in this language."""
    pivot_question_label: str
    """EP-VQA target label, in this language, before the English translation of the question."""
    answer_label: str
    """EP-VQA target label, in this language, before the answer."""
    sentence_end: str = ".!?"
    """Characters that end a sentence (for sentence splitting before MT)."""
    extra: dict = field(default_factory=dict)
    """Room for facts a later module needs without changing the dataclass."""

    @property
    def is_english(self) -> bool:
        return self.code == ENGLISH


_REGISTRY: tuple[Language, ...] = (
    Language(
        code="en", english_name="English", native_name="English", nllb="eng_Latn", m2m="en",
        google="en", deepl_target="EN-US", deepl_source="EN", marian=None, lingua="ENGLISH",
        script="Latn",
        yes_words=("yes",), no_words=("no",), negation_words=("no", "not", "none", "n't"),
        yes_no_suffix="Please answer yes or no.",
        short_answer_suffix="Answer the question using a single word or phrase.",
        option_suffix="Answer with the option's letter from the given choices directly.",
        a_is_word=True,
        describe_prompts=(
            "Describe the image briefly.",
            "What is in the image?",
            "Describe the content of this image.",
        ),
        answer_in_english="Please answer in English.",
        pivot_instruction="First translate the question into English, then answer it in English.",
        pivot_question_label="Question in English",
        answer_label="Answer",
    ),
    Language(
        code="zh", english_name="Chinese", native_name="中文", nllb="zho_Hans", m2m="zh",
        google="zh-CN", deepl_target="ZH-HANS", deepl_source="ZH", marian="zh", lingua="CHINESE",
        script="Hans",
        yes_words=("是", "对", "有"), no_words=("否", "不", "没"),
        negation_words=("不", "没", "否", "无"),
        yes_no_suffix="请回答是或否。",
        short_answer_suffix="请用一个词或短语回答问题。",
        option_suffix="请直接回答选项字母。",
        a_is_word=False,
        describe_prompts=("简要描述这张图片。", "这张图片里有什么？", "请描述图片的内容。"),
        answer_in_english="请用英语回答。",
        pivot_instruction="请先将问题翻译成英文，然后用中文回答。",
        pivot_question_label="英文问题",
        answer_label="回答",
        sentence_end="。！？.!?",
    ),
    Language(
        code="it", english_name="Italian", native_name="Italiano", nllb="ita_Latn", m2m="it",
        google="it", deepl_target="IT", deepl_source="IT", marian="it", lingua="ITALIAN",
        script="Latn",
        yes_words=("sì", "si"), no_words=("no",), negation_words=("no", "non", "nessun", "nessuna", "nessuno"),
        yes_no_suffix="Rispondi sì o no.",
        short_answer_suffix="Rispondi alla domanda usando una sola parola o frase.",
        option_suffix="Rispondi direttamente con la lettera dell'opzione tra le scelte date.",
        a_is_word=True,
        describe_prompts=(
            "Descrivi brevemente l'immagine.",
            "Che cosa c'è nell'immagine?",
            "Descrivi il contenuto di questa immagine.",
        ),
        answer_in_english="Rispondi in inglese.",
        pivot_instruction="Prima traduci la domanda in inglese, poi rispondi in italiano.",
        pivot_question_label="Domanda in inglese",
        answer_label="Risposta",
    ),
    Language(
        code="fr", english_name="French", native_name="Français", nllb="fra_Latn", m2m="fr",
        google="fr", deepl_target="FR", deepl_source="FR", marian="fr", lingua="FRENCH",
        script="Latn",
        yes_words=("oui",), no_words=("non",),
        negation_words=("non", "pas", "aucun", "aucune", "ne", "n'"),
        yes_no_suffix="Veuillez répondre par oui ou par non.",
        short_answer_suffix="Répondez à la question en utilisant un seul mot ou une seule expression.",
        option_suffix="Répondez directement avec la lettre de l'option parmi les choix proposés.",
        a_is_word=False,
        describe_prompts=(
            "Décrivez brièvement l'image.",
            "Qu'y a-t-il sur l'image ?",
            "Décrivez le contenu de cette image.",
        ),
        answer_in_english="Répondez en anglais.",
        pivot_instruction="Traduisez d'abord la question en anglais, puis répondez en français.",
        pivot_question_label="Question en anglais",
        answer_label="Réponse",
    ),
    Language(
        code="de", english_name="German", native_name="Deutsch", nllb="deu_Latn", m2m="de",
        google="de", deepl_target="DE", deepl_source="DE", marian="de", lingua="GERMAN",
        script="Latn",
        yes_words=("ja",), no_words=("nein",),
        negation_words=("nein", "nicht", "kein", "keine", "keinen", "keiner", "keines"),
        yes_no_suffix="Bitte antworten Sie mit Ja oder Nein.",
        short_answer_suffix="Beantworten Sie die Frage mit einem einzigen Wort oder einer kurzen Phrase.",
        option_suffix="Antworten Sie direkt mit dem Buchstaben der Option aus den gegebenen Auswahlmöglichkeiten.",
        a_is_word=False,
        describe_prompts=(
            "Beschreiben Sie das Bild kurz.",
            "Was ist auf dem Bild zu sehen?",
            "Beschreiben Sie den Inhalt dieses Bildes.",
        ),
        answer_in_english="Antworten Sie auf Englisch.",
        pivot_instruction="Übersetzen Sie die Frage zuerst ins Englische und antworten Sie dann auf Deutsch.",
        pivot_question_label="Frage auf Englisch",
        answer_label="Antwort",
    ),
    Language(
        code="es", english_name="Spanish", native_name="Español", nllb="spa_Latn", m2m="es",
        google="es", deepl_target="ES", deepl_source="ES", marian="es", lingua="SPANISH",
        script="Latn",
        yes_words=("sí", "si"), no_words=("no",),
        negation_words=("no", "ningún", "ninguna", "ninguno", "ni"),
        yes_no_suffix="Por favor, responda sí o no.",
        short_answer_suffix="Responda la pregunta usando una sola palabra o frase.",
        option_suffix="Responda directamente con la letra de la opción entre las opciones dadas.",
        a_is_word=True,
        describe_prompts=(
            "Describa brevemente la imagen.",
            "¿Qué hay en la imagen?",
            "Describa el contenido de esta imagen.",
        ),
        answer_in_english="Responda en inglés.",
        pivot_instruction="Primero traduzca la pregunta al inglés y luego responda en español.",
        pivot_question_label="Pregunta en inglés",
        answer_label="Respuesta",
        sentence_end=".!?¿¡",
    ),
    Language(
        code="ru", english_name="Russian", native_name="Русский", nllb="rus_Cyrl", m2m="ru",
        google="ru", deepl_target="RU", deepl_source="RU", marian="ru", lingua="RUSSIAN",
        script="Cyrl",
        yes_words=("да",), no_words=("нет",), negation_words=("нет", "не", "ни", "ничего"),
        yes_no_suffix="Пожалуйста, ответьте да или нет.",
        short_answer_suffix="Ответьте на вопрос одним словом или фразой.",
        option_suffix="Ответьте буквой варианта из предложенных вариантов.",
        a_is_word=False,
        describe_prompts=(
            "Кратко опишите изображение.",
            "Что изображено на картинке?",
            "Опишите содержание этого изображения.",
        ),
        answer_in_english="Ответьте на английском языке.",
        pivot_instruction="Сначала переведите вопрос на английский язык, затем ответьте на русском.",
        pivot_question_label="Вопрос на английском",
        answer_label="Ответ",
    ),
    Language(
        code="ro", english_name="Romanian", native_name="Română", nllb="ron_Latn", m2m="ro",
        google="ro", deepl_target="RO", deepl_source="RO", marian="ro", lingua="ROMANIAN",
        script="Latn",
        yes_words=("da",), no_words=("nu",), negation_words=("nu", "niciun", "nicio", "nici"),
        yes_no_suffix="Vă rugăm să răspundeți cu da sau nu.",
        short_answer_suffix="Răspundeți la întrebare folosind un singur cuvânt sau o expresie.",
        option_suffix="Răspundeți direct cu litera opțiunii dintre variantele date.",
        a_is_word=False,
        describe_prompts=(
            "Descrieți pe scurt imaginea.",
            "Ce se află în imagine?",
            "Descrieți conținutul acestei imagini.",
        ),
        answer_in_english="Răspundeți în engleză.",
        pivot_instruction="Mai întâi traduceți întrebarea în engleză, apoi răspundeți în română.",
        pivot_question_label="Întrebarea în engleză",
        answer_label="Răspuns",
    ),
    Language(
        code="cs", english_name="Czech", native_name="Čeština", nllb="ces_Latn", m2m="cs",
        google="cs", deepl_target="CS", deepl_source="CS", marian="cs", lingua="CZECH",
        script="Latn",
        yes_words=("ano",), no_words=("ne",),
        negation_words=("ne", "není", "nejsou", "žádný", "žádná", "žádné", "nic"),
        yes_no_suffix="Odpovězte prosím ano, nebo ne.",
        short_answer_suffix="Odpovězte na otázku jedním slovem nebo frází.",
        option_suffix="Odpovězte přímo písmenem možnosti z uvedených voleb.",
        a_is_word=True,
        describe_prompts=("Stručně popište obrázek.", "Co je na obrázku?", "Popište obsah tohoto obrázku."),
        answer_in_english="Odpovězte anglicky.",
        pivot_instruction="Nejprve přeložte otázku do angličtiny a poté odpovězte česky.",
        pivot_question_label="Otázka v angličtině",
        answer_label="Odpověď",
    ),
    Language(
        code="hr", english_name="Croatian", native_name="Hrvatski", nllb="hrv_Latn", m2m="hr",
        google="hr", deepl_target=None, deepl_source=None, marian=None, lingua="CROATIAN",
        script="Latn",
        yes_words=("da",), no_words=("ne",),
        negation_words=("ne", "nije", "nema", "nisu", "nijedan", "nijedna", "nijedno", "ništa"),
        yes_no_suffix="Molimo odgovorite s da ili ne.",
        short_answer_suffix="Odgovorite na pitanje jednom riječju ili izrazom.",
        option_suffix="Odgovorite izravno slovom opcije iz ponuđenih izbora.",
        a_is_word=True,
        describe_prompts=("Ukratko opišite sliku.", "Što se nalazi na slici?", "Opišite sadržaj ove slike."),
        answer_in_english="Odgovorite na engleskom.",
        pivot_instruction="Najprije prevedite pitanje na engleski, a zatim odgovorite na hrvatskom.",
        pivot_question_label="Pitanje na engleskom",
        answer_label="Odgovor",
    ),
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in _REGISTRY}
"""All languages by code, in the paper's order (English first)."""

ALL_CODES: tuple[str, ...] = tuple(LANGUAGES)
NON_ENGLISH: tuple[str, ...] = tuple(c for c in ALL_CODES if c != ENGLISH)


class UnknownLanguageError(UserError, ValueError):
    """A language code that is not in the registry."""


def get(code: str) -> Language:
    """The registry entry for `code` (case-insensitive); a clear error lists the known codes."""
    try:
        return LANGUAGES[code.strip().lower()]
    except KeyError:
        raise UnknownLanguageError(
            f"unknown language code {code!r}; known codes: {', '.join(ALL_CODES)} "
            "(add a Language entry in lrm_llava/languages.py to support another one)"
        ) from None


def parse_languages(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Turn "all", "non-english", "zh,it,fr" or a list into validated codes, registry order kept
    for the keywords and user order kept for explicit lists; duplicates removed."""
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key == "all":
            return list(ALL_CODES)
        if key in ("non-english", "non_english", "xx"):
            return list(NON_ENGLISH)
        items = [s for s in key.replace(" ", ",").split(",") if s]
    else:
        items = list(spec)
    out: list[str] = []
    for item in items:
        code = get(item).code
        if code not in out:
            out.append(code)
    if not out:
        raise UnknownLanguageError(f"no language given in {spec!r}; use e.g. 'all' or 'zh,it,fr'")
    return out
