"""The two-stage trainer: `run_training(cfg)` on the Hugging Face `Trainer`.

One call trains one stage and writes a complete Hugging Face folder into `cfg.output_dir`:
config.json (LlavaForConditionalGeneration), model.safetensors, tokenizer and processor files,
`projector.safetensors` (the stage-1 result LLaVA users expect), `recipe.yaml` (the resolved
config; it loads back as a recipe), `data_stats.json` (kept / dropped / skipped samples) and
`train_log.jsonl` (one JSON object per logging step). Checkpoints (`checkpoint-N/`) are written
every `save_steps`; `resume` continues from the latest complete one (a run killed while saving
leaves an incomplete newest folder, which is reported and skipped) with the same data order, RNG
states and learning-rate schedule.

The pieces a performance pass will replace are small functions here, not Trainer internals:
`build_model_and_processor` (cached vision features would start here), `build_train_dataset` /
`build_collator` (sample packing), and `forward_and_loss` (a chunked fused cross-entropy that
never materialises full logits). `LlavaTrainer` only swaps in the token-length grouped sampler and
routes the loss through `forward_and_loss`.

    from lrm_llava.train import load_recipe, run_training
    folder = run_training(load_recipe("tiny", "pretrain", {"data": ["a.json"], "image_root": "img",
                                                          "output_dir": "runs/s1"}))
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm.auto import tqdm
from transformers import Trainer, TrainerCallback
from transformers.trainer_callback import ProgressCallback
from transformers.trainer_utils import set_seed

from lrm_llava.data import LengthGroupedSampler, LlavaCollator, LlavaDataset, read_samples
from lrm_llava.errors import UserError
from lrm_llava.jsonio import read_json
from lrm_llava.model.forward import projector_zero
from lrm_llava.paths import output_folder
from lrm_llava.train.config import TrainConfig, config_to_dict

logger = logging.getLogger(__name__)

LOG_FILE = "train_log.jsonl"
"""One JSON object per logging step, in the output folder."""


# -- building blocks ------------------------------------------------------------------------------
def check_model_files(path: str | Path, what: str) -> None:
    """UserError naming the file when a model folder (or file) given as `what` is damaged: a top-level
    JSON file (config.json, a safetensors index, processor/tokenizer files) that does not parse, or a
    .safetensors file that does not open (truncated by a cut copy or a killed save, or not safetensors).

    Cheap: JSON files are small and safetensors are checked by their header, which records the
    length the file must have. A path that does not exist is left to the loader's own message."""
    path = Path(path)
    if path.is_file():
        files = [path] if path.suffix in (".json", ".safetensors") else []
    elif path.is_dir():
        files = sorted(path.glob("*.json")) + sorted(path.glob("*.safetensors"))
    else:
        return
    for file in files:
        if file.suffix == ".json":
            try:
                read_json(file)
            except UserError as err:
                raise UserError(f"{what} {str(path)!r}: {err}") from None
            continue
        problem = _safetensors_problem(file)
        if problem:
            raise UserError(f"{what} {str(path)!r}: {file} is not a complete safetensors file ({problem}); "
                            "copy or save it again")


def _safetensors_problem(file: Path) -> str | None:
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt"):
            return None
    except Exception as err:  # safetensors raises its own error types
        return str(err) or type(err).__name__


@contextlib.contextmanager
def _loading(what: str):
    """Turn a loader's failure on a damaged folder into a UserError naming the folder (what
    `check_model_files` cannot see, e.g. a config.json that parses but is not a model config)."""
    from huggingface_hub.errors import StrictDataclassError  # a config value of the wrong type
    from safetensors import SafetensorError

    errors = (OSError, ValueError, TypeError, RuntimeError, KeyError, EOFError, pickle.UnpicklingError,
              SafetensorError, StrictDataclassError)
    try:
        yield
    except UserError:
        raise
    except errors as err:
        raise UserError(f"{what} cannot be loaded ({type(err).__name__}: {err}); is it complete and "
                        "made for this model?") from None


