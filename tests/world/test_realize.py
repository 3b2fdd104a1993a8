"""Golden sentences: a handful of frames realized in every language, checked word for word."""

from __future__ import annotations

import pytest

from lrm_llava.errors import UserError
from lrm_llava.languages import ALL_CODES
from lrm_llava.world import frames as F
from lrm_llava.world.realize import REALIZERS, realize
from lrm_llava.world.scene import COLORS, KINDS, POSITIONS, Obj

_ru_count, _cs_count, _hr_count = (REALIZERS[code].count for code in ("ru", "cs", "hr"))

SCENE = (Obj("circle", "red", "large", "left"), Obj("star", "blue", "small", "top"),
         Obj("heart", "yellow", "small", "center"))

FRAMES = {
    "caption3": F.Caption(SCENE),
    "caption1": F.Caption((Obj("square", "green", "large", "bottom"),)),
    "exist": F.Exist("star", "green"),
    "count_q": F.CountQ("circle"),
    "two_stars": F.CountA(2, "star"),
    "five_hearts": F.CountA(5, "heart"),
    "exactly_one": F.CountCheck(1, "star"),
    "color_q": F.ColorQ("right"),
    "color_a": F.ColorA("green"),
    "color_check": F.ColorCheck("heart", "top", "purple"),
    "kind_a": F.KindA("star"),
    "where_q": F.WhereQ("star", "red"),
    "where_a": F.WhereA("bottom"),
}

