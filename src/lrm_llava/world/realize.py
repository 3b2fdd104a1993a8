"""Ten grammars: ShapeWorld frames -> grammatical sentences in each registry language.

This module is the one place where ShapeWorld's per-language grammar lives. The realizer is written
once (`Grammar.__call__`); each language is a `Grammar` table of words and forms: noun genders and
numeral forms, adjective paradigms, determiners, numerals, position phrases and sentence templates.
The few rules that need code are hooks shared by a family: the plural classes that numerals govern
(`_slavic_plural_class`, `_czech_plural_class`), and Chinese noun phrases (measure words, 的).
General per-language facts (suffixes, yes/no words, describe prompts) stay in `lrm_llava.languages`.

    >>> from lrm_llava.world.frames import CountA
    >>> from lrm_llava.world.realize import realize
    >>> [realize(CountA(2, "star"), c) for c in ("en", "ru", "cs", "zh")]
    ['Two stars.', 'Две звезды.', 'Dvě hvězdy.', '两颗星星。']

How a table is read:

- A sentence template names slots (`"Is there {a} in the image?"`); `{A}` is the slot capitalized.
  Slots: `a` / `a_acc` (indefinite noun phrase, nominative / accusative), `the` (definite), `count`
  (numeral phrase), `noun`, `many` (the plural counted with 5+ and asked about by "how many"),
  `how_many`, `measure`, `pos` / `pos_id` (adverbial / identifying position phrase), `pred`
  (predicative colour), `pron`, `answer` (colour agreeing with the colour question), `be` / `be_q`
  (verb agreeing with a count), `list` (caption items).
- Adjective forms are keyed by context and looked up most specific first: after a determiner or
  numeral class (`def.m`, `def`, `few.f`, `few`, `many`, `pred.m`, `pred`), then case (`m.acc`), then
  gender (`m`). `answer` and `cite` (option text) are plain keys.
- Determiners (`indef.m`, `def.f`, `one.n`, `2.f`, ...) are looked up the same way, with the
  numeral's plain word as the fallback for counts.

Adding a language: add a `Grammar(...)` table below and register it in `REALIZERS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lrm_llava import languages
from lrm_llava.errors import UserError
from lrm_llava.world import frames as F
from lrm_llava.world.scene import COLORS, SIZES, Obj

Det = str | int | None
"""What a noun phrase starts with: None (nothing: option texts), "indef", "def", or a count."""


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _first(table: Mapping[str, str], keys: tuple[str, ...], default: str | None = None) -> str:
    """The entry of the first key that `table` holds (KeyError on the last one when none is)."""
    for key in keys:
        if key in table:
            return table[key]
    if default is None:
        raise KeyError(keys[-1])
    return default


def _one_many(n: int) -> str:
    """Plural class where only 1 is singular (English, German, Romance, Chinese)."""
    return "one" if n == 1 else "many"


def _slavic_plural_class(n: int) -> str:
    """Russian/Croatian numeral government: "one" (1, 21 ...), "few" (2-4, 22-24 ...), "many"."""
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _czech_plural_class(n: int) -> str:
    """Czech numeral government: "one" (1), "few" (2-4), "many" (0, 5+)."""
    return "one" if n == 1 else "few" if 2 <= n <= 4 else "many"


@dataclass(frozen=True)
class Noun:
    """A shape noun: gender and the forms the sentences need."""

    sg: str
    """Citation form (nominative singular)."""
    gender: str = ""
    """"m", "f", "n", or "" where the language has no gender."""
    many: str = ""
    """Form counted with 5+ and asked about by "how many" (plural; Slavic genitive plural); default `sg`."""
    few: str = ""
    """Form counted with 2-4 where it differs from `many` (Russian/Croatian/Czech); default `many`."""
    definite: str = ""
    """Definite form where the article is a suffix (Romanian "cercul")."""
    measure: str = ""
    """Chinese measure word (个, 颗)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "many", self.many or self.sg)
        object.__setattr__(self, "few", self.few or self.many)

    def counted(self, plural_class: str) -> str:
        return {"one": self.sg, "few": self.few, "many": self.many}[plural_class]


_Paradigms = dict[str, dict[str, str]]
"""Adjective -> context key -> form."""


def _nouns(columns: str, rows: dict[str | None, tuple[str, ...]]) -> dict[str | None, Noun]:
    """Noun table from rows of the named `Noun` fields (kind None is the word for "shape")."""
    names = columns.split()
    return {kind: Noun(**dict(zip(names, row, strict=True))) for kind, row in rows.items()}


