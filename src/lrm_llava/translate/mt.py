"""Local neural MT backends: NLLB-200, M2M100 and OPUS-MT (Marian) through `transformers`, and the
same models through CTranslate2 (the `nmt` extra) for speed. Models load from local folders only.

    make_translator("nllb", path="models/nllb-200-distilled-600M", device="cuda", batch_size=32)
    make_translator("m2m100", path="models/m2m100_418M")
    make_translator("marian", path="models/opus-mt-en-de")          # one folder per language pair
    make_translator("ct2", path="models/nllb-600M-ct2", tokenizer="models/nllb-200-distilled-600M",
                    family="nllb")                                   # ct2-transformers-converter output

Language codes come from the registry (`nllb`, `m2m`, `marian` fields); NLLB and M2M100 pick the
target with `forced_bos_token_id` (CTranslate2: `target_prefix`). Inputs are sorted by token length
so a batch pads little; outputs are returned in input order. Outputs whose character-length ratio
to the input leaves `ratio_bounds` are rejected by `translate_texts` (retried once, then kept
English), which catches the empty or runaway generations these models sometimes produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava import languages
from lrm_llava.errors import TranslationError, UserError
from lrm_llava.options import typed_option

DEFAULT_RATIO_BOUNDS = (0.2, 4.0)


def _folder(path) -> Path:
    if not path:
        raise UserError("local MT backends need a model folder: --model path/to/folder")
    folder = Path(path)
    if not folder.is_dir():
        raise UserError(f"MT model folder {folder} does not exist (models are never downloaded)")
    return folder


def lang_code(family: str, code: str) -> str:
    """The model family's code for a registry language ("nllb": deu_Latn, "m2m100": de, ...)."""
    lang = languages.get(code)
    value = {"nllb": lang.nllb, "m2m100": lang.m2m, "marian": lang.marian}[family]
    if value is None:
        raise TranslationError(f"no {family} model covers {lang.english_name} ({lang.code}); use another backend")
    return value


def lang_token_id(tokenizer, family: str, code: str) -> int | None:
    """Token id that starts the target language (None for single-pair Marian models)."""
    model_code = lang_code(family, code)
    if family == "nllb":
        token = model_code
    elif family == "m2m100":
        get_lang_id = getattr(tokenizer, "get_lang_id", None)
        if callable(get_lang_id):
            return int(get_lang_id(model_code))
        token = f"__{model_code}__"
    else:
        token = f">>{model_code}<<"  # multi-target OPUS-MT models; single-pair ones lack it
        if token not in tokenizer.get_vocab():
            return None
        return int(tokenizer.convert_tokens_to_ids(token))
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None or tid == tokenizer.unk_token_id:
        raise TranslationError(f"the {family} tokenizer has no language token {token!r} for {code}")
    return int(tid)


def set_source(tokenizer, family: str, src: str) -> None:
    """Tell NLLB/M2M100 tokenizers the source language (they prefix its token)."""
    if family in ("nllb", "m2m100") and hasattr(tokenizer, "src_lang"):
        tokenizer.src_lang = lang_code(family, src)


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first, so memory errors come early)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@dataclass
class HFTranslator:
    """NLLB / M2M100 / Marian through `transformers` (`AutoModelForSeq2SeqLM` from a local folder)."""

    name: str
    """Model family and backend name: "nllb", "m2m100" or "marian"."""
    model: str
    """The local model folder (part of the cache key)."""
    batch_size: int = 16
    """Strings per `generate` call."""
    device: str = "cpu"
    num_beams: int = 1
    max_input_tokens: int = 256
    """Inputs are truncated past this (sentence splitting keeps them shorter)."""
    max_new_tokens: int = 256
    ratio_bounds: tuple[float, float] | None = DEFAULT_RATIO_BOUNDS
    exact: bool = False
    max_batch: int = 256
    """Strings per `translate` call; `batch_size` splits them further."""
    tokenizer: object = field(default=None, repr=False)
    net: object = field(default=None, repr=False)

    @classmethod
    def from_options(cls, family: str, options: dict) -> HFTranslator:
        folder = _folder(options.get("path") or options.get("model"))
        tr = cls(name=family, model=str(folder))
        for key in ("batch_size", "device", "num_beams", "max_input_tokens", "max_new_tokens"):
            kind = type(getattr(tr, key))
            setattr(tr, key, typed_option(options, key, kind, getattr(tr, key), family,
                                          minimum=1 if kind is int else None))
        if "ratio_bounds" in options:
            tr.ratio_bounds = options["ratio_bounds"]
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        try:
            tr.tokenizer = AutoTokenizer.from_pretrained(folder)
            tr.net = AutoModelForSeq2SeqLM.from_pretrained(folder).to(tr.device).eval()
        except (OSError, ValueError) as err:
            raise UserError(f"cannot load a {family} model from {folder}: {err}") from None
        return tr

    def generate_ids(self, texts: list[str], src: str, tgt: str) -> list[list[int]]:
        """Raw output token ids per input, in input order (the target-language token included)."""
        import torch

        set_source(self.tokenizer, self.name, src)
        forced = lang_token_id(self.tokenizer, self.name, tgt)
        enc = [self.tokenizer(t, truncation=True, max_length=self.max_input_tokens)["input_ids"] for t in texts]
        out: list[list[int]] = [[] for _ in texts]
        for batch in length_sorted_batches([len(e) for e in enc], self.batch_size):
            padded = self.tokenizer.pad({"input_ids": [enc[i] for i in batch]}, return_tensors="pt")
            kwargs = {"num_beams": self.num_beams, "do_sample": False, "max_new_tokens": self.max_new_tokens}
            if forced is not None and self.name != "marian":
                kwargs["forced_bos_token_id"] = forced
            with torch.no_grad():
                ids = self.net.generate(
                    input_ids=padded["input_ids"].to(self.device),
                    attention_mask=padded["attention_mask"].to(self.device),
                    **kwargs,
                )
            for row, i in zip(ids.tolist(), batch):
                out[i] = row
        return out

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        if self.name == "marian":
            token = lang_token_id(self.tokenizer, "marian", tgt)
            if token is not None:  # multi-target models read the target from a ">>xx<<" prefix
                texts = [f">>{lang_code('marian', tgt)}<< {t}" for t in texts]
        ids = self.generate_ids(texts, src, tgt)
        return [self.tokenizer.decode(row, skip_special_tokens=True).strip() for row in ids]


