"""Two-stage LLaVA training on the HF Trainer: config, recipes, shipped launch configs, the job.

    from lrm_llava.train import load_recipe, run_training, config_path
    cfg = load_recipe("paper-vicuna13b", "pretrain", {"output_dir": "runs/13b/stage1"})
    run_training(cfg)          # -> Path of the finished HF folder

Command line: `lrm-llava train --recipe NAME --stage pretrain|finetune ...` (see train/cli.py).
"""

from lrm_llava.train.config import STAGE_LEARNING_RATES, TrainConfig, config_to_dict, valid_keys
from lrm_llava.train.launch import config_path, launch_command, list_configs
from lrm_llava.train.recipes import (
    list_recipes,
    load_recipe,
    read_recipe,
    recipe_file,
    resolve_recipe,
)
from lrm_llava.train.trainer import (
    DenseLogCallback,
    LlavaTrainer,
    build_collator,
    build_dataset,
    build_model_and_processor,
    forward_and_loss,
    run_training,
)

__all__ = [
    "STAGE_LEARNING_RATES",
    "DenseLogCallback",
    "LlavaTrainer",
    "TrainConfig",
    "build_collator",
    "build_dataset",
    "build_model_and_processor",
    "config_path",
    "config_to_dict",
    "forward_and_loss",
    "launch_command",
    "list_configs",
    "list_recipes",
    "load_recipe",
    "read_recipe",
    "recipe_file",
    "resolve_recipe",
    "run_training",
    "valid_keys",
]