GOLDEN = {
    "en": [
        "There are three shapes: a large red circle on the left, a small blue star at the top and a small yellow "
        "heart in the center.",
        "There is one shape: a large green square at the bottom.",
        "Is there a green star in the image?",
        "How many circles are there in the image?",
        "Two stars.", "Five hearts.",
        "Is there exactly one star in the image?",
        "What color is the shape on the right?", "Green.",
        "Is the heart at the top purple?",
        "A star.", "Where is the red star?", "At the bottom.",
    ],
    "zh": [
        "图片中有三个图形：左边是一个红色的大圆形，上方是一颗蓝色的小星星，中间是一个黄色的小心形。",
        "图片中有一个图形：下方是一个绿色的大正方形。",
        "图片中有绿色的星星吗？",
        "图片中有几个圆形？",
        "两颗星星。", "五个心形。",
        "图片中正好有一颗星星吗？",
        "右边的图形是什么颜色？", "绿色。",
        "上方的心形是紫色的吗？",
        "星星。", "红色的星星在哪里？", "在下方。",
    ],
    "it": [
        "Nell'immagine ci sono tre forme: un grande cerchio rosso a sinistra, una piccola stella blu in alto e un "
        "piccolo cuore giallo al centro.",
        "Nell'immagine c'è una forma: un grande quadrato verde in basso.",
        "C'è una stella verde nell'immagine?",
        "Quanti cerchi ci sono nell'immagine?",
        "Due stelle.", "Cinque cuori.",
        "C'è esattamente una stella nell'immagine?",
        "Di che colore è la forma a destra?", "Verde.",
        "Il cuore in alto è viola?",
        "Una stella.", "Dov'è la stella rossa?", "In basso.",
    ],
    "fr": [
        "L'image contient trois formes : un grand cercle rouge à gauche, une petite étoile bleue en haut et un "
        "petit cœur jaune au centre.",
        "L'image contient une forme : un grand carré vert en bas.",
        "Y a-t-il une étoile verte dans l'image ?",
        "Combien de cercles y a-t-il dans l'image ?",
        "Deux étoiles.", "Cinq cœurs.",
        "Y a-t-il exactement une étoile dans l'image ?",
        "De quelle couleur est la forme à droite ?", "Verte.",
        "Le cœur en haut est-il violet ?",
        "Une étoile.", "Où est l'étoile rouge ?", "En bas.",
    ],
    "de": [
        "Auf dem Bild sind drei Formen zu sehen: ein großer roter Kreis links, ein kleiner blauer Stern oben und "
        "ein kleines gelbes Herz in der Mitte.",
        "Auf dem Bild ist eine Form zu sehen: ein großes grünes Quadrat unten.",
        "Gibt es auf dem Bild einen grünen Stern?",
        "Wie viele Kreise sind auf dem Bild?",
        "Zwei Sterne.", "Fünf Herzen.",
        "Ist auf dem Bild genau ein Stern?",
        "Welche Farbe hat die Form rechts?", "Grün.",
        "Ist das Herz oben violett?",
        "Ein Stern.", "Wo ist der rote Stern?", "Unten.",
    ],
    "es": [
        "En la imagen hay tres figuras: un círculo rojo grande a la izquierda, una estrella azul pequeña arriba y "
        "un corazón amarillo pequeño en el centro.",
        "En la imagen hay una figura: un cuadrado verde grande abajo.",
        "¿Hay una estrella verde en la imagen?",
        "¿Cuántos círculos hay en la imagen?",
        "Dos estrellas.", "Cinco corazones.",
        "¿Hay exactamente una estrella en la imagen?",
        "¿De qué color es la figura de la derecha?", "Verde.",
        "¿El corazón de arriba es morado?",
        "Una estrella.", "¿Dónde está la estrella roja?", "Abajo.",
    ],
    "ru": [
        "На изображении три фигуры: большой красный круг слева, маленькая синяя звезда сверху и маленькое жёлтое "
        "сердце в центре.",
        "На изображении одна фигура: большой зелёный квадрат снизу.",
        "Есть ли на изображении зелёная звезда?",
        "Сколько кругов на изображении?",
        "Две звезды.", "Пять сердец.",
        "На изображении ровно одна звезда?",
        "Какого цвета фигура справа?", "Зелёная.",
        "Сердце сверху фиолетовое?",
        "Звезда.", "Где находится красная звезда?", "Снизу.",
    ],
    "ro": [
        "În imagine sunt trei forme: un cerc roșu mare în stânga, o stea albastră mică sus și o inimă galbenă mică "
        "în centru.",
        "În imagine este o formă: un pătrat verde mare jos.",
        "Există o stea verde în imagine?",
        "Câte cercuri sunt în imagine?",
        "Două stele.", "Cinci inimi.",
        "Există exact o stea în imagine?",
        "Ce culoare are forma din dreapta?", "Verde.",
        "Inima de sus este mov?",
        "O stea.", "Unde este steaua roșie?", "Jos.",
    ],
    "cs": [
        "Na obrázku jsou tři tvary: velký červený kruh vlevo, malá modrá hvězda nahoře a malé žluté srdce "
        "uprostřed.",
        "Na obrázku je jeden tvar: velký zelený čtverec dole.",
        "Je na obrázku zelená hvězda?",
        "Kolik kruhů je na obrázku?",
        "Dvě hvězdy.", "Pět srdcí.",
        "Je na obrázku právě jedna hvězda?",
        "Jakou barvu má tvar vpravo?", "Zelenou.",
        "Je srdce nahoře fialové?",
        "Hvězda.", "Kde je červená hvězda?", "Dole.",
    ],
    "hr": [
        "Na slici su tri oblika: veliki crveni krug lijevo, mala plava zvijezda gore i malo žuto srce u sredini.",
        "Na slici je jedan oblik: veliki zeleni kvadrat dolje.",
        "Je li na slici zelena zvijezda?",
        "Koliko je krugova na slici?",
        "Dvije zvijezde.", "Pet srca.",
        "Je li na slici točno jedna zvijezda?",
        "Koje je boje oblik desno?", "Zelene.",
        "Je li srce gore ljubičasto?",
        "Zvijezda.", "Gdje je crvena zvijezda?", "Dolje.",
    ],
}


def test_every_language_has_a_realizer_and_golden_rows():
    assert set(REALIZERS) == set(ALL_CODES) == set(GOLDEN)


@pytest.mark.parametrize("lang", ALL_CODES)
def test_golden_sentences(lang):
    got = [realize(f, lang) for f in FRAMES.values()]
    for name, want, have in zip(FRAMES, GOLDEN[lang], got):
        assert have == want, f"{lang} {name}"


