"""Ten realizers: ShapeWorld frames -> grammatical sentences in each registry language.

This module is the one place where ShapeWorld's per-language grammar lives: noun genders and
plurals, adjective agreement (gender, number, case), article choice, numeral government
(Russian/Czech/Croatian 1 / 2-4 / 5+ forms), Chinese measure words (个, 颗) and word order.
General per-language facts (suffixes, yes/no words, describe prompts) stay in
`lrm_llava.languages`.

    >>> from lrm_llava.world.frames import CountA
    >>> from lrm_llava.world.realize import realize
    >>> [realize(CountA(2, "star"), c) for c in ("en", "ru", "cs", "zh")]
    ['Two stars.', 'Две звезды.', 'Dvě hvězdy.', '两颗星星。']

Adding a language: write `_xx(frame) -> str` below and register it in `REALIZERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from lrm_llava import languages
from lrm_llava.errors import UserError
from lrm_llava.world import frames as F
from lrm_llava.world.scene import Obj


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _join(items: list[str], conj: str, comma: str = ", ") -> str:
    """"a, b and c" with the language's conjunction (no serial comma)."""
    if len(items) == 1:
        return items[0]
    return comma.join(items[:-1]) + f" {conj} " + items[-1]


def _describe(lang: str) -> str:
    return languages.get(lang).describe_prompts[0]


# ----------------------------------------------------------------------------------------- English
_EN_PL = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars",
          "heart": "hearts", None: "shapes"}
_EN_NUM = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_EN_POS = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom",
           "center": "in the center"}


