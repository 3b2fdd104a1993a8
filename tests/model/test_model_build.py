"""build_model / build_tiny_model / projector I/O / save_model, against real (tiny) backbone folders."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    CLIPConfig,
    CLIPModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaForCausalLM,
    SiglipConfig,
    SiglipModel,
)

from lrm_llava.errors import UserError
from lrm_llava.model import (
    build_model,
    build_tiny_model,
    load_projector,
    num_image_tokens,
    save_model,
    save_projector,
    tiny_image_processor,
)

VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
          "image_size": 32, "patch_size": 8}
TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
        "vocab_size": 300, "max_position_embeddings": 64}


def _vision_state(module) -> dict[str, torch.Tensor]:
    """Vision weights keyed without the `vision_model.` prefix (full CLIP/SigLIP models keep it,
    vision-only classes may not), text-tower and projection weights dropped."""
    out = {}
    for key, value in module.state_dict().items():
        if key.startswith("vision_model."):
            out[key[len("vision_model."):]] = value
        elif not key.startswith(("text_model.", "text_projection", "visual_projection", "logit_")):
            out[key] = value
    return out


def _same_vision(src, dst) -> None:
    a, b = _vision_state(src), _vision_state(dst)
    assert sorted(a) == sorted(b) and a
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Folders: a full CLIPModel, a CLIPVisionModel, a SigLIP model and a LLaMA LM with tokenizer."""
    from lrm_llava.model import default_tokenizer

    root = tmp_path_factory.mktemp("backbones")
    torch.manual_seed(0)
    clip = CLIPModel(CLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=16))
    clip.save_pretrained(root / "clip")
    tiny_image_processor(32).save_pretrained(root / "clip")
    clipv = CLIPVisionModel(CLIPVisionConfig(**VISION))
    clipv.save_pretrained(root / "clipv")
    tiny_image_processor(32).save_pretrained(root / "clipv")
    siglip = SiglipModel(SiglipConfig(text_config=TEXT, vision_config=VISION))
    siglip.save_pretrained(root / "siglip")
    try:
        from transformers import SiglipImageProcessorPil as sip
    except ImportError:  # pragma: no cover
        from transformers import SiglipImageProcessor as sip
    sip(size={"height": 32, "width": 32}).save_pretrained(root / "siglip")
    tok = default_tokenizer()
    lm = LlamaForCausalLM(LlamaConfig(**{**TEXT, "vocab_size": len(tok), "hidden_size": 64, "num_attention_heads": 4}))
    lm.save_pretrained(root / "llm")
    tok.save_pretrained(root / "llm")
    return root


def test_tiny_model_config_and_processor(tiny_model):
    model, processor = tiny_model
    cfg = model.config
    image_id = processor.tokenizer.convert_tokens_to_ids("<image>")
    assert cfg.image_token_index == image_id == processor.image_token_id
    assert cfg.image_seq_length == 16 and cfg.vision_feature_layer == -2
    assert cfg.vision_feature_select_strategy == "default" and cfg.projector_hidden_act == "gelu"
    assert cfg.image_aspect_ratio == "pad"
    proj = model.model.multi_modal_projector
    assert (proj.linear_1.in_features, proj.linear_1.out_features, proj.linear_2.out_features) == (32, 64, 64)
    assert model.get_input_embeddings().weight.shape[0] == len(processor.tokenizer)
    enc = processor(text="USER: <image>\nWas? ASSISTANT:", images=Image.new("RGB", (40, 30)), return_tensors="pt")
    assert int((enc["input_ids"] == image_id).sum()) == 16 == num_image_tokens(processor)
    with torch.no_grad():
        out = model(**enc)
    assert out.logits.shape == (1, enc["input_ids"].shape[1], len(processor.tokenizer))


def test_tiny_model_is_deterministic():
    a, _ = build_tiny_model(seed=3)
    b, _ = build_tiny_model(seed=3)
    c, _ = build_tiny_model(seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("vision", ["clip", "clipv"])
def test_build_model_loads_pretrained_weights(folders, vision):
    model, processor = build_model(folders / vision, folders / "llm")
    src_vision = (CLIPModel if vision == "clip" else CLIPVisionModel).from_pretrained(folders / vision)
    _same_vision(src_vision, model.model.vision_tower)
    lm = LlamaForCausalLM.from_pretrained(folders / "llm")
    lm_state, llava_lm = lm.state_dict(), model.model.language_model.state_dict()
    n = lm.config.vocab_size
    for key, value in lm_state.items():
        if key == "lm_head.weight":
            assert torch.equal(model.lm_head.weight[:n], value)
        elif key == "model.embed_tokens.weight":
            assert torch.equal(llava_lm["embed_tokens.weight"][:n], value)
        else:
            assert torch.equal(llava_lm[key[len("model."):]], value), key
    # <image> added as a special token at the end of the vocabulary; embeddings resized
    assert model.config.image_token_index == n == processor.image_token_id
    assert model.lm_head.weight.shape[0] == n + 1
    assert processor.num_additional_image_tokens == 1
    assert processor.vision_feature_select_strategy == "default"
    enc = processor(text="USER: <image>\nQ ASSISTANT:", images=Image.new("RGB", (50, 20)), return_tensors="pt")
    assert int((enc["input_ids"] == n).sum()) == model.config.image_seq_length == 16
    model(**enc)


def test_build_model_siglip_keeps_every_patch(folders):
    model, processor = build_model(folders / "siglip", folders / "llm", image_aspect_ratio="resize")
    assert model.config.vision_feature_select_strategy == "full"
    assert processor.num_additional_image_tokens == 0
    assert model.config.image_aspect_ratio == "resize"
    _same_vision(SiglipModel.from_pretrained(folders / "siglip"), model.model.vision_tower)
    enc = processor(text="<image>\nQ", images=Image.new("RGB", (32, 32)), return_tensors="pt")
    assert int((enc["input_ids"] == model.config.image_token_index).sum()) == 16 == num_image_tokens(processor)
    model(**enc)


def test_build_model_errors(folders, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        build_model(tmp_path / "nope", folders / "llm")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "vit"}))
    with pytest.raises(UserError, match="supported: clip"):
        build_model(odd, folders / "llm")
    noproc = tmp_path / "noproc"
    CLIPVisionModel(CLIPVisionConfig(**VISION)).save_pretrained(noproc)
    with pytest.raises(UserError, match="preprocessor_config.json"):
        build_model(noproc, folders / "llm")
    with pytest.raises(UserError, match="projector"):
        build_model(folders / "clipv", folders / "llm", projector=tmp_path / "stage1")
    with pytest.raises(UserError, match="image_aspect_ratio"):
        build_model(folders / "clipv", folders / "llm", image_aspect_ratio="anyres")