def _supported_types(device: str) -> str:
    """" (this machine supports: ...)" for an error message, or "" when CTranslate2 cannot tell."""
    import ctranslate2

    try:
        return f" (this machine supports: {', '.join(sorted(ctranslate2.get_supported_compute_types(device)))})"
    except (ValueError, RuntimeError):
        return ""


@dataclass
class CT2Translator:
    """A CTranslate2 conversion of an NLLB / M2M100 / Marian model (`pip install ctranslate2`)."""

    model: str
    """The converted model folder."""
    family: str = "nllb"
    """Which model family the conversion came from: nllb, m2m100 or marian."""
    name: str = "ct2"
    batch_size: int = 32
    device: str = "cpu"
    beam_size: int = 1
    max_input_tokens: int = 256
    max_new_tokens: int = 256
    """Longest output in tokens (CTranslate2's `max_decoding_length`), like the transformers backends."""
    threads: int = 0
    """CPU threads of the engine (`intra_threads`; 0 = CTranslate2's default of 4)."""
    compute_type: str = "default"
    """CTranslate2's compute type: "default" keeps the type the model was converted with; int8 on
    a CPU is ~5x float32 for NLLB-600M (docs/performance.md), float16 / int8_float16 on a GPU."""
    ratio_bounds: tuple[float, float] | None = DEFAULT_RATIO_BOUNDS
    exact: bool = False
    max_batch: int = 512
    tokenizer: object = field(default=None, repr=False)
    engine: object = field(default=None, repr=False)

    @classmethod
    def from_options(cls, options: dict) -> CT2Translator:
        folder = _folder(options.get("path") or options.get("model"))
        family = str(options.get("family", "nllb"))
        if family not in ("nllb", "m2m100", "marian"):
            raise UserError(f"ct2 family {family!r}: use nllb, m2m100 or marian")
        tok_folder = _folder(options.get("tokenizer") or folder)
        try:
            import ctranslate2
        except ImportError:
            raise UserError("the ct2 backend needs CTranslate2: pip install 'lrm-llava[nmt]'") from None
        from transformers import AutoTokenizer

        tr = cls(model=str(folder), family=family)
        for key in ("batch_size", "device", "beam_size", "max_input_tokens", "max_new_tokens", "threads",
                    "compute_type"):
            kind = type(getattr(tr, key))
            setattr(tr, key, typed_option(options, key, kind, getattr(tr, key), "ct2",
                                          minimum=(0 if key == "threads" else 1) if kind is int else None))
        if "ratio_bounds" in options:
            tr.ratio_bounds = options["ratio_bounds"]
        tr.tokenizer = AutoTokenizer.from_pretrained(tok_folder)
        try:
            tr.engine = ctranslate2.Translator(str(folder), device=tr.device, intra_threads=tr.threads,
                                               compute_type=tr.compute_type)
        except (ValueError, RuntimeError) as err:  # an unknown compute type, a device it cannot use
            raise UserError(f"the ct2 backend cannot load {folder} with device={tr.device} "
                            f"compute_type={tr.compute_type}: {err}{_supported_types(tr.device)}") from None
        return tr

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        set_source(self.tokenizer, self.family, src)
        prefix = None
        if self.family in ("nllb", "m2m100"):
            tid = lang_token_id(self.tokenizer, self.family, tgt)
            prefix = self.tokenizer.convert_ids_to_tokens(tid)
        elif lang_token_id(self.tokenizer, "marian", tgt) is not None:
            texts = [f">>{lang_code('marian', tgt)}<< {t}" for t in texts]
        tokens = [
            self.tokenizer.convert_ids_to_tokens(
                self.tokenizer(t, truncation=True, max_length=self.max_input_tokens)["input_ids"]
            )
            for t in texts
        ]
        out: list[str] = [""] * len(texts)
        for batch in length_sorted_batches([len(t) for t in tokens], self.batch_size):
            results = self.engine.translate_batch(
                [tokens[i] for i in batch],
                target_prefix=[[prefix]] * len(batch) if prefix else None,
                beam_size=self.beam_size,
                max_batch_size=self.batch_size,
                max_decoding_length=self.max_new_tokens,
            )
            for res, i in zip(results, batch):
                hyp = res.hypotheses[0]
                if prefix and hyp and hyp[0] == prefix:
                    hyp = hyp[1:]
                ids = self.tokenizer.convert_tokens_to_ids(hyp)
                out[i] = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        return out
