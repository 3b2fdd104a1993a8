"""Task instructions: MVQA / EP-VQA / BVQA builders, language mixing and the `data build` job.

    from lrm_llava.instruct import BuildConfig, build_dataset
    stats = build_dataset(BuildConfig(sources=["en.json"], out="multi.json", languages="zh,de",
                                      backend="table", table="translations.jsonl"))

CLI: `lrm-llava data build --source en.json --stage finetune --languages zh,de --backend pseudo
--out multi.json`. See docs/data.md.
"""

from lrm_llava.instruct.build import DEFAULT_PRICES, STAGE_TASKS, BuildConfig, BuildStats, build_dataset
from lrm_llava.instruct.mix import Assignment, apportion, plan_mix, split_evenly
from lrm_llava.instruct.sources import Source, load_sources
from lrm_llava.instruct.tasks import (
    TASKS,
    answer_in_request,
    bvqa,
    epvqa,
    epvqa_target,
    mvqa,
    mvqa_caption,
)

__all__ = [
    "DEFAULT_PRICES",
    "STAGE_TASKS",
    "TASKS",
    "Assignment",
    "BuildConfig",
    "BuildStats",
    "Source",
    "answer_in_request",
    "apportion",
    "build_dataset",
    "bvqa",
    "epvqa",
    "epvqa_target",
    "load_sources",
    "mvqa",
    "mvqa_caption",
    "plan_mix",
    "split_evenly",
]
