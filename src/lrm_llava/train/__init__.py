"""Two-stage LLaVA training on the HF Trainer: config, recipes, shipped launch configs, the job.

    from lrm_llava.train import load_recipe, run_training, config_path
    cfg = load_recipe("paper-vicuna13b", "pretrain", {"output_dir": "runs/13b/stage1"})
    run_training(cfg)          # -> Path of the finished HF folder

Command line: `lrm-llava train --recipe NAME --stage pretrain|finetune ...` (see train/cli.py).
"""

from lrm_llava import lazy_exports

_EXPORTS = {
    "lrm_llava.train.config": (
        "STAGE_LEARNING_RATES", "TrainConfig", "config_to_dict", "valid_keys",
    ),
    "lrm_llava.train.launch": (
        "config_path", "launch_command", "list_configs",
    ),
    "lrm_llava.train.recipes": (
        "list_recipes", "load_recipe", "read_recipe", "recipe_file", "resolve_recipe",
    ),
    "lrm_llava.train.trainer": (
        "DenseLogCallback", "LlavaTrainer", "build_collator", "build_train_dataset",
        "build_model_and_processor", "forward_and_loss", "run_training",
    ),
}
"""Module -> the public names it defines (imported on first use)."""

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
