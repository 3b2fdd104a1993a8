"""The ShapeWorld demo (`lrm-llava demo`, `make demo`): the whole paper, offline, on a CPU.

The job lives in `lrm_llava.pipeline` (the steps in `pipeline.steps`, their reuse rule in
`pipeline.reuse`, the demo in `pipeline.demo`, the command in `pipeline.cli`); this module keeps
the public entry points where they were:

    from lrm_llava.demo import DemoConfig, run_demo
    report_dir = run_demo(DemoConfig(out="runs/demo", quick=True))
"""

from __future__ import annotations

from lrm_llava.pipeline.demo import MODELS, DemoConfig, demo_variants, model_pipeline, run_demo, run_models
from lrm_llava.pipeline.steps import (
    DEMO_BENCH_SIZES,
    RunConfig,
    Variant,
    demo_phase,
    models_progress,
    step_backbones,
    step_bench,
    step_data,
    step_eval,
    step_reliance,
    step_train,
    step_world,
)

__all__ = [
    "DEMO_BENCH_SIZES", "MODELS", "DemoConfig", "RunConfig", "Variant", "demo_phase", "demo_variants",
    "model_pipeline", "models_progress", "run_demo", "run_models", "step_backbones", "step_bench",
    "step_data", "step_eval", "step_reliance", "step_train", "step_world",
]