@pytest.mark.parametrize(("lang", "frame", "want"), [
    # German: article and adjective ending follow gender and case.
    ("de", F.Exist("circle", "red"), "Gibt es auf dem Bild einen roten Kreis?"),  # masculine accusative
    ("de", F.Exist("square", "red"), "Gibt es auf dem Bild ein rotes Quadrat?"),  # neuter accusative
    ("de", F.ThingOpt("circle", "red"), "roter Kreis"),  # strong nominative, no article
    ("de", F.KindA("heart"), "Ein Herz."),
    # Romance: gender of adjectives and interrogatives.
    ("it", F.CountQ("star"), "Quante stelle ci sono nell'immagine?"),
    ("es", F.CountQ("star"), "¿Cuántas estrellas hay en la imagen?"),
    ("fr", F.CountQ("star"), "Combien d'étoiles y a-t-il dans l'image ?"),
    ("fr", F.WhereCheck("star", "green", "left"), "L'étoile verte est-elle à gauche ?"),
    ("ro", F.ThingOpt("square", "blue"), "pătrat albastru"),  # neuter singular agrees like a masculine
    ("ro", F.CountA(3, "square"), "Trei pătrate."),
    ("ro", F.CountA(2, "circle"), "Două cercuri."),  # neuter plural takes the feminine numeral
    # Russian adjective gender in nominative.
    ("ru", F.Exist("heart", "blue"), "Есть ли на изображении синее сердце?"),
    ("ru", F.CountA(1, None), "Одна фигура."),
    # Croatian predicative short forms.
    ("hr", F.ColorCheck("circle", "left", "red"), "Je li krug lijevo crven?"),
    ("hr", F.CountCheck(3, "circle"), "Jesu li na slici točno tri kruga?"),
    ("cs", F.CountCheck(2, "star"), "Jsou na obrázku právě dvě hvězdy?"),
    # Chinese measure words.
    ("zh", F.CountQ("star"), "图片中有几颗星星？"),
    ("zh", F.CountA(2, "triangle"), "两个三角形。"),
    # Options are citation forms; digits are shared.
    ("ru", F.ColorOpt("blue"), "синий"),
    ("zh", F.CountOpt(3), "3"),
])
def test_agreement_cases(lang, frame, want):
    assert realize(frame, lang) == want


@pytest.mark.parametrize(("n", "kind", "ru", "cs", "hr"), [
    (1, "circle", "один красный круг", "jeden červený kruh", "jedan crveni krug"),
    (2, "circle", "два красных круга", "dva červené kruhy", "dva crvena kruga"),
    (5, "circle", "пять красных кругов", "pět červených kruhů", "pet crvenih krugova"),
    (2, "star", "две красные звезды", "dvě červené hvězdy", "dvije crvene zvijezde"),
    (5, "star", "пять красных звёзд", "pět červených hvězd", "pet crvenih zvijezda"),
    (1, "heart", "одно красное сердце", "jedno červené srdce", "jedno crveno srce"),
    (2, "heart", "два красных сердца", "dvě červená srdce", "dva crvena srca"),
    (5, "heart", "пять красных сердец", "pět červených srdcí", "pet crvenih srca"),
])
def test_slavic_numerals_govern_case_and_number(n, kind, ru, cs, hr):
    assert _ru_count(n, kind, ("red",)) == ru
    assert _cs_count(n, kind, ("red",)) == cs
    assert _hr_count(n, kind, ("red",)) == hr


def test_russian_plural_classes_beyond_ten_are_not_needed_but_rule_holds():
    from lrm_llava.world.realize import _slavic_plural_class

    assert [_slavic_plural_class(n) for n in (1, 2, 4, 5, 11, 12, 21, 22, 25)] == [
        "one", "few", "few", "many", "many", "many", "one", "few", "many"]


def test_all_frames_realize_in_all_languages_without_gaps():
    frames = [F.Caption((Obj(k, c, "small", p),)) for k in KINDS for c in COLORS for p in POSITIONS[:1]]
    frames += [F.CountA(n, k) for n in range(1, 6) for k in (*KINDS, None)]
    frames += [F.WhereA(p) for p in POSITIONS] + [F.Hint(), F.WhichPresentQ(), F.Describe()]
    for lang in ALL_CODES:
        out = [realize(f, lang) for f in frames]
        assert all(s and s == s.strip() and "  " not in s for s in out), lang


def test_unknown_language_is_a_user_error():
    with pytest.raises(UserError):
        realize(F.YesNo(True), "xx")