def build_model_and_processor(cfg: TrainConfig):
    """The model to train and its processor: tiny, from a Llava folder, or from vision + LLM folders.

    The projector comes from `cfg.projector` (stage-1 output) when given. Damaged input folders
    (a broken JSON file, a truncated .safetensors) are a UserError naming the file.
    """
    from lrm_llava.model import build_model, build_tiny_model, load_projector

    if cfg.projector:
        check_model_files(cfg.projector, "projector")
    if cfg.tiny and cfg.init_from:
        raise UserError(f"init_from {cfg.init_from!r} and tiny: true ask for two "
                        "starting points; tiny builds a random model and would ignore init_from. Fix: drop "
                        "--init-from, or add --set tiny=false to start from that folder.")
    if cfg.tiny:
        model, processor = build_tiny_model(seed=cfg.tiny_seed, image_aspect_ratio=cfg.image_aspect_ratio)
    elif cfg.init_from:
        from transformers import AutoProcessor, LlavaForConditionalGeneration

        folder = Path(cfg.init_from)
        if not (folder / "config.json").is_file():
            raise UserError(f"init_from {str(folder)!r} is not a model folder (no config.json)")
        check_model_files(folder, "init_from")
        config = read_json(folder / "config.json")
        model_type = config.get("model_type") if isinstance(config, dict) else None
        if model_type != "llava":
            # transformers would build a default-sized Llava around a foreign config: a 7B model.
            raise UserError(f"init_from {str(folder)!r}: config.json has model_type {model_type!r}, not 'llava'; "
                            "pass a Llava folder (a stage output), or vision_path + llm_path")
        with _loading(f"init_from {str(folder)!r}"):
            model = LlavaForConditionalGeneration.from_pretrained(folder)
            processor = AutoProcessor.from_pretrained(folder)
    else:
        if not cfg.vision_path or not cfg.llm_path:
            raise UserError("say what to train: set vision_path and llm_path (local folders), init_from "
                            "(a Llava folder) or tiny: true")
        check_model_files(cfg.vision_path, "vision_path")
        check_model_files(cfg.llm_path, "llm_path")
        with _loading(f"vision_path {cfg.vision_path!r} / llm_path {cfg.llm_path!r}"):
            model, processor = build_model(cfg.vision_path, cfg.llm_path, image_aspect_ratio=cfg.image_aspect_ratio)
    if cfg.projector:
        with _loading(f"projector {cfg.projector!r}"):
            load_projector(model, cfg.projector)
    elif cfg.stage == "finetune" and not cfg.init_from:
        logger.warning("stage finetune without a stage-1 projector: the projector starts random "
                       "(pass --projector <stage-1 output folder>)")
    return model, processor


def lora_options(cfg: TrainConfig):
    """`LoraOptions` from the config, or None when LoRA is off."""
    if not cfg.lora_enable:
        return None
    from lrm_llava.model.stages import DEFAULT_LORA_TARGETS, LoraOptions

    return LoraOptions(r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout,
                       target_modules=tuple(cfg.lora_target_modules or DEFAULT_LORA_TARGETS))


def build_train_dataset(cfg: TrainConfig, processor, *, show_progress: bool = True) -> LlavaDataset:
    """The training dataset of `cfg.data` (validated, tokenized lengths, over-long samples dropped)."""
    if not cfg.data:
        raise UserError("no training data: pass --data FILE [FILE ...] (LLaVA JSON or JSONL)")
    return LlavaDataset(
        read_samples(cfg.data), processor, template=cfg.template, image_root=cfg.image_root,
        model_max_length=cfg.model_max_length, image_aspect_ratio=cfg.image_aspect_ratio,
        on_bad_image=cfg.on_bad_image, max_image_pixels=cfg.max_image_pixels, show_progress=show_progress,
        memory_mb=cfg.data_memory_mb,
    )