def test_projector_from_stage1_file_folder_and_checkpoint(folders, tmp_path):
    stage1, processor = build_model(folders / "clipv", folders / "llm")
    with torch.no_grad():
        for p in stage1.model.multi_modal_projector.parameters():
            p.add_(1.0)
    want = {k: v.clone() for k, v in stage1.model.multi_modal_projector.state_dict().items()}
    file = save_projector(stage1, tmp_path / "stage1")
    assert file.name == "projector.safetensors"
    save_model(stage1, processor, tmp_path / "stage1_full")

    def check(model):
        got = model.model.multi_modal_projector.state_dict()
        assert sorted(got) == sorted(want)
        assert all(torch.equal(got[k], want[k]) for k in want)

    check(build_model(folders / "clipv", folders / "llm", projector=file)[0])
    check(build_model(folders / "clipv", folders / "llm", projector=tmp_path / "stage1")[0])
    check(build_model(folders / "clipv", folders / "llm", projector=tmp_path / "stage1_full")[0])
    fresh, _ = build_model(folders / "clipv", folders / "llm")
    assert not torch.equal(fresh.model.multi_modal_projector.linear_1.weight, want["linear_1.weight"])
    other, _ = build_tiny_model(vision_hidden=16)
    with pytest.raises(UserError, match="shape"):
        load_projector(other, file)
    with pytest.raises(UserError, match="holds no projector.safetensors"):
        load_projector(other, tmp_path)


def test_saved_model_loads_with_plain_transformers(tiny_model, tmp_path, tiny_image):
    model, processor = tiny_model
    out = save_model(model, processor, tmp_path / "ckpt", extra_files={"notes.json": "{}"})
    assert (out / "model.safetensors").is_file() and (out / "notes.json").read_text() == "{}"
    with pytest.raises(UserError, match="outside"):
        save_model(model, processor, tmp_path / "ckpt2", extra_files={"../x.txt": "no"})
    loaded = AutoModelForImageTextToText.from_pretrained(out).eval()
    proc = AutoProcessor.from_pretrained(out)
    assert type(loaded).__name__ == "LlavaForConditionalGeneration"
    assert loaded.config.image_aspect_ratio == "pad"
    assert proc.num_additional_image_tokens == 1 and proc.patch_size == 8
    prompt = "USER: <image>\nWas ist das? ASSISTANT:"
    enc_a = processor(text=prompt, images=tiny_image, return_tensors="pt")
    enc_b = proc(text=prompt, images=tiny_image, return_tensors="pt")
    assert torch.equal(enc_a["input_ids"], enc_b["input_ids"])
    assert torch.equal(enc_a["pixel_values"], enc_b["pixel_values"])
    with torch.no_grad():
        assert torch.equal(model(**enc_a).logits, loaded(**enc_b).logits)
        gen = loaded.generate(**enc_b, max_new_tokens=4, do_sample=False)
    assert gen.shape[1] > enc_b["input_ids"].shape[1]
    assert isinstance(proc.batch_decode(gen[:, enc_b["input_ids"].shape[1]:], skip_special_tokens=True)[0], str)


def test_saved_tokenizer_gives_identical_label_masks(tiny_model, tmp_path):
    from lrm_llava.chat import tokenize_conversation

    model, processor = tiny_model
    out = save_model(model, processor, tmp_path / "ckpt")
    reloaded = AutoProcessor.from_pretrained(out).tokenizer
    conv = [{"from": "human", "value": "<image>\nЧто это? 这是什么？"}, {"from": "gpt", "value": "Un cerc roșu. 红色。"}]
    kw = {"image_token_id": model.config.image_token_index, "num_image_tokens": 16, "sample_id": "rt"}
    a = tokenize_conversation(conv, processor.tokenizer, **kw)
    b = tokenize_conversation(conv, reloaded, **kw)
    assert (a.input_ids, a.labels) == (b.input_ids, b.labels)
    trained = [t for t in b.labels if t != -100]
    assert reloaded.decode(trained, skip_special_tokens=True).strip() == "Un cerc roșu. 红色。"