def _en_a(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def _en_count(n: int, kind: str | None) -> str:
    return f"{_EN_NUM[n]} {(kind or 'shape') if n == 1 else _EN_PL[kind]}"


def _en(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_en_a(f'{o.size} {o.color} {o.kind}')} {_EN_POS[o.pos]}" for o in objects]
            verb = "is" if len(objects) == 1 else "are"
            return f"There {verb} {_en_count(len(objects), None)}: {_join(parts, 'and')}."
        case F.Exist(kind, color):
            return f"Is there {_en_a(f'{color} {kind}' if color else kind)} in the image?"
        case F.CountQ(kind):
            return f"How many {_EN_PL[kind]} are there in the image?"
        case F.CountA(n, kind):
            return _cap(_en_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            verb = "Is" if n == 1 else "Are"
            return f"{verb} there exactly {_en_count(n, kind)} in the image?"
        case F.ColorQ(pos):
            return f"What color is the shape {_EN_POS[pos]}?"
        case F.ColorA(color):
            return _cap(color) + "."
        case F.ColorCheck(kind, pos, color):
            return f"Is the {kind} {_EN_POS[pos]} {color}?"
        case F.KindQ(pos):
            return f"What shape is {_EN_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_en_a(kind)) + "."
        case F.WhereQ(kind, color):
            return f"Where is the {color} {kind}?"
        case F.WhereA(pos):
            return _cap(_EN_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"Is the {color} {kind} {_EN_POS[pos]}?"
        case F.YesNo(value):
            return "Yes." if value else "No."
        case F.WhichPresentQ():
            return "Which of the following shapes is in the image?"
        case F.Hint():
            return "The image shows simple shapes on a white background."
        case F.Describe():
            return _describe("en")
        case F.ColorOpt(color):
            return color
        case F.KindOpt(kind):
            return kind
        case F.PosOpt(pos):
            return _EN_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return f"{color} {kind}"
    raise TypeError(f"no English realization for {f!r}")


# ------------------------------------------------------------------------------------------ German
# noun: (gender, singular, plural)
_DE_N = {"circle": ("m", "Kreis", "Kreise"), "square": ("n", "Quadrat", "Quadrate"),
         "triangle": ("n", "Dreieck", "Dreiecke"), "star": ("m", "Stern", "Sterne"),
         "heart": ("n", "Herz", "Herzen"), None: ("f", "Form", "Formen")}
_DE_ADJ = {"red": "rot", "green": "grün", "blue": "blau", "yellow": "gelb", "purple": "violett",
           "small": "klein", "large": "groß"}
_DE_POS = {"left": "links", "right": "rechts", "top": "oben", "bottom": "unten", "center": "in der Mitte"}
_DE_NUM = ("null", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn")
# Adjective endings after the indefinite article (mixed declension) and with no article (strong).
_DE_MIXED = {("nom", "m"): "er", ("acc", "m"): "en", ("nom", "n"): "es", ("acc", "n"): "es",
             ("nom", "f"): "e", ("acc", "f"): "e"}
_DE_INDEF = {("nom", "m"): "ein", ("acc", "m"): "einen", ("nom", "n"): "ein", ("acc", "n"): "ein",
             ("nom", "f"): "eine", ("acc", "f"): "eine"}
_DE_DEF = {"m": "der", "n": "das", "f": "die"}


def _de_indef(kind: str | None, adjs: list[str], case: str) -> str:
    g, sg, _ = _DE_N[kind]
    words = [_DE_INDEF[case, g]] + [_DE_ADJ[a] + _DE_MIXED[case, g] for a in adjs] + [sg]
    return " ".join(words)


def _de_def(kind: str, adjs: list[str]) -> str:
    g, sg, _ = _DE_N[kind]
    return " ".join([_DE_DEF[g]] + [_DE_ADJ[a] + "e" for a in adjs] + [sg])


def _de_count(n: int, kind: str | None) -> str:
    g, sg, pl = _DE_N[kind]
    if n == 1:
        return ("eine " if g == "f" else "ein ") + sg
    return f"{_DE_NUM[n]} {pl}"


def _de(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_de_indef(o.kind, [o.size, o.color], 'nom')} {_DE_POS[o.pos]}" for o in objects]
            verb = "ist" if len(objects) == 1 else "sind"
            return f"Auf dem Bild {verb} {_de_count(len(objects), None)} zu sehen: {_join(parts, 'und')}."
        case F.Exist(kind, color):
            return f"Gibt es auf dem Bild {_de_indef(kind, [color] if color else [], 'acc')}?"
        case F.CountQ(kind):
            return f"Wie viele {_DE_N[kind][2]} sind auf dem Bild?"
        case F.CountA(n, kind):
            return _cap(_de_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            verb = "Ist" if n == 1 else "Sind"
            return f"{verb} auf dem Bild genau {_de_count(n, kind)}?"
        case F.ColorQ(pos):
            return f"Welche Farbe hat die Form {_DE_POS[pos]}?"
        case F.ColorA(color):
            return _cap(_DE_ADJ[color]) + "."
        case F.ColorCheck(kind, pos, color):
            return f"Ist {_de_def(kind, [])} {_DE_POS[pos]} {_DE_ADJ[color]}?"
        case F.KindQ(pos):
            return f"Welche Form ist {_DE_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_de_indef(kind, [], "nom")) + "."
        case F.WhereQ(kind, color):
            return f"Wo ist {_de_def(kind, [color])}?"
        case F.WhereA(pos):
            return _cap(_DE_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"Ist {_de_def(kind, [color])} {_DE_POS[pos]}?"
        case F.YesNo(value):
            return "Ja." if value else "Nein."
        case F.WhichPresentQ():
            return "Welche der folgenden Formen ist auf dem Bild?"
        case F.Hint():
            return "Das Bild zeigt einfache Formen auf weißem Hintergrund."
        case F.Describe():
            return _describe("de")
        case F.ColorOpt(color):
            return _DE_ADJ[color]
        case F.KindOpt(kind):
            return _DE_N[kind][1]
        case F.PosOpt(pos):
            return _DE_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            # Strong declension without article: "roter Kreis", "rotes Quadrat".
            g, sg, _ = _DE_N[kind]
            return f"{_DE_ADJ[color]}{_DE_MIXED['nom', g]} {sg}"
    raise TypeError(f"no German realization for {f!r}")


# ------------------------------------------------------------------------------------------ French
_FR_N = {"circle": ("m", "cercle", "cercles"), "square": ("m", "carré", "carrés"),
         "triangle": ("m", "triangle", "triangles"), "star": ("f", "étoile", "étoiles"),
         "heart": ("m", "cœur", "cœurs"), None: ("f", "forme", "formes")}
# (m sg, f sg, m pl, f pl)
_FR_ADJ = {"red": ("rouge", "rouge", "rouges", "rouges"), "green": ("vert", "verte", "verts", "vertes"),
           "blue": ("bleu", "bleue", "bleus", "bleues"), "yellow": ("jaune", "jaune", "jaunes", "jaunes"),
           "purple": ("violet", "violette", "violets", "violettes"),
           "small": ("petit", "petite", "petits", "petites"), "large": ("grand", "grande", "grands", "grandes")}
_FR_POS = {"left": "à gauche", "right": "à droite", "top": "en haut", "bottom": "en bas", "center": "au centre"}
_FR_NUM = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix")


def _fr_adj(a: str, g: str, pl: bool = False) -> str:
    return _FR_ADJ[a][(2 if pl else 0) + (1 if g == "f" else 0)]


def _fr_def(kind: str) -> str:
    g, sg, _ = _FR_N[kind]
    return ("l'" if sg[0] in "aeéiouy" else ("la " if g == "f" else "le ")) + sg


def _fr_indef(kind: str | None, color: str | None = None, size: str | None = None) -> str:
    """Indefinite NP: size before the noun, colour after ("un grand cercle rouge")."""
    g, sg, _ = _FR_N[kind]
    words = ["une" if g == "f" else "un"]
    if size:
        words.append(_fr_adj(size, g))
    words.append(sg)
    if color:
        words.append(_fr_adj(color, g))
    return " ".join(words)


def _fr_count(n: int, kind: str | None) -> str:
    g, _, pl = _FR_N[kind]
    return _fr_indef(kind) if n == 1 else f"{_FR_NUM[n]} {pl}"


def _fr_pron(kind: str) -> str:
    return "elle" if _FR_N[kind][0] == "f" else "il"


def _fr(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_fr_indef(o.kind, o.color, o.size)} {_FR_POS[o.pos]}" for o in objects]
            return f"L'image contient {_fr_count(len(objects), None)} : {_join(parts, 'et')}."
        case F.Exist(kind, color):
            return f"Y a-t-il {_fr_indef(kind, color)} dans l'image ?"
        case F.CountQ(kind):
            plural = _FR_N[kind][2]
            de = "d'" if plural[0] in "aeéiouy" else "de "
            return f"Combien {de}{plural} y a-t-il dans l'image ?"
        case F.CountA(n, kind):
            return _cap(_fr_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            return f"Y a-t-il exactement {_fr_count(n, kind)} dans l'image ?"
        case F.ColorQ(pos):
            return f"De quelle couleur est la forme {_FR_POS[pos]} ?"
        case F.ColorA(color):
            return _cap(_fr_adj(color, "f")) + "."  # agrees with "la forme"
        case F.ColorCheck(kind, pos, color):
            return (f"{_cap(_fr_def(kind))} {_FR_POS[pos]} est-{_fr_pron(kind)} "
                    f"{_fr_adj(color, _FR_N[kind][0])} ?")
        case F.KindQ(pos):
            return f"Quelle forme se trouve {_FR_POS[pos]} ?"
        case F.KindA(kind):
            return _cap(_fr_indef(kind)) + "."
        case F.WhereQ(kind, color):
            return f"Où est {_fr_def(kind)} {_fr_adj(color, _FR_N[kind][0])} ?"
        case F.WhereA(pos):
            return _cap(_FR_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return (f"{_cap(_fr_def(kind))} {_fr_adj(color, _FR_N[kind][0])} est-{_fr_pron(kind)} "
                    f"{_FR_POS[pos]} ?")
        case F.YesNo(value):
            return "Oui." if value else "Non."
        case F.WhichPresentQ():
            return "Laquelle des formes suivantes se trouve dans l'image ?"
        case F.Hint():
            return "L'image montre des formes simples sur un fond blanc."
        case F.Describe():
            return _describe("fr")
        case F.ColorOpt(color):
            return _fr_adj(color, "m")
        case F.KindOpt(kind):
            return _FR_N[kind][1]
        case F.PosOpt(pos):
            return _FR_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return f"{_FR_N[kind][1]} {_fr_adj(color, _FR_N[kind][0])}"
    raise TypeError(f"no French realization for {f!r}")


# ----------------------------------------------------------------------------------------- Italian
_IT_N = {"circle": ("m", "cerchio", "cerchi"), "square": ("m", "quadrato", "quadrati"),
         "triangle": ("m", "triangolo", "triangoli"), "star": ("f", "stella", "stelle"),
         "heart": ("m", "cuore", "cuori"), None: ("f", "forma", "forme")}
_IT_ADJ = {"red": ("rosso", "rossa", "rossi", "rosse"), "green": ("verde", "verde", "verdi", "verdi"),
           "blue": ("blu", "blu", "blu", "blu"), "yellow": ("giallo", "gialla", "gialli", "gialle"),
           "purple": ("viola", "viola", "viola", "viola"),
           "small": ("piccolo", "piccola", "piccoli", "piccole"), "large": ("grande", "grande", "grandi", "grandi")}
_IT_POS = {"left": "a sinistra", "right": "a destra", "top": "in alto", "bottom": "in basso", "center": "al centro"}
_IT_NUM = ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove", "dieci")


def _it_adj(a: str, g: str, pl: bool = False) -> str:
    return _IT_ADJ[a][(2 if pl else 0) + (1 if g == "f" else 0)]


def _it_article(g: str, next_word: str, definite: bool) -> str:
    vowel = next_word[0] in "aeiou"
    impure = next_word[:2] in ("gn", "ps") or next_word[0] in "zx" or (
        next_word[0] == "s" and next_word[1:2] not in tuple("aeiou"))
    if definite:
        if vowel:
            return "l'"
        return ("la " if g == "f" else ("lo " if impure else "il "))
    if g == "f":
        return "un'" if vowel else "una "
    return "uno " if impure else "un "


def _it_indef(kind: str | None, color: str | None = None, size: str | None = None) -> str:
    """Indefinite NP: size before the noun, colour after ("un grande cerchio rosso")."""
    g, sg, _ = _IT_N[kind]
    head = (f"{_it_adj(size, g)} " if size else "") + sg + (f" {_it_adj(color, g)}" if color else "")
    return _it_article(g, head, definite=False) + head


def _it_def(kind: str, color: str | None = None) -> str:
    g, sg, _ = _IT_N[kind]
    head = sg + (f" {_it_adj(color, g)}" if color else "")
    return _it_article(g, head, definite=True) + head


def _it_count(n: int, kind: str | None) -> str:
    return _it_indef(kind) if n == 1 else f"{_IT_NUM[n]} {_IT_N[kind][2]}"


def _it(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_it_indef(o.kind, o.color, o.size)} {_IT_POS[o.pos]}" for o in objects]
            there = "c'è" if len(objects) == 1 else "ci sono"
            return f"Nell'immagine {there} {_it_count(len(objects), None)}: {_join(parts, 'e')}."
        case F.Exist(kind, color):
            return f"C'è {_it_indef(kind, color)} nell'immagine?"
        case F.CountQ(kind):
            how_many = "Quante" if _IT_N[kind][0] == "f" else "Quanti"
            return f"{how_many} {_IT_N[kind][2]} ci sono nell'immagine?"
        case F.CountA(n, kind):
            return _cap(_it_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            there = "C'è" if n == 1 else "Ci sono"
            return f"{there} esattamente {_it_count(n, kind)} nell'immagine?"
        case F.ColorQ(pos):
            return f"Di che colore è la forma {_IT_POS[pos]}?"
        case F.ColorA(color):
            return _cap(_it_adj(color, "f")) + "."  # agrees with "la forma"
        case F.ColorCheck(kind, pos, color):
            return f"{_cap(_it_def(kind))} {_IT_POS[pos]} è {_it_adj(color, _IT_N[kind][0])}?"
        case F.KindQ(pos):
            return f"Quale forma c'è {_IT_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_it_indef(kind)) + "."
        case F.WhereQ(kind, color):
            return f"Dov'è {_it_def(kind, color)}?"
        case F.WhereA(pos):
            return _cap(_IT_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"{_cap(_it_def(kind, color))} è {_IT_POS[pos]}?"
        case F.YesNo(value):
            return "Sì." if value else "No."
        case F.WhichPresentQ():
            return "Quale delle seguenti forme è presente nell'immagine?"
        case F.Hint():
            return "L'immagine mostra forme semplici su uno sfondo bianco."
        case F.Describe():
            return _describe("it")
        case F.ColorOpt(color):
            return _it_adj(color, "m")
        case F.KindOpt(kind):
            return _IT_N[kind][1]
        case F.PosOpt(pos):
            return _IT_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return f"{_IT_N[kind][1]} {_it_adj(color, _IT_N[kind][0])}"
    raise TypeError(f"no Italian realization for {f!r}")


# ----------------------------------------------------------------------------------------- Spanish
_ES_N = {"circle": ("m", "círculo", "círculos"), "square": ("m", "cuadrado", "cuadrados"),
         "triangle": ("m", "triángulo", "triángulos"), "star": ("f", "estrella", "estrellas"),
         "heart": ("m", "corazón", "corazones"), None: ("f", "figura", "figuras")}
_ES_ADJ = {"red": ("rojo", "roja", "rojos", "rojas"), "green": ("verde", "verde", "verdes", "verdes"),
           "blue": ("azul", "azul", "azules", "azules"),
           "yellow": ("amarillo", "amarilla", "amarillos", "amarillas"),
           "purple": ("morado", "morada", "morados", "moradas"),
           "small": ("pequeño", "pequeña", "pequeños", "pequeñas"),
           "large": ("grande", "grande", "grandes", "grandes")}
# Adverbial ("está a la izquierda") and identifying ("el círculo de la izquierda") position phrases.
_ES_POS = {"left": "a la izquierda", "right": "a la derecha", "top": "arriba", "bottom": "abajo",
           "center": "en el centro"}
_ES_POS_ID = {"left": "de la izquierda", "right": "de la derecha", "top": "de arriba", "bottom": "de abajo",
              "center": "del centro"}
_ES_NUM = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez")


def _es_adj(a: str, g: str, pl: bool = False) -> str:
    return _ES_ADJ[a][(2 if pl else 0) + (1 if g == "f" else 0)]


def _es_indef(kind: str | None, color: str | None = None, size: str | None = None) -> str:
    """Indefinite NP, adjectives after the noun ("un círculo rojo grande")."""
    g, sg, _ = _ES_N[kind]
    words = ["una" if g == "f" else "un", sg] + [_es_adj(a, g) for a in (color, size) if a]
    return " ".join(words)


def _es_def(kind: str, color: str | None = None) -> str:
    g, sg, _ = _ES_N[kind]
    return " ".join(["la" if g == "f" else "el", sg] + ([_es_adj(color, g)] if color else []))


def _es_count(n: int, kind: str | None) -> str:
    return _es_indef(kind) if n == 1 else f"{_ES_NUM[n]} {_ES_N[kind][2]}"


def _es(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_es_indef(o.kind, o.color, o.size)} {_ES_POS[o.pos]}" for o in objects]
            return f"En la imagen hay {_es_count(len(objects), None)}: {_join(parts, 'y')}."
        case F.Exist(kind, color):
            return f"¿Hay {_es_indef(kind, color)} en la imagen?"
        case F.CountQ(kind):
            how_many = "Cuántas" if _ES_N[kind][0] == "f" else "Cuántos"
            return f"¿{how_many} {_ES_N[kind][2]} hay en la imagen?"
        case F.CountA(n, kind):
            return _cap(_es_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            return f"¿Hay exactamente {_es_count(n, kind)} en la imagen?"
        case F.ColorQ(pos):
            return f"¿De qué color es la figura {_ES_POS_ID[pos]}?"
        case F.ColorA(color):
            return _cap(_es_adj(color, "f")) + "."  # agrees with "la figura"
        case F.ColorCheck(kind, pos, color):
            return f"¿{_cap(_es_def(kind))} {_ES_POS_ID[pos]} es {_es_adj(color, _ES_N[kind][0])}?"
        case F.KindQ(pos):
            return f"¿Qué figura hay {_ES_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_es_indef(kind)) + "."
        case F.WhereQ(kind, color):
            return f"¿Dónde está {_es_def(kind, color)}?"
        case F.WhereA(pos):
            return _cap(_ES_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"¿Está {_es_def(kind, color)} {_ES_POS[pos]}?"
        case F.YesNo(value):
            return "Sí." if value else "No."
        case F.WhichPresentQ():
            return "¿Cuál de las siguientes figuras está en la imagen?"
        case F.Hint():
            return "La imagen muestra figuras simples sobre un fondo blanco."
        case F.Describe():
            return _describe("es")
        case F.ColorOpt(color):
            return _es_adj(color, "m")
        case F.KindOpt(kind):
            return _ES_N[kind][1]
        case F.PosOpt(pos):
            return _ES_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return f"{_ES_N[kind][1]} {_es_adj(color, _ES_N[kind][0])}"
    raise TypeError(f"no Spanish realization for {f!r}")


# ----------------------------------------------------------------------------------------- Russian
# noun: (gender, nom sg, gen sg, nom pl, gen pl)
_RU_N = {"circle": ("m", "круг", "круга", "круги", "кругов"),
         "square": ("m", "квадрат", "квадрата", "квадраты", "квадратов"),
         "triangle": ("m", "треугольник", "треугольника", "треугольники", "треугольников"),
         "star": ("f", "звезда", "звезды", "звёзды", "звёзд"),
         "heart": ("n", "сердце", "сердца", "сердца", "сердец"),
         None: ("f", "фигура", "фигуры", "фигуры", "фигур")}
# adjective: nom sg m / f / n, nom pl, gen pl
_RU_ADJ = {"red": ("красный", "красная", "красное", "красные", "красных"),
           "green": ("зелёный", "зелёная", "зелёное", "зелёные", "зелёных"),
           "blue": ("синий", "синяя", "синее", "синие", "синих"),
           "yellow": ("жёлтый", "жёлтая", "жёлтое", "жёлтые", "жёлтых"),
           "purple": ("фиолетовый", "фиолетовая", "фиолетовое", "фиолетовые", "фиолетовых"),
           "small": ("маленький", "маленькая", "маленькое", "маленькие", "маленьких"),
           "large": ("большой", "большая", "большое", "большие", "больших")}
_RU_G = {"m": 0, "f": 1, "n": 2}
_RU_POS = {"left": "слева", "right": "справа", "top": "сверху", "bottom": "снизу", "center": "в центре"}
_RU_ONE = {"m": "один", "f": "одна", "n": "одно"}
_RU_NUM = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять", "десять")


def _slavic_plural_class(n: int) -> str:
    """Russian/Croatian numeral government: "one" (1, 21 ...), "few" (2-4, 22-24 ...), "many"."""
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _ru_np(kind: str | None, adjs: list[str]) -> str:
    g, nom = _RU_N[kind][0], _RU_N[kind][1]
    return " ".join([_RU_ADJ[a][_RU_G[g]] for a in adjs] + [nom])


def _ru_count(n: int, kind: str | None, adjs: tuple[str, ...] = ()) -> str:
    """Numeral phrase: 1 + nom sg; 2-4 + gen sg noun (adjective gen pl, nom pl for feminines);
    5+ + gen pl."""
    g, nom_sg, gen_sg, _, gen_pl = _RU_N[kind]
    cls = _slavic_plural_class(n)
    if cls == "one":
        return " ".join([_RU_ONE[g]] + [_RU_ADJ[a][_RU_G[g]] for a in adjs] + [nom_sg])
    if cls == "few":
        num = "две" if n == 2 and g == "f" else _RU_NUM[n]
        return " ".join([num] + [_RU_ADJ[a][3 if g == "f" else 4] for a in adjs] + [gen_sg])
    return " ".join([_RU_NUM[n]] + [_RU_ADJ[a][4] for a in adjs] + [gen_pl])


def _ru(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_ru_np(o.kind, [o.size, o.color])} {_RU_POS[o.pos]}" for o in objects]
            return f"На изображении {_ru_count(len(objects), None)}: {_join(parts, 'и')}."
        case F.Exist(kind, color):
            return f"Есть ли на изображении {_ru_np(kind, [color] if color else [])}?"
        case F.CountQ(kind):
            return f"Сколько {_RU_N[kind][4]} на изображении?"
        case F.CountA(n, kind):
            return _cap(_ru_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            return f"На изображении ровно {_ru_count(n, kind)}?"
        case F.ColorQ(pos):
            return f"Какого цвета фигура {_RU_POS[pos]}?"
        case F.ColorA(color):
            return _cap(_RU_ADJ[color][1]) + "."  # agrees with "фигура" (feminine)
        case F.ColorCheck(kind, pos, color):
            g = _RU_N[kind][0]
            return f"{_cap(_RU_N[kind][1])} {_RU_POS[pos]} {_RU_ADJ[color][_RU_G[g]]}?"
        case F.KindQ(pos):
            return f"Какая фигура {_RU_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_RU_N[kind][1]) + "."
        case F.WhereQ(kind, color):
            return f"Где находится {_ru_np(kind, [color])}?"
        case F.WhereA(pos):
            return _cap(_RU_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"{_cap(_ru_np(kind, [color]))} находится {_RU_POS[pos]}?"
        case F.YesNo(value):
            return "Да." if value else "Нет."
        case F.WhichPresentQ():
            return "Какая из следующих фигур есть на изображении?"
        case F.Hint():
            return "На изображении простые фигуры на белом фоне."
        case F.Describe():
            return _describe("ru")
        case F.ColorOpt(color):
            return _RU_ADJ[color][0]
        case F.KindOpt(kind):
            return _RU_N[kind][1]
        case F.PosOpt(pos):
            return _RU_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return _ru_np(kind, [color])
    raise TypeError(f"no Russian realization for {f!r}")


# ------------------------------------------------------------------------------------------- Czech
# noun: (gender, nom sg, nom pl, gen pl); masculines here are inanimate
_CS_N = {"circle": ("m", "kruh", "kruhy", "kruhů"), "square": ("m", "čtverec", "čtverce", "čtverců"),
         "triangle": ("m", "trojúhelník", "trojúhelníky", "trojúhelníků"),
         "star": ("f", "hvězda", "hvězdy", "hvězd"), "heart": ("n", "srdce", "srdce", "srdcí"),
         None: ("m", "tvar", "tvary", "tvarů")}
_CS_STEM = {"red": "červen", "green": "zelen", "blue": "modr", "yellow": "žlut", "purple": "fialov",
            "small": "mal", "large": "velk"}
# Hard adjective endings: nom sg, nom pl (masculine inanimate), gen pl.
_CS_SG = {"m": "ý", "f": "á", "n": "é"}
_CS_PL = {"m": "é", "f": "é", "n": "á"}
_CS_POS = {"left": "vlevo", "right": "vpravo", "top": "nahoře", "bottom": "dole", "center": "uprostřed"}
_CS_ONE = {"m": "jeden", "f": "jedna", "n": "jedno"}
_CS_NUM = ("nula", "jeden", "dva", "tři", "čtyři", "pět", "šest", "sedm", "osm", "devět", "deset")


def _cs_np(kind: str | None, adjs: list[str]) -> str:
    g, sg = _CS_N[kind][0], _CS_N[kind][1]
    return " ".join([_CS_STEM[a] + _CS_SG[g] for a in adjs] + [sg])


def _cs_count(n: int, kind: str | None, adjs: tuple[str, ...] = ()) -> str:
    """1 + nom sg; 2-4 + nom pl (dva/dvě by gender); 5+ + gen pl."""
    g, sg, pl, gen_pl = _CS_N[kind]
    if n == 1:
        return " ".join([_CS_ONE[g]] + [_CS_STEM[a] + _CS_SG[g] for a in adjs] + [sg])
    if 2 <= n <= 4:
        num = ("dva" if g == "m" else "dvě") if n == 2 else _CS_NUM[n]
        return " ".join([num] + [_CS_STEM[a] + _CS_PL[g] for a in adjs] + [pl])
    return " ".join([_CS_NUM[n]] + [_CS_STEM[a] + "ých" for a in adjs] + [gen_pl])


def _cs_be(n: int) -> str:
    # Subjects with 2-4 take plural "jsou"; one and five-plus (a genitive phrase) take "je".
    return "jsou" if 2 <= n <= 4 else "je"


def _cs(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_cs_np(o.kind, [o.size, o.color])} {_CS_POS[o.pos]}" for o in objects]
            n = len(objects)
            return f"Na obrázku {_cs_be(n)} {_cs_count(n, None)}: {_join(parts, 'a')}."
        case F.Exist(kind, color):
            return f"Je na obrázku {_cs_np(kind, [color] if color else [])}?"
        case F.CountQ(kind):
            return f"Kolik {_CS_N[kind][3]} je na obrázku?"
        case F.CountA(n, kind):
            return _cap(_cs_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            return f"{_cap(_cs_be(n))} na obrázku právě {_cs_count(n, kind)}?"
        case F.ColorQ(pos):
            return f"Jakou barvu má tvar {_CS_POS[pos]}?"
        case F.ColorA(color):
            return _cap(_CS_STEM[color]) + "ou."  # accusative feminine, agreeing with "barvu"
        case F.ColorCheck(kind, pos, color):
            g = _CS_N[kind][0]
            return f"Je {_CS_N[kind][1]} {_CS_POS[pos]} {_CS_STEM[color] + _CS_SG[g]}?"
        case F.KindQ(pos):
            return f"Jaký tvar je {_CS_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_CS_N[kind][1]) + "."
        case F.WhereQ(kind, color):
            return f"Kde je {_cs_np(kind, [color])}?"
        case F.WhereA(pos):
            return _cap(_CS_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"Je {_cs_np(kind, [color])} {_CS_POS[pos]}?"
        case F.YesNo(value):
            return "Ano." if value else "Ne."
        case F.WhichPresentQ():
            return "Který z následujících tvarů je na obrázku?"
        case F.Hint():
            return "Obrázek ukazuje jednoduché tvary na bílém pozadí."
        case F.Describe():
            return _describe("cs")
        case F.ColorOpt(color):
            return _CS_STEM[color] + "ý"
        case F.KindOpt(kind):
            return _CS_N[kind][1]
        case F.PosOpt(pos):
            return _CS_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return _cs_np(kind, [color])
    raise TypeError(f"no Czech realization for {f!r}")


# ---------------------------------------------------------------------------------------- Croatian
# noun: (gender, nom sg, gen sg, nom pl, gen pl)
_HR_N = {"circle": ("m", "krug", "kruga", "krugovi", "krugova"),
         "square": ("m", "kvadrat", "kvadrata", "kvadrati", "kvadrata"),
         "triangle": ("m", "trokut", "trokuta", "trokuti", "trokuta"),
         "star": ("f", "zvijezda", "zvijezde", "zvijezde", "zvijezda"),
         "heart": ("n", "srce", "srca", "srca", "srca"),
         None: ("m", "oblik", "oblika", "oblici", "oblika")}
# (definite/long stem, short masculine form); endings are regular.
_HR_ADJ = {"red": ("crven", "crven"), "green": ("zelen", "zelen"), "blue": ("plav", "plav"),
           "yellow": ("žut", "žut"), "purple": ("ljubičast", "ljubičast"),
           "small": ("mal", "malen"), "large": ("velik", "velik")}
_HR_LONG = {"m": "i", "f": "a", "n": "o"}
_HR_PAUCAL = {"m": "a", "f": "e", "n": "a"}
_HR_POS = {"left": "lijevo", "right": "desno", "top": "gore", "bottom": "dolje", "center": "u sredini"}
_HR_ONE = {"m": "jedan", "f": "jedna", "n": "jedno"}
_HR_NUM = ("nula", "jedan", "dva", "tri", "četiri", "pet", "šest", "sedam", "osam", "devet", "deset")


def _hr_np(kind: str | None, adjs: list[str]) -> str:
    g, sg = _HR_N[kind][0], _HR_N[kind][1]
    return " ".join([_HR_ADJ[a][0] + _HR_LONG[g] for a in adjs] + [sg])


def _hr_short(color: str, g: str) -> str:
    """Predicative (short) form: "crven", "crvena", "crveno"."""
    return _HR_ADJ[color][1] if g == "m" else _HR_ADJ[color][0] + _HR_LONG[g]


def _hr_count(n: int, kind: str | None, adjs: tuple[str, ...] = ()) -> str:
    """1 + nom sg; 2-4 + paucal (masc/neut gen sg form, fem nom pl); 5+ + gen pl."""
    g, sg, gen_sg, nom_pl, gen_pl = _HR_N[kind]
    cls = _slavic_plural_class(n)
    if cls == "one":
        return " ".join([_HR_ONE[g]] + [_HR_ADJ[a][0] + _HR_LONG[g] for a in adjs] + [sg])
    if cls == "few":
        num = "dvije" if n == 2 and g == "f" else _HR_NUM[n]
        noun = nom_pl if g == "f" else gen_sg
        return " ".join([num] + [_HR_ADJ[a][0] + _HR_PAUCAL[g] for a in adjs] + [noun])
    return " ".join([_HR_NUM[n]] + [_HR_ADJ[a][0] + "ih" for a in adjs] + [gen_pl])


def _hr_be(n: int, question: bool = False) -> str:
    if _slavic_plural_class(n) == "few":
        return "jesu li" if question else "su"
    return "je li" if question else "je"


def _hr(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_hr_np(o.kind, [o.size, o.color])} {_HR_POS[o.pos]}" for o in objects]
            n = len(objects)
            return f"Na slici {_hr_be(n)} {_hr_count(n, None)}: {_join(parts, 'i')}."
        case F.Exist(kind, color):
            return f"Je li na slici {_hr_np(kind, [color] if color else [])}?"
        case F.CountQ(kind):
            return f"Koliko je {_HR_N[kind][4]} na slici?"
        case F.CountA(n, kind):
            return _cap(_hr_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            return f"{_cap(_hr_be(n, question=True))} na slici točno {_hr_count(n, kind)}?"
        case F.ColorQ(pos):
            return f"Koje je boje oblik {_HR_POS[pos]}?"
        case F.ColorA(color):
            return _cap(_HR_ADJ[color][0]) + "e."  # genitive feminine, agreeing with "(koje) boje"
        case F.ColorCheck(kind, pos, color):
            g = _HR_N[kind][0]
            return f"Je li {_HR_N[kind][1]} {_HR_POS[pos]} {_hr_short(color, g)}?"
        case F.KindQ(pos):
            return f"Koji je oblik {_HR_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_HR_N[kind][1]) + "."
        case F.WhereQ(kind, color):
            return f"Gdje je {_hr_np(kind, [color])}?"
        case F.WhereA(pos):
            return _cap(_HR_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"Je li {_hr_np(kind, [color])} {_HR_POS[pos]}?"
        case F.YesNo(value):
            return "Da." if value else "Ne."
        case F.WhichPresentQ():
            return "Koji se od sljedećih oblika nalazi na slici?"
        case F.Hint():
            return "Slika prikazuje jednostavne oblike na bijeloj pozadini."
        case F.Describe():
            return _describe("hr")
        case F.ColorOpt(color):
            return _HR_ADJ[color][0] + "i"
        case F.KindOpt(kind):
            return _HR_N[kind][1]
        case F.PosOpt(pos):
            return _HR_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return _hr_np(kind, [color])
    raise TypeError(f"no Croatian realization for {f!r}")


# ---------------------------------------------------------------------------------------- Romanian
# noun: (gender, sg, pl, definite sg); neuters agree like masculines in the singular and like
# feminines in the plural.
_RO_N = {"circle": ("n", "cerc", "cercuri", "cercul"), "square": ("n", "pătrat", "pătrate", "pătratul"),
         "triangle": ("n", "triunghi", "triunghiuri", "triunghiul"), "star": ("f", "stea", "stele", "steaua"),
         "heart": ("f", "inimă", "inimi", "inima"), None: ("f", "formă", "forme", "forma")}
# (m sg, f sg, m pl, f pl)
_RO_ADJ = {"red": ("roșu", "roșie", "roșii", "roșii"), "green": ("verde", "verde", "verzi", "verzi"),
           "blue": ("albastru", "albastră", "albaștri", "albastre"),
           "yellow": ("galben", "galbenă", "galbeni", "galbene"), "purple": ("mov", "mov", "mov", "mov"),
           "small": ("mic", "mică", "mici", "mici"), "large": ("mare", "mare", "mari", "mari")}
_RO_POS = {"left": "în stânga", "right": "în dreapta", "top": "sus", "bottom": "jos", "center": "în centru"}
_RO_POS_ID = {"left": "din stânga", "right": "din dreapta", "top": "de sus", "bottom": "de jos",
              "center": "din centru"}
_RO_NUM = ("zero", "unu", "doi", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă", "zece")


def _ro_adj(a: str, g: str, pl: bool = False) -> str:
    if g == "n":
        g = "f" if pl else "m"
    return _RO_ADJ[a][(2 if pl else 0) + (1 if g == "f" else 0)]


def _ro_indef(kind: str | None, adjs: list[str]) -> str:
    g, sg = _RO_N[kind][0], _RO_N[kind][1]
    return " ".join(["o" if g == "f" else "un", sg] + [_ro_adj(a, g) for a in adjs])


def _ro_def(kind: str, adjs: list[str]) -> str:
    g = _RO_N[kind][0]
    return " ".join([_RO_N[kind][3]] + [_ro_adj(a, g) for a in adjs])


def _ro_count(n: int, kind: str | None) -> str:
    g, _, pl, _ = _RO_N[kind]
    if n == 1:
        return _ro_indef(kind, [])
    num = ("doi" if g == "m" else "două") if n == 2 else _RO_NUM[n]
    return f"{num} {pl}"


def _ro(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_ro_indef(o.kind, [o.color, o.size])} {_RO_POS[o.pos]}" for o in objects]
            n = len(objects)
            verb = "este" if n == 1 else "sunt"
            return f"În imagine {verb} {_ro_count(n, None)}: {_join(parts, 'și')}."
        case F.Exist(kind, color):
            return f"Există {_ro_indef(kind, [color] if color else [])} în imagine?"
        case F.CountQ(kind):
            how_many = "Câți" if _RO_N[kind][0] == "m" else "Câte"
            return f"{how_many} {_RO_N[kind][2]} sunt în imagine?"
        case F.CountA(n, kind):
            return _cap(_ro_count(n, kind)) + "."
        case F.CountCheck(n, kind):
            verb = "Există" if n == 1 else "Sunt"
            return f"{verb} exact {_ro_count(n, kind)} în imagine?"
        case F.ColorQ(pos):
            return f"Ce culoare are forma {_RO_POS_ID[pos]}?"
        case F.ColorA(color):
            return _cap(_ro_adj(color, "f")) + "."  # agrees with "culoare" (feminine)
        case F.ColorCheck(kind, pos, color):
            return f"{_cap(_RO_N[kind][3])} {_RO_POS_ID[pos]} este {_ro_adj(color, _RO_N[kind][0])}?"
        case F.KindQ(pos):
            return f"Ce formă este {_RO_POS[pos]}?"
        case F.KindA(kind):
            return _cap(_ro_indef(kind, [])) + "."
        case F.WhereQ(kind, color):
            return f"Unde este {_ro_def(kind, [color])}?"
        case F.WhereA(pos):
            return _cap(_RO_POS[pos]) + "."
        case F.WhereCheck(kind, color, pos):
            return f"{_cap(_ro_def(kind, [color]))} este {_RO_POS[pos]}?"
        case F.YesNo(value):
            return "Da." if value else "Nu."
        case F.WhichPresentQ():
            return "Care dintre următoarele forme se află în imagine?"
        case F.Hint():
            return "Imaginea arată forme simple pe un fundal alb."
        case F.Describe():
            return _describe("ro")
        case F.ColorOpt(color):
            return _RO_ADJ[color][0]
        case F.KindOpt(kind):
            return _RO_N[kind][1]
        case F.PosOpt(pos):
            return _RO_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return f"{_RO_N[kind][1]} {_ro_adj(color, _RO_N[kind][0])}"
    raise TypeError(f"no Romanian realization for {f!r}")


# ----------------------------------------------------------------------------------------- Chinese
# noun: (word, measure word)
_ZH_N = {"circle": ("圆形", "个"), "square": ("正方形", "个"), "triangle": ("三角形", "个"),
         "star": ("星星", "颗"), "heart": ("心形", "个"), None: ("图形", "个")}
_ZH_COLOR = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色"}
_ZH_SIZE = {"small": "小", "large": "大"}
_ZH_POS = {"left": "左边", "right": "右边", "top": "上方", "bottom": "下方", "center": "中间"}
_ZH_NUM = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十")


def _zh_count(n: int, kind: str | None) -> str:
    word, mw = _ZH_N[kind]
    return f"{_ZH_NUM[n]}{mw}{word}"


def _zh_thing(kind: str, color: str | None, size: str | None = None) -> str:
    """"红色的大圆形": colour with 的, then the size morpheme bound to the noun."""
    word = _ZH_N[kind][0]
    return (f"{_ZH_COLOR[color]}的" if color else "") + (_ZH_SIZE[size] if size else "") + word


def _zh(f: F.Frame) -> str:
    match f:
        case F.Caption(objects):
            parts = [f"{_ZH_POS[o.pos]}是{_ZH_NUM[1]}{_ZH_N[o.kind][1]}{_zh_thing(o.kind, o.color, o.size)}"
                     for o in objects]
            return f"图片中有{_zh_count(len(objects), None)}：{'，'.join(parts)}。"
        case F.Exist(kind, color):
            return f"图片中有{_zh_thing(kind, color)}吗？"
        case F.CountQ(kind):
            word, mw = _ZH_N[kind]
            return f"图片中有几{mw}{word}？"
        case F.CountA(n, kind):
            return f"{_zh_count(n, kind)}。"
        case F.CountCheck(n, kind):
            return f"图片中正好有{_zh_count(n, kind)}吗？"
        case F.ColorQ(pos):
            return f"{_ZH_POS[pos]}的图形是什么颜色？"
        case F.ColorA(color):
            return f"{_ZH_COLOR[color]}。"
        case F.ColorCheck(kind, pos, color):
            return f"{_ZH_POS[pos]}的{_ZH_N[kind][0]}是{_ZH_COLOR[color]}的吗？"
        case F.KindQ(pos):
            return f"{_ZH_POS[pos]}是什么图形？"
        case F.KindA(kind):
            return f"{_ZH_N[kind][0]}。"
        case F.WhereQ(kind, color):
            return f"{_zh_thing(kind, color)}在哪里？"
        case F.WhereA(pos):
            return f"在{_ZH_POS[pos]}。"
        case F.WhereCheck(kind, color, pos):
            return f"{_zh_thing(kind, color)}在{_ZH_POS[pos]}吗？"
        case F.YesNo(value):
            return "是。" if value else "否。"
        case F.WhichPresentQ():
            return "以下哪个图形出现在图片中？"
        case F.Hint():
            return "图片中是白色背景上的简单图形。"
        case F.Describe():
            return _describe("zh")
        case F.ColorOpt(color):
            return _ZH_COLOR[color]
        case F.KindOpt(kind):
            return _ZH_N[kind][0]
        case F.PosOpt(pos):
            return _ZH_POS[pos]
        case F.CountOpt(n):
            return str(n)
        case F.ThingOpt(kind, color):
            return f"{_ZH_COLOR[color]}{_ZH_N[kind][0]}"
    raise TypeError(f"no Chinese realization for {f!r}")


REALIZERS: dict[str, Callable[[F.Frame], str]] = {
    "en": _en, "zh": _zh, "it": _it, "fr": _fr, "de": _de, "es": _es, "ru": _ru, "ro": _ro, "cs": _cs, "hr": _hr,
}
"""One realizer per registry language."""


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