def _forms(columns: str, rows: dict[str, tuple[str, ...]], aliases: dict[str, str]) -> _Paradigms:
    """Adjective paradigms from full forms in `columns`; `aliases` maps more context keys to a column."""
    table = {}
    for word, row in rows.items():
        forms = dict(zip(columns.split(), row, strict=True))
        table[word] = forms | {key: forms[column] for key, column in aliases.items()}
    return table


def _stems(endings: dict[str, str], stems: dict[str, str | tuple[str, dict[str, str]]]) -> _Paradigms:
    """Adjective paradigms from a stem and regular endings by context key; a (stem, {key: form}) row
    lists irregular forms."""
    table = {}
    for word, stem in stems.items():
        stem, irregular = stem if isinstance(stem, tuple) else (stem, {})
        table[word] = {key: stem + ending for key, ending in endings.items()} | irregular
    return table


@dataclass(frozen=True, kw_only=True)
class Grammar:
    """One language: its words and forms, and the realizer shared by all languages."""

    code: str
    """Registry code."""
    text: Mapping[str, str]
    """Sentence templates per frame (see the module doc for slots); answers default to `_ANSWERS`."""
    nouns: Mapping[str | None, Noun]
    adjectives: Mapping[str, str | Mapping[str, str]]
    """Colours and sizes: one invariable form, or forms by context key."""
    positions: Mapping[str, str]
    """Adverbial position phrases ("on the left")."""
    positions_id: Mapping[str, str] | None = None
    """Identifying position phrases after a noun ("la figura de la derecha"); default `positions`."""
    numerals: tuple[str, ...]
    """Number words 0-10."""
    determiners: Mapping[str, str] = field(default_factory=dict)
    one: str = "one"
    """Determiner that counts one: "one" (a numeral of its own) or "indef" (the indefinite article)."""
    postnominal: frozenset[str] = frozenset()
    """Adjectives that follow the noun, in mirror order ("un cerc roșu mare")."""
    vowels: str = "aeiou"
    before_vowel: Mapping[str, str] = field(default_factory=dict)
    """Determiner forms before a vowel ("a" -> "an", "la" -> "l'"); a form ending in ' is attached."""
    cluster: str = ""
    """Regex of word onsets that select `before_cluster` forms (Italian s + consonant, z, gn, ...)."""
    before_cluster: Mapping[str, str] = field(default_factory=dict)
    plural_class: Callable[[int], str] = _one_many
    be: Mapping[str, str] = field(default_factory=dict)
    """Verb "is/are" by plural class of its subject."""
    be_q: Mapping[str, str] = field(default_factory=dict)
    """The same in yes/no questions, where it differs."""
    how_many: Mapping[str, str] = field(default_factory=dict)
    """"How many" by gender of the noun ("" for any gender)."""
    pronouns: Mapping[str, str] = field(default_factory=dict)
    """Subject pronoun by gender (French inversion "est-elle")."""
    comma: str = ", "
    and_: str = ""
    """List separators: "a, b and c" (and_ with its spaces)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", {**_ANSWERS, **self.text})

    # ------------------------------------------------------------------------------ the realizer
    def __call__(self, f: F.Frame) -> str:
        """The sentence that expresses frame `f` in this language."""
        match f:
            case F.Caption(objects):
                items = [self._say("item", kind=o.kind, adjs=(o.size, o.color), pos=o.pos, n=1)
                         for o in objects]
                return self._say("caption", n=len(objects), items=self.join(items))
            case F.Exist(kind, color):
                return self._say("exist", kind=kind, adjs=(color,) if color else ())
            case F.CountQ(kind):
                return self._say("count_q", kind=kind)
            case F.CountA(n, kind):
                return self._say("count_a", kind=kind, n=n)
            case F.CountCheck(n, kind):
                return self._say("count_check", kind=kind, n=n)
            case F.ColorQ(pos):
                return self._say("color_q", pos=pos)
            case F.ColorA(color):
                return self._say("color_a", color=color)
            case F.ColorCheck(kind, pos, color):
                return self._say("color_check", kind=kind, pos=pos, color=color)
            case F.KindQ(pos):
                return self._say("kind_q", pos=pos)
            case F.KindA(kind):
                return self._say("kind_a", kind=kind)
            case F.WhereQ(kind, color):
                return self._say("where_q", kind=kind, adjs=(color,))
            case F.WhereA(pos):
                return self._say("where_a", pos=pos)
            case F.WhereCheck(kind, color, pos):
                return self._say("where_check", kind=kind, adjs=(color,), pos=pos)
            case F.YesNo(value):
                return self.text["yes" if value else "no"]
            case F.WhichPresentQ():
                return self.text["which"]
            case F.Hint():
                return self.text["hint"]
            case F.Describe():
                return languages.get(self.code).describe_prompts[0]
            case F.ColorOpt(color):
                return self.adj(color, "cite")
            case F.KindOpt(kind):
                return self.nouns[kind].sg
            case F.PosOpt(pos):
                return self.positions[pos]
            case F.CountOpt(n):
                return str(n)  # digits are the same in every language
            case F.ThingOpt(kind, color):
                return self.np(kind, (color,))
        raise TypeError(f"no {languages.get(self.code).english_name} realization for {f!r}")

    def _say(self, template: str, **slots) -> str:
        return self.text[template].format_map(_Slots(self, **slots))

    # ------------------------------------------------------------------------- shared grammar
    def adj(self, word: str, *keys: str) -> str:
        """Form of adjective `word` for the first of `keys` its paradigm holds."""
        forms = self.adjectives[word]
        return forms if isinstance(forms, str) else _first(forms, keys)

    def agree(self, word: str, gender: str, det: str | None = None, case: str = "nom") -> str:
        """Adjective `word` agreeing with a noun of `gender` after `det` (or numeral class) in `case`."""
        keys = (f"{det}.{gender}", det) if det else ()
        return self.adj(word, *keys, f"{gender}.{case}", gender)

    def determiner(self, det: str, gender: str, case: str = "nom") -> str:
        return _first(self.determiners, (f"{det}.{gender}.{case}", f"{det}.{gender}", det), "")

    def attach(self, word: str, phrase: str) -> str:
        """`word phrase`, with the determiner's form chosen by the phrase's first sounds."""
        if not word:
            return phrase
        if self.cluster and re.match(self.cluster, phrase):
            word = self.before_cluster.get(word, word)
        if phrase[0] in self.vowels:
            head, sep, last = word.rpartition(" ")
            word = head + sep + self.before_vowel.get(last, last)
        return word + phrase if word.endswith("'") else f"{word} {phrase}"

    def np(self, kind: str | None, adjs: tuple[str, ...] = (), det: Det = None, case: str = "nom") -> str:
        """Noun phrase: determiner (article or numeral), adjectives before/after the noun, noun."""
        noun = self.nouns[kind]
        g = noun.gender
        if isinstance(det, int):
            context = self.plural_class(det)
            head = noun.counted(context)
            if context == "one":
                word = self.determiner(self.one, g, case)
            else:
                word = self.determiners.get(f"{det}.{g}") or self.numerals[det]
        else:
            context = det
            head = noun.definite if det == "def" and noun.definite else noun.sg
            word = self.determiner(det, g, case) if det else ""
        forms = [(a in self.postnominal, self.agree(a, g, context, case)) for a in adjs]
        words = [w for post, w in forms if not post] + [head] + [w for post, w in reversed(forms) if post]
        return self.attach(word, " ".join(words))

    def count(self, n: int, kind: str | None, adjs: tuple[str, ...] = ()) -> str:
        """Numeral phrase: "two red circles", "два красных круга", "两个圆形"."""
        return self.np(kind, adjs, n)

    def join(self, items: list[str]) -> str:
        """"a, b and c" (no serial comma); where "and" is the comma too (Chinese "，") it just joins."""
        if self.and_ == self.comma:
            return self.comma.join(items)
        if len(items) == 1:
            return items[0]
        return self.comma.join(items[:-1]) + self.and_ + items[-1]


class _Chinese(Grammar):
    """Chinese noun phrases: numeral + measure word; colour + 的 before the size morpheme; no spaces."""

    def np(self, kind: str | None, adjs: tuple[str, ...] = (), det: Det = None, case: str = "nom") -> str:
        noun = self.nouns[kind]
        if isinstance(det, int):
            return self.numerals[det] + noun.measure + self.np(kind, adjs, "indef")
        linker = "" if det is None else "的"  # option texts are compounds: 红色圆形
        return "".join(self.adj(a) + (linker if a in COLORS else "") for a in reversed(adjs)) + noun.sg


_ANSWERS = {"item": "{a} {pos}", "count_a": "{Count}.", "color_a": "{Answer}.", "kind_a": "{A}.",
            "where_a": "{Pos}."}
"""Templates most languages share: caption items and short answers."""


@dataclass(frozen=True)
class _Slots:
    """What a template's `{slot}` stands for, computed only when the template names it."""

    g: Grammar
    kind: str | None = None
    adjs: tuple[str, ...] = ()
    n: int = 1
    pos: str = ""
    color: str = ""
    items: str = ""

    def __getitem__(self, key: str) -> str:
        if key[:1].isupper():
            return _cap(self[key[:1].lower() + key[1:]])
        g, noun = self.g, self.g.nouns[self.kind]
        match key:
            case "a":
                return g.np(self.kind, self.adjs, "indef")
            case "a_acc":
                return g.np(self.kind, self.adjs, "indef", "acc")
            case "the":
                return g.np(self.kind, self.adjs, "def")
            case "count":
                return g.np(self.kind, self.adjs, self.n)
            case "noun":
                return noun.sg
            case "many":
                return noun.many
            case "measure":
                return noun.measure
            case "how_many":
                return g.attach(_first(g.how_many, (noun.gender, "")), noun.many)
            case "pos":
                return g.positions[self.pos]
            case "pos_id":
                return (g.positions_id or g.positions)[self.pos]
            case "pred":
                return g.agree(self.color, noun.gender, "pred")
            case "pron":
                return g.pronouns[noun.gender]
            case "answer":
                return g.adj(self.color, "answer")
            case "be":
                return g.be[g.plural_class(self.n)]
            case "be_q":
                return g.be_q[g.plural_class(self.n)]
            case "list":
                return self.items
        raise KeyError(key)


