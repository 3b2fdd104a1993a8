"""Orchestration, the top floor below the command line: the pipeline's steps and the jobs made of
them. It may import every other part of `lrm_llava` (except `cli.py`); nothing below imports it.

    steps.py       world -> backbones -> bench -> data -> train (2 stages) -> eval (-> reliance), over a
                   `Variant` (tasks, mix, backbones, seed) and a `RunConfig`
    reuse.py       the one reuse rule of the steps: a `DONE` marker recording the settings, compared
                   key by key (equal: reused; none: made; other: an error naming what differs)
    demo.py        the `demo` job: two models, side by side, then the report (`run_demo`)
    experiment.py  the `experiment` job: arms x seeds through a parallel run queue (`run_experiment`);
                   its tables are `lrm_llava.analysis.sweeps`
    cli.py         `register(subparsers)`: the `experiment` and `demo` commands

Modules are imported by name (`from lrm_llava.pipeline.demo import run_demo`); this file imports
nothing, so `lrm-llava --help` stays light.
"""