def build_collator(cfg: TrainConfig, processor) -> Callable[[Sequence[dict[str, Any]]], dict[str, torch.Tensor]]:
    """The batch collator (right padding, or packed rows when `cfg.packing`)."""
    tokenizer = getattr(processor, "tokenizer", processor)
    if getattr(cfg, "packing", False):
        from lrm_llava.train.packing import PackingCollator

        return PackingCollator(pad_token_id=int(tokenizer.pad_token_id), max_length=cfg.packing_max_length)
    return LlavaCollator(pad_token_id=int(tokenizer.pad_token_id))


def build_loss_fn(cfg: TrainConfig, *, liger: bool = False) -> Callable:
    """`forward_and_loss`, or the fast forward when packing / chunked loss / vision cache is on, or
    when Liger's kernels were applied (`liger`: its fused linear cross-entropy is the loss)."""
    if not (getattr(cfg, "packing", False) or getattr(cfg, "chunked_loss", False) or getattr(cfg, "vision_cache", False)
            or liger):
        return forward_and_loss
    import functools

    from lrm_llava.train.loss import fast_forward_and_loss
    from lrm_llava.train.vision_cache import VisionFeatureCache

    cache = VisionFeatureCache(cfg.vision_cache_dir) if cfg.vision_cache else None
    if liger:
        return functools.partial(fast_forward_and_loss, vision_cache=cache, chunked_loss=True, loss_backend="liger")
    return functools.partial(fast_forward_and_loss, vision_cache=cache, chunked_loss=cfg.chunked_loss)


def apply_speedups(cfg: TrainConfig, model) -> dict[str, Any]:
    """The optional kernels of `cfg` on `model` (after `apply_stage`, before the Trainer), each only
    when its switch is on (`train.kernels`); returns what was applied. Checks first, so a missing
    package or a CPU-only machine stops before anything trains."""
    from lrm_llava.train import kernels

    cuda = not cfg.use_cpu and torch.cuda.is_available()
    kernels.check_attention(cfg.attn_implementation, cuda=cuda)
    kernels.check_fused_kernels(cfg.fused_kernels)
    done: dict[str, Any] = {}
    if cfg.attn_implementation is not None:
        kernels.set_lm_attention(model, cfg.attn_implementation)
        done["attn_implementation"] = cfg.attn_implementation
    if cfg.fused_kernels:
        if cuda:
            model.to(cfg.device)  # Liger patches modules on the device they will run on
        done["liger"] = kernels.apply_liger(model)
    if cfg.compile_blocks:
        done["compiled_layers"] = kernels.compile_lm_blocks(model, backend=cfg.compile_blocks_backend)
    return done


def forward_and_loss(model, inputs: dict[str, torch.Tensor], num_items_in_batch=None):
    """Run the model and return (loss, outputs).

    The loss is the token-level cross-entropy over trained labels, divided by `num_items_in_batch`
    (trained tokens of the whole accumulated global batch) when given, as the HF Trainer expects.
    A batch without images still sends a zero-weighted path through the projector so that its
    parameters get a (zero) gradient: DDP then sees every trainable parameter used, and a stage-1
    text-only batch still has a loss with a gradient.
    """
    kwargs = dict(inputs)
    if num_items_in_batch is not None:
        kwargs["num_items_in_batch"] = num_items_in_batch
    outputs = model(**kwargs)
    loss = outputs.loss
    if inputs.get("pixel_values") is None:
        loss = loss + projector_zero(model)
    return loss, outputs