# ------------------------------------------------------------------------------------- the tables
_ROMANCE_ADJ = "m f many.m many.f"  # agreement columns of a Romance adjective
_ROMANCE_ALIASES = {"answer": "f", "cite": "m"}  # the colour answer agrees with "la forme/forma/figura"

_EN = Grammar(
    code="en",
    text={
        "caption": "There {be} {count}: {list}.",
        "exist": "Is there {a} in the image?",
        "count_q": "How many {many} are there in the image?",
        "count_check": "{Be} there exactly {count} in the image?",
        "color_q": "What color is the shape {pos}?",
        "color_check": "Is {the} {pos} {pred}?",
        "kind_q": "What shape is {pos}?",
        "where_q": "Where is {the}?",
        "where_check": "Is {the} {pos}?",
        "yes": "Yes.", "no": "No.",
        "which": "Which of the following shapes is in the image?",
        "hint": "The image shows simple shapes on a white background.",
    },
    nouns=_nouns("sg many", {
        "circle": ("circle", "circles"), "square": ("square", "squares"),
        "triangle": ("triangle", "triangles"), "star": ("star", "stars"), "heart": ("heart", "hearts"),
        None: ("shape", "shapes")}),
    adjectives={a: a for a in (*COLORS, *SIZES)},
    positions={"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom",
               "center": "in the center"},
    numerals=("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    determiners={"indef": "a", "def": "the", "one": "one"},
    before_vowel={"a": "an"},
    be={"one": "is", "many": "are"},
    and_=" and ",
)

_DE = Grammar(
    code="de",
    text={
        "caption": "Auf dem Bild {be} {count} zu sehen: {list}.",
        "exist": "Gibt es auf dem Bild {a_acc}?",
        "count_q": "Wie viele {many} sind auf dem Bild?",
        "count_check": "{Be} auf dem Bild genau {count}?",
        "color_q": "Welche Farbe hat die Form {pos}?",
        "color_check": "Ist {the} {pos} {pred}?",
        "kind_q": "Welche Form ist {pos}?",
        "where_q": "Wo ist {the}?",
        "where_check": "Ist {the} {pos}?",
        "yes": "Ja.", "no": "Nein.",
        "which": "Welche der folgenden Formen ist auf dem Bild?",
        "hint": "Das Bild zeigt einfache Formen auf weißem Hintergrund.",
    },
    nouns=_nouns("gender sg many", {
        "circle": ("m", "Kreis", "Kreise"), "square": ("n", "Quadrat", "Quadrate"),
        "triangle": ("n", "Dreieck", "Dreiecke"), "star": ("m", "Stern", "Sterne"),
        "heart": ("n", "Herz", "Herzen"), None: ("f", "Form", "Formen")}),
    # Endings: after "ein" / no article (mixed and strong agree in these cells), weak after "der/die/das",
    # strong plural; predicative, answer and option forms are the bare stem.
    adjectives=_stems(
        {"m": "er", "f": "e", "n": "es", "m.acc": "en", "def": "e", "many": "e", "pred": "", "answer": "",
         "cite": ""},
        {"red": "rot", "green": "grün", "blue": "blau", "yellow": "gelb", "purple": "violett",
         "small": "klein", "large": "groß"}),
    positions={"left": "links", "right": "rechts", "top": "oben", "bottom": "unten",
               "center": "in der Mitte"},
    numerals=("null", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn"),
    determiners={"indef.m": "ein", "indef.m.acc": "einen", "indef.f": "eine", "indef.n": "ein",
                 "def.m": "der", "def.f": "die", "def.n": "das"},
    one="indef",
    be={"one": "ist", "many": "sind"},
    and_=" und ",
)

_FR = Grammar(
    code="fr",
    text={
        "caption": "L'image contient {count} : {list}.",
        "exist": "Y a-t-il {a} dans l'image ?",
        "count_q": "{how_many} y a-t-il dans l'image ?",
        "count_check": "Y a-t-il exactement {count} dans l'image ?",
        "color_q": "De quelle couleur est la forme {pos} ?",
        "color_check": "{The} {pos} est-{pron} {pred} ?",
        "kind_q": "Quelle forme se trouve {pos} ?",
        "where_q": "Où est {the} ?",
        "where_check": "{The} est-{pron} {pos} ?",
        "yes": "Oui.", "no": "Non.",
        "which": "Laquelle des formes suivantes se trouve dans l'image ?",
        "hint": "L'image montre des formes simples sur un fond blanc.",
    },
    nouns=_nouns("gender sg many", {
        "circle": ("m", "cercle", "cercles"), "square": ("m", "carré", "carrés"),
        "triangle": ("m", "triangle", "triangles"), "star": ("f", "étoile", "étoiles"),
        "heart": ("m", "cœur", "cœurs"), None: ("f", "forme", "formes")}),
    adjectives=_forms(_ROMANCE_ADJ, {
        "red": ("rouge", "rouge", "rouges", "rouges"), "green": ("vert", "verte", "verts", "vertes"),
        "blue": ("bleu", "bleue", "bleus", "bleues"), "yellow": ("jaune", "jaune", "jaunes", "jaunes"),
        "purple": ("violet", "violette", "violets", "violettes"),
        "small": ("petit", "petite", "petits", "petites"), "large": ("grand", "grande", "grands", "grandes")},
        _ROMANCE_ALIASES),
    positions={"left": "à gauche", "right": "à droite", "top": "en haut", "bottom": "en bas",
               "center": "au centre"},
    numerals=("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
    determiners={"indef.m": "un", "indef.f": "une", "def.m": "le", "def.f": "la"},
    one="indef",
    postnominal=frozenset(COLORS),
    vowels="aeéiouy",
    before_vowel={"le": "l'", "la": "l'", "de": "d'"},
    how_many={"": "Combien de"},
    pronouns={"m": "il", "f": "elle"},
    and_=" et ",
)

_IT = Grammar(
    code="it",
    text={
        "caption": "Nell'immagine {be} {count}: {list}.",
        "exist": "C'è {a} nell'immagine?",
        "count_q": "{how_many} ci sono nell'immagine?",
        "count_check": "{Be} esattamente {count} nell'immagine?",
        "color_q": "Di che colore è la forma {pos}?",
        "color_check": "{The} {pos} è {pred}?",
        "kind_q": "Quale forma c'è {pos}?",
        "where_q": "Dov'è {the}?",
        "where_check": "{The} è {pos}?",
        "yes": "Sì.", "no": "No.",
        "which": "Quale delle seguenti forme è presente nell'immagine?",
        "hint": "L'immagine mostra forme semplici su uno sfondo bianco.",
    },
    nouns=_nouns("gender sg many", {
        "circle": ("m", "cerchio", "cerchi"), "square": ("m", "quadrato", "quadrati"),
        "triangle": ("m", "triangolo", "triangoli"), "star": ("f", "stella", "stelle"),
        "heart": ("m", "cuore", "cuori"), None: ("f", "forma", "forme")}),
    adjectives=_forms(_ROMANCE_ADJ, {
        "red": ("rosso", "rossa", "rossi", "rosse"), "green": ("verde", "verde", "verdi", "verdi"),
        "blue": ("blu", "blu", "blu", "blu"), "yellow": ("giallo", "gialla", "gialli", "gialle"),
        "purple": ("viola", "viola", "viola", "viola"),
        "small": ("piccolo", "piccola", "piccoli", "piccole"),
        "large": ("grande", "grande", "grandi", "grandi")},
        _ROMANCE_ALIASES),
    positions={"left": "a sinistra", "right": "a destra", "top": "in alto", "bottom": "in basso",
               "center": "al centro"},
    numerals=("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove", "dieci"),
    determiners={"indef.m": "un", "indef.f": "una", "def.m": "il", "def.f": "la"},
    one="indef",
    postnominal=frozenset(COLORS),
    before_vowel={"il": "l'", "lo": "l'", "la": "l'", "una": "un'"},
    cluster=r"gn|ps|[zx]|s(?![aeiou])",  # "s impura", z, x, gn, ps take lo / uno
    before_cluster={"il": "lo", "un": "uno"},
    be={"one": "c'è", "many": "ci sono"},
    how_many={"m": "Quanti", "f": "Quante"},
    and_=" e ",
)

_ES = Grammar(
    code="es",
    text={
        "caption": "En la imagen hay {count}: {list}.",
        "exist": "¿Hay {a} en la imagen?",
        "count_q": "¿{how_many} hay en la imagen?",
        "count_check": "¿Hay exactamente {count} en la imagen?",
        "color_q": "¿De qué color es la figura {pos_id}?",
        "color_check": "¿{The} {pos_id} es {pred}?",
        "kind_q": "¿Qué figura hay {pos}?",
        "where_q": "¿Dónde está {the}?",
        "where_check": "¿Está {the} {pos}?",
        "yes": "Sí.", "no": "No.",
        "which": "¿Cuál de las siguientes figuras está en la imagen?",
        "hint": "La imagen muestra figuras simples sobre un fondo blanco.",
    },
    nouns=_nouns("gender sg many", {
        "circle": ("m", "círculo", "círculos"), "square": ("m", "cuadrado", "cuadrados"),
        "triangle": ("m", "triángulo", "triángulos"), "star": ("f", "estrella", "estrellas"),
        "heart": ("m", "corazón", "corazones"), None: ("f", "figura", "figuras")}),
    adjectives=_forms(_ROMANCE_ADJ, {
        "red": ("rojo", "roja", "rojos", "rojas"), "green": ("verde", "verde", "verdes", "verdes"),
        "blue": ("azul", "azul", "azules", "azules"),
        "yellow": ("amarillo", "amarilla", "amarillos", "amarillas"),
        "purple": ("morado", "morada", "morados", "moradas"),
        "small": ("pequeño", "pequeña", "pequeños", "pequeñas"),
        "large": ("grande", "grande", "grandes", "grandes")},
        _ROMANCE_ALIASES),
    # Adverbial ("está a la izquierda") and identifying ("el círculo de la izquierda") position phrases.
    positions={"left": "a la izquierda", "right": "a la derecha", "top": "arriba", "bottom": "abajo",
               "center": "en el centro"},
    positions_id={"left": "de la izquierda", "right": "de la derecha", "top": "de arriba",
                  "bottom": "de abajo", "center": "del centro"},
    numerals=("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"),
    determiners={"indef.m": "un", "indef.f": "una", "def.m": "el", "def.f": "la"},
    one="indef",
    postnominal=frozenset((*COLORS, *SIZES)),
    how_many={"m": "Cuántos", "f": "Cuántas"},
    and_=" y ",
)

_RO = Grammar(
    code="ro",
    text={
        "caption": "În imagine {be} {count}: {list}.",
        "exist": "Există {a} în imagine?",
        "count_q": "{how_many} sunt în imagine?",
        "count_check": "{Be_q} exact {count} în imagine?",
        "color_q": "Ce culoare are forma {pos_id}?",
        "color_check": "{The} {pos_id} este {pred}?",
        "kind_q": "Ce formă este {pos}?",
        "where_q": "Unde este {the}?",
        "where_check": "{The} este {pos}?",
        "yes": "Da.", "no": "Nu.",
        "which": "Care dintre următoarele forme se află în imagine?",
        "hint": "Imaginea arată forme simple pe un fundal alb.",
    },
    nouns=_nouns("gender sg many definite", {
        "circle": ("n", "cerc", "cercuri", "cercul"), "square": ("n", "pătrat", "pătrate", "pătratul"),
        "triangle": ("n", "triunghi", "triunghiuri", "triunghiul"), "star": ("f", "stea", "stele", "steaua"),
        "heart": ("f", "inimă", "inimi", "inima"), None: ("f", "formă", "forme", "forma")}),
    # Neuters agree like masculines in the singular and like feminines in the plural.
    adjectives=_forms(_ROMANCE_ADJ, {
        "red": ("roșu", "roșie", "roșii", "roșii"), "green": ("verde", "verde", "verzi", "verzi"),
        "blue": ("albastru", "albastră", "albaștri", "albastre"),
        "yellow": ("galben", "galbenă", "galbeni", "galbene"), "purple": ("mov", "mov", "mov", "mov"),
        "small": ("mic", "mică", "mici", "mici"), "large": ("mare", "mare", "mari", "mari")},
        {"n": "m", "many.n": "many.f", **_ROMANCE_ALIASES}),
    positions={"left": "în stânga", "right": "în dreapta", "top": "sus", "bottom": "jos",
               "center": "în centru"},
    positions_id={"left": "din stânga", "right": "din dreapta", "top": "de sus", "bottom": "de jos",
                  "center": "din centru"},
    numerals=("zero", "unu", "doi", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă", "zece"),
    determiners={"indef": "un", "indef.f": "o", "2.f": "două", "2.n": "două"},
    one="indef",
    postnominal=frozenset((*COLORS, *SIZES)),
    be={"one": "este", "many": "sunt"},
    be_q={"one": "există", "many": "sunt"},
    how_many={"m": "Câți", "": "Câte"},
    and_=" și ",
)

_RU = Grammar(
    code="ru",
    text={
        "caption": "На изображении {count}: {list}.",
        "exist": "Есть ли на изображении {a}?",
        "count_q": "Сколько {many} на изображении?",
        "count_check": "На изображении ровно {count}?",
        "color_q": "Какого цвета фигура {pos}?",
        "color_check": "{The} {pos} {pred}?",
        "kind_q": "Какая фигура {pos}?",
        "where_q": "Где находится {the}?",
        "where_check": "{The} находится {pos}?",
        "yes": "Да.", "no": "Нет.",
        "which": "Какая из следующих фигур есть на изображении?",
        "hint": "На изображении простые фигуры на белом фоне.",
    },
    # few: genitive singular (after 2-4); many: genitive plural (after 5+ and "сколько").
    nouns=_nouns("gender sg few many", {
        "circle": ("m", "круг", "круга", "кругов"), "square": ("m", "квадрат", "квадрата", "квадратов"),
        "triangle": ("m", "треугольник", "треугольника", "треугольников"),
        "star": ("f", "звезда", "звезды", "звёзд"), "heart": ("n", "сердце", "сердца", "сердец"),
        None: ("f", "фигура", "фигуры", "фигур")}),
    # After 2-4 adjectives take the genitive plural, with feminines the nominative plural; the colour answer
    # agrees with "фигура".
    adjectives=_forms("m f n pl gen.pl", {
        "red": ("красный", "красная", "красное", "красные", "красных"),
        "green": ("зелёный", "зелёная", "зелёное", "зелёные", "зелёных"),
        "blue": ("синий", "синяя", "синее", "синие", "синих"),
        "yellow": ("жёлтый", "жёлтая", "жёлтое", "жёлтые", "жёлтых"),
        "purple": ("фиолетовый", "фиолетовая", "фиолетовое", "фиолетовые", "фиолетовых"),
        "small": ("маленький", "маленькая", "маленькое", "маленькие", "маленьких"),
        "large": ("большой", "большая", "большое", "большие", "больших")},
        {"few": "gen.pl", "few.f": "pl", "many": "gen.pl", "answer": "f", "cite": "m"}),
    positions={"left": "слева", "right": "справа", "top": "сверху", "bottom": "снизу", "center": "в центре"},
    numerals=("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять", "десять"),
    determiners={"one.m": "один", "one.f": "одна", "one.n": "одно", "2.f": "две"},
    plural_class=_slavic_plural_class,
    and_=" и ",
)

_CS = Grammar(
    code="cs",
    text={
        "caption": "Na obrázku {be} {count}: {list}.",
        "exist": "Je na obrázku {a}?",
        "count_q": "Kolik {many} je na obrázku?",
        "count_check": "{Be} na obrázku právě {count}?",
        "color_q": "Jakou barvu má tvar {pos}?",
        "color_check": "Je {the} {pos} {pred}?",
        "kind_q": "Jaký tvar je {pos}?",
        "where_q": "Kde je {the}?",
        "where_check": "Je {the} {pos}?",
        "yes": "Ano.", "no": "Ne.",
        "which": "Který z následujících tvarů je na obrázku?",
        "hint": "Obrázek ukazuje jednoduché tvary na bílém pozadí.",
    },
    # few: nominative plural (after 2-4); many: genitive plural. Masculines here are inanimate.
    nouns=_nouns("gender sg few many", {
        "circle": ("m", "kruh", "kruhy", "kruhů"), "square": ("m", "čtverec", "čtverce", "čtverců"),
        "triangle": ("m", "trojúhelník", "trojúhelníky", "trojúhelníků"),
        "star": ("f", "hvězda", "hvězdy", "hvězd"), "heart": ("n", "srdce", "srdce", "srdcí"),
        None: ("m", "tvar", "tvary", "tvarů")}),
    # Hard adjective endings; the colour answer is accusative feminine, agreeing with "(jakou) barvu".
    adjectives=_stems(
        {"m": "ý", "f": "á", "n": "é", "few": "é", "few.n": "á", "many": "ých", "answer": "ou", "cite": "ý"},
        {"red": "červen", "green": "zelen", "blue": "modr", "yellow": "žlut", "purple": "fialov",
         "small": "mal", "large": "velk"}),
    positions={"left": "vlevo", "right": "vpravo", "top": "nahoře", "bottom": "dole", "center": "uprostřed"},
    numerals=("nula", "jeden", "dva", "tři", "čtyři", "pět", "šest", "sedm", "osm", "devět", "deset"),
    determiners={"one.m": "jeden", "one.f": "jedna", "one.n": "jedno", "2.f": "dvě", "2.n": "dvě"},
    plural_class=_czech_plural_class,
    # Subjects with 2-4 take plural "jsou"; one and five-plus (a genitive phrase) take "je".
    be={"one": "je", "few": "jsou", "many": "je"},
    and_=" a ",
)

_HR = Grammar(
    code="hr",
    text={
        "caption": "Na slici {be} {count}: {list}.",
        "exist": "Je li na slici {a}?",
        "count_q": "Koliko je {many} na slici?",
        "count_check": "{Be_q} na slici točno {count}?",
        "color_q": "Koje je boje oblik {pos}?",
        "color_check": "Je li {the} {pos} {pred}?",
        "kind_q": "Koji je oblik {pos}?",
        "where_q": "Gdje je {the}?",
        "where_check": "Je li {the} {pos}?",
        "yes": "Da.", "no": "Ne.",
        "which": "Koji se od sljedećih oblika nalazi na slici?",
        "hint": "Slika prikazuje jednostavne oblike na bijeloj pozadini.",
    },
    # few (paucal, after 2-4): genitive singular, for feminines the nominative plural; many: genitive plural.
    nouns=_nouns("gender sg few many", {
        "circle": ("m", "krug", "kruga", "krugova"), "square": ("m", "kvadrat", "kvadrata", "kvadrata"),
        "triangle": ("m", "trokut", "trokuta", "trokuta"), "star": ("f", "zvijezda", "zvijezde", "zvijezda"),
        "heart": ("n", "srce", "srca", "srca"), None: ("m", "oblik", "oblika", "oblika")}),
    # Definite (long) endings; the predicative masculine is the short form ("krug je crven", "malen");
    # the colour answer is genitive feminine, agreeing with "(koje) boje".
    adjectives=_stems(
        {"m": "i", "f": "a", "n": "o", "pred.m": "", "few": "a", "few.f": "e", "many": "ih", "answer": "e",
         "cite": "i"},
        {"red": "crven", "green": "zelen", "blue": "plav", "yellow": "žut", "purple": "ljubičast",
         "small": ("mal", {"pred.m": "malen"}), "large": "velik"}),
    positions={"left": "lijevo", "right": "desno", "top": "gore", "bottom": "dolje", "center": "u sredini"},
    numerals=("nula", "jedan", "dva", "tri", "četiri", "pet", "šest", "sedam", "osam", "devet", "deset"),
    determiners={"one.m": "jedan", "one.f": "jedna", "one.n": "jedno", "2.f": "dvije"},
    plural_class=_slavic_plural_class,
    be={"one": "je", "few": "su", "many": "je"},
    be_q={"one": "je li", "few": "jesu li", "many": "je li"},
    and_=" i ",
)

_ZH = _Chinese(
    code="zh",
    text={
        "caption": "图片中有{count}：{list}。",
        "item": "{pos}是{count}",
        "exist": "图片中有{a}吗？",
        "count_q": "图片中有几{measure}{noun}？",
        "count_a": "{count}。",
        "count_check": "图片中正好有{count}吗？",
        "color_q": "{pos}的图形是什么颜色？",
        "color_a": "{answer}。",
        "color_check": "{pos}的{the}是{pred}的吗？",
        "kind_q": "{pos}是什么图形？",
        "kind_a": "{a}。",
        "where_q": "{the}在哪里？",
        "where_a": "在{pos}。",
        "where_check": "{the}在{pos}吗？",
        "yes": "是。", "no": "否。",
        "which": "以下哪个图形出现在图片中？",
        "hint": "图片中是白色背景上的简单图形。",
    },
    nouns=_nouns("sg measure", {
        "circle": ("圆形", "个"), "square": ("正方形", "个"), "triangle": ("三角形", "个"), "star": ("星星", "颗"),
        "heart": ("心形", "个"), None: ("图形", "个")}),
    adjectives={"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色", "small": "小",
                "large": "大"},
    positions={"left": "左边", "right": "右边", "top": "上方", "bottom": "下方", "center": "中间"},
    numerals=("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十"),
    comma="，", and_="，",
)

REALIZERS: dict[str, Grammar] = {g.code: g for g in (_EN, _ZH, _IT, _FR, _DE, _ES, _RU, _RO, _CS, _HR)}
"""One grammar per registry language; each is callable on a frame."""


def realize(frame: F.Frame, lang: str) -> str:
    """The sentence that expresses `frame` in language `lang` (a registry code)."""
    code = languages.get(lang).code
    try:
        fn = REALIZERS[code]
    except KeyError:
        raise UserError(
            f"ShapeWorld has no realizer for language {code!r}; add one to lrm_llava/world/realize.py"
        ) from None
    return fn(frame)


def caption_objects(objects: tuple[Obj, ...]) -> F.Caption:
    """Convenience: the caption frame for a scene's objects."""
    return F.Caption(tuple(objects))