# -- trainer --------------------------------------------------------------------------------------
class LlavaTrainer(Trainer):
    """HF Trainer with the token-length grouped sampler and the loss behind `forward_and_loss`."""

    def __init__(self, *args, lengths: Sequence[int] | None = None, has_image: Sequence[bool] | None = None,
                 loss_fn: Callable = forward_and_loss, meter=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lengths = list(lengths) if lengths is not None else None
        self.has_image = list(has_image) if has_image is not None else None
        self.loss_fn = loss_fn
        self.meter = meter  # a `train.flops.StepMeter`: model FLOPs and samples of the micro-batches

    def get_train_dataloader(self):
        args: TrainConfig = self.args  # type: ignore[assignment]
        budget = getattr(args, "max_tokens_per_batch", None)
        if not budget or self.lengths is None:
            return super().get_train_dataloader()
        import math

        from torch.utils.data import DataLoader

        from lrm_llava.data.sampler import TokenBudgetBatchSampler

        def sampler(epochs: int) -> TokenBudgetBatchSampler:
            return TokenBudgetBatchSampler(self.lengths, budget, has_image=self.has_image, packed=bool(args.packing),
                                           mega_batch_mult=args.mega_batch_mult, seed=args.data_order_seed, epochs=epochs)

        batches = sampler(1)
        if args.max_steps and args.max_steps > 0:  # the epochs max_steps will reach
            per_epoch = max(1, len(batches) // max(1, args.world_size * args.gradient_accumulation_steps))
            epochs = math.ceil(args.max_steps / per_epoch)
        else:
            epochs = math.ceil(args.num_train_epochs)
        if epochs > 1:  # a count that fits every epoch of the run (capped: later epochs reuse a partition)
            batches = sampler(min(epochs, 20))
        params: dict[str, Any] = {
            "batch_sampler": batches, "collate_fn": self.data_collator, "num_workers": args.dataloader_num_workers,
            "pin_memory": args.dataloader_pin_memory, "persistent_workers": args.dataloader_persistent_workers,
            "worker_init_fn": _worker_init(args),
        }
        if args.dataloader_num_workers > 0 and args.dataloader_prefetch_factor is not None:
            params["prefetch_factor"] = args.dataloader_prefetch_factor
        return self.accelerator.prepare(DataLoader(self.train_dataset, **params))

    def _get_train_sampler(self, train_dataset=None):
        args: TrainConfig = self.args  # type: ignore[assignment]
        if not getattr(args, "group_by_length", False) or self.lengths is None:
            return super()._get_train_sampler(train_dataset)
        # The global order; accelerate hands batch k to rank k mod world_size.
        return LengthGroupedSampler(
            self.lengths, args.per_device_train_batch_size, has_image=self.has_image,
            world_size=args.world_size, mega_batch_mult=args.mega_batch_mult, seed=args.data_order_seed,
        )

    def create_optimizer(self, model=None):
        args: TrainConfig = self.args  # type: ignore[assignment]
        if self.optimizer is not None or getattr(args, "projector_lr", None) is None:
            return super().create_optimizer(model)
        # LLaVA's mm_projector_lr: the projector in its own parameter groups at its own peak.
        opt_model = self.model if model is None else model
        decay = set(self.get_decay_parameter_names(opt_model))
        groups: dict[tuple[bool, bool], list] = {}
        for name, param in opt_model.named_parameters():
            if param.requires_grad:
                groups.setdefault(("multi_modal_projector" in name, name in decay), []).append(param)
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(args, opt_model)
        self.optimizer = optimizer_cls([
            {"params": params, "weight_decay": args.weight_decay if decays else 0.0,
             **({"lr": args.projector_lr} if is_projector else {})}
            # the LM's groups first: the Trainer logs the first group's learning rate
            for (is_projector, decays), params in sorted(groups.items(), key=lambda kv: kv[0])
        ], **optimizer_kwargs)
        return self.optimizer

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        # `save_pretrained` writes Llava checkpoints with the legacy key names (vision_tower.*,
        # language_model.model.*), which the Trainer's plain `load_state_dict` does not map back:
        # resuming would silently keep the fresh weights. Load and rename them here.
        if _params_sharded(self):
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        model = self.accelerator.unwrap_model(model if model is not None else self.model)
        load_checkpoint_weights(model, Path(resume_from_checkpoint))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.meter is not None and model.training:
            self.meter.add(inputs)
        loss, outputs = self.loss_fn(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            # Same scaling as Trainer.compute_loss: the loss is normalised by the global token
            # count, and DDP averages gradients over processes.
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss


def _worker_init(args):
    """The Trainer's dataloader worker seeding (its signature differs between transformers releases)."""
    import functools
    import inspect

    from transformers.trainer_utils import seed_worker

    if "num_workers" in inspect.signature(seed_worker).parameters:
        return functools.partial(seed_worker, num_workers=args.dataloader_num_workers, rank=args.process_index)
    return seed_worker


_LEGACY_PREFIXES = (
    ("language_model.lm_head.", "lm_head."),
    ("language_model.model.", "model.language_model."),
    ("language_model.", "model.language_model."),
    ("vision_tower.", "model.vision_tower."),
    ("multi_modal_projector.", "model.multi_modal_projector."),
)


def load_checkpoint_weights(model, folder: Path) -> None:
    """Load the weights of a Trainer checkpoint folder into `model`, mapping legacy Llava key names."""
    from safetensors.torch import load_file

    files = sorted(folder.glob("model*.safetensors"))
    if not files:
        raise UserError(f"checkpoint {folder} has no model*.safetensors; delete it to resume from an earlier one")
    own = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for file in files:
        for key, value in load_file(str(file)).items():
            if key not in own:
                for old, new in _LEGACY_PREFIXES:
                    if key.startswith(old) and new + key[len(old):] in own:
                        key = new + key[len(old):]
                        break
            state[key] = value
    unknown = sorted(set(state) - set(own))
    missing = sorted(k for k in set(own) - set(state) if k != "lm_head.weight" or not model.config.tie_word_embeddings)
    if unknown or missing:
        raise UserError(f"checkpoint {folder} does not match the model (unknown {unknown[:3]}, missing "
                        f"{missing[:3]}); was it written by another configuration?")
    model.load_state_dict(state, strict=False)


class DenseLogCallback(ProgressCallback):
    """tqdm bar plus ONE dense line per logging step (and a JSONL record of it).

    With a `meter` (`train.flops.StepMeter`) the line also holds the model FLOPs utilisation of this
    process's device since the previous line (`mfu`, and `tflops` achieved; `train.flops` says what
    is counted and where the peak comes from); tokens/s counts the non-padding tokens of all
    processes."""

    def __init__(self, log_file: Path | None = None, global_batch: int = 1, meter=None) -> None:
        super().__init__()
        self.log_file = log_file
        self.global_batch = global_batch
        self.meter = meter
        self._start = time.time()
        self._last = (time.time(), 0, 0)  # time, step, tokens
        self._last_meter = (0.0, 0)  # flops, samples

    def on_train_begin(self, args, state, control, **kwargs):
        super().on_train_begin(args, state, control, **kwargs)
        if self.meter is not None and state.is_world_process_zero:
            self.meter.find_peak()
            logger.info("MFU peak: %s", self.meter.peak_text())
        self._start = time.time()
        self._last = (time.time(), state.global_step, state.num_input_tokens_seen)
        if self.meter is not None:
            self._last_meter = (self.meter.flops, self.meter.samples)
        if self.log_file is not None and state.is_world_process_zero and self.log_file.exists():
            # A resumed run repeats the steps after its checkpoint: drop their old records.
            keep = [line for line in self.log_file.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= state.global_step]
            self.log_file.write_text("".join(line + "\n" for line in keep), encoding="utf-8")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        now = time.time()
        last_time, last_step, last_tokens = self._last
        dt = max(now - last_time, 1e-9)
        tokens = state.num_input_tokens_seen
        record = {
            "step": state.global_step,
            "loss": round(float(logs["loss"]), 6),
            "lr": float(logs.get("learning_rate", 0.0)),
            "tokens_per_s": round((tokens - last_tokens) / dt, 1),
            "samples_per_s": round((state.global_step - last_step) * self.global_batch / dt, 2),
            "elapsed_s": round(now - self._start, 1),
        }
        if "grad_norm" in logs:
            record["grad_norm"] = round(float(logs["grad_norm"]), 4)
        self._last = (now, state.global_step, tokens)
        mfu_text = ""
        if self.meter is not None:
            flops, samples = self.meter.flops - self._last_meter[0], self.meter.samples - self._last_meter[1]
            self._last_meter = (self.meter.flops, self.meter.samples)
            if getattr(args, "max_tokens_per_batch", None):  # micro-batches of varying sample counts
                record["samples_per_s"] = round(samples * max(1, args.world_size) / dt, 2)
            record["tflops"] = round(flops / dt / 1e12, 4)
            value = self.meter.mfu(flops, dt)
            record["mfu"] = None if value is None else round(value, 4)
            mfu_text = "  MFU n/a" if value is None else f"  MFU {100 * value:.1f}%"
        line = (f"step {record['step']}/{state.max_steps}  loss {record['loss']:.4f}  lr {record['lr']:.3e}  "
                f"{record['tokens_per_s']:.0f} tok/s  {record['samples_per_s']:.2f} samples/s{mfu_text}  "
                f"elapsed {record['elapsed_s']:.0f}s")
        tqdm.write(line) if self.training_bar is not None else print(line, flush=True)
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")


# -- the job --------------------------------------------------------------------------------------
def checkpoint_problem(folder: Path) -> str | None:
    """Why the Trainer checkpoint `folder` is incomplete, or None when it is complete.

    The HF Trainer writes a checkpoint in order: weights, optimizer, scheduler, RNG states, and
    `trainer_state.json` last. A run killed during a save leaves a folder without (or with a torn)
    `trainer_state.json`, often with a truncated .safetensors; such a folder cannot be resumed.
    """
    from transformers.trainer import TRAINER_STATE_NAME

    state = folder / TRAINER_STATE_NAME
    if not state.is_file():
        return f"no {TRAINER_STATE_NAME}"
    try:
        read_json(state)
    except UserError:
        return f"{TRAINER_STATE_NAME} is cut short"
    for file in sorted(folder.glob("*.safetensors")):
        problem = _safetensors_problem(file)
        if problem:
            return f"{file.name} does not open: {problem}"
    return None


def checkpoints(out: Path) -> list[Path]:
    """The `checkpoint-N` folders in `out`, newest (highest N) first."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    if not out.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in out.iterdir()
             if p.is_dir() and (m := re.fullmatch(PREFIX_CHECKPOINT_DIR + r"-(\d+)", p.name))]
    return [p for _, p in sorted(found, key=lambda sp: -sp[0])]


def last_complete_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint in `out`; incomplete newer ones are reported in one log line
    and left on disk (a later save of the same step replaces them)."""
    skipped = []
    for folder in checkpoints(out):
        problem = checkpoint_problem(folder)
        if problem is None:
            break
        skipped.append(f"{folder.name} ({problem})")
    else:
        folder = None
    if skipped:
        logger.warning("resume: ignoring incomplete checkpoint(s) in %s, kept on disk: %s; resuming from %s",
                       out, "; ".join(skipped), folder.name if folder is not None else "scratch")
    return folder


def _resume_checkpoint(cfg: TrainConfig) -> str | None:
    out = Path(cfg.output_dir)
    if cfg.resume_from_checkpoint:
        chosen = Path(cfg.resume_from_checkpoint)
        problem = checkpoint_problem(chosen) if chosen.is_dir() else "not a folder"
        if problem:
            raise UserError(f"resume_from_checkpoint {str(chosen)!r} is not a complete checkpoint ({problem}); "
                            "pick an earlier checkpoint-N, or pass --resume to take the last complete one")
        return str(chosen)
    found = checkpoints(out)
    if not cfg.resume:
        if found:
            raise UserError(f"{out} already holds checkpoints ({found[0].name}); pass --resume to continue "
                            "that run, or choose another --output-dir")
        return None
    last = last_complete_checkpoint(out)
    if last is None and not found:
        logger.warning("resume: no checkpoint-* in %s, starting from scratch", out)
    return str(last) if last is not None else None


def _params_sharded(trainer: Trainer) -> bool:
    if trainer.is_fsdp_enabled:
        return True
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return bool(trainer.is_deepspeed_enabled and plugin is not None and plugin.zero_stage == 3)


def save_final(trainer: Trainer, model, processor, cfg: TrainConfig, extra: dict[str, Any]) -> Path:
    """Write the complete HF folder (+ projector.safetensors, recipe.yaml, data_stats.json)."""
    from safetensors.torch import save_file

    from lrm_llava.model import PROJECTOR_FILE, read_projector_state, save_model

    out = Path(cfg.output_dir)
    if _params_sharded(trainer):
        trainer.save_model(str(out))  # gathers ZeRO-3 / FSDP shards on the main process
        if trainer.is_world_process_zero():
            processor.save_pretrained(out)
    elif trainer.is_world_process_zero():
        save_model(trainer.accelerator.unwrap_model(model), processor, out)
    if trainer.is_world_process_zero():
        state = read_projector_state(out)
        save_file({k: v.contiguous() for k, v in state.items()}, str(out / PROJECTOR_FILE), metadata={"format": "pt"})
        (out / "recipe.yaml").write_text(
            "# The resolved configuration of this run; reuse it with --recipe <this file>.\n"
            + yaml.safe_dump(config_to_dict(cfg), sort_keys=True, allow_unicode=True), encoding="utf-8")
        (out / "data_stats.json").write_text(json.dumps(extra, indent=2), encoding="utf-8")
    trainer.accelerator.wait_for_everyone()
    return out


def run_training(cfg: TrainConfig, *, callbacks: Sequence[TrainerCallback] = ()) -> Path:
    """Train one stage as `cfg` says; return the output folder (a complete HF model folder)."""
    if not cfg.output_dir:
        raise UserError("no output folder: pass --output-dir DIR")
    # the model is never written over or into what it is made from; a file in the way is named
    output_folder(cfg.output_dir, [*cfg.data, cfg.image_root, cfg.init_from, cfg.projector, cfg.vision_path,
                                   cfg.llm_path], "--output-dir")
    checkpoint = _resume_checkpoint(cfg)
    set_seed(cfg.seed)
    main = cfg.process_index == 0
    model, processor = build_model_and_processor(cfg)
    from lrm_llava.model import apply_stage

    counts = apply_stage(model, cfg.stage, lora=lora_options(cfg))
    speedups = apply_speedups(cfg, model)
    dataset = build_train_dataset(cfg, processor, show_progress=main)
    if main:
        logger.warning("stage %s: %d trainable / %d frozen parameters; data: %s", cfg.stage,
                       counts["trainable"], counts["frozen"], dataset.stats.summary())
    global_batch = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps * cfg.world_size
    out = Path(cfg.output_dir)
    from lrm_llava.train.flops import StepMeter

    meter = StepMeter.for_model(model, cfg)
    extra_callbacks = []
    if cfg.checkpoint_every > 1 and (getattr(cfg, "activation_checkpointing", None) or cfg.gradient_checkpointing):
        from lrm_llava.train.kernels import SelectiveCheckpointing

        extra_callbacks.append(SelectiveCheckpointing(cfg.checkpoint_every))
    trainer = LlavaTrainer(
        model=model, args=cfg, train_dataset=dataset, data_collator=build_collator(cfg, processor),
        processing_class=processor, lengths=dataset.lengths, has_image=dataset.has_image,
        callbacks=[*extra_callbacks, *callbacks], loss_fn=build_loss_fn(cfg, liger=bool(speedups.get("liger"))),
        meter=meter,
    )
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(DenseLogCallback(out / LOG_FILE if main else None, global_batch, meter=meter))
    trainer.train(resume_from_checkpoint=checkpoint)
    stats = {"stage": cfg.stage, "parameters": counts, "data": dataset.stats.as_dict(),
             "global_steps": trainer.state.global_step}
    return save_final(trainer, model, processor, cfg, stats)
