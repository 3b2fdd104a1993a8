"""Side-by-side jobs: results in order, failures gathered, and a live progress line from the logs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lrm_llava.errors import UserError
from lrm_llava.parallel import Job, format_progress, last_line, run_jobs


def _script(code: str) -> tuple:
    # subprocess.run is picklable by reference, and its child writes to the job's redirected stdout
    return ([sys.executable, "-c", code],)


def test_progress_reports_the_last_log_line_of_running_jobs(tmp_path):
    slow = "import sys, time\nfor i in range(3):\n    print(f'step {i + 1}/3', flush=True)\n    time.sleep(0.6)"
    jobs = [Job("slow", subprocess.run, _script(slow), tmp_path / "slow.log"),
            Job("quick", subprocess.run, _script("print('done')"), tmp_path / "quick.log")]
    seen: list[dict[str, str]] = []
    ended: list[str] = []
    results = run_jobs(jobs, 2, 1, on_done=lambda job, n, err: ended.append(job.label),
                       on_progress=seen.append, progress_every=0.3)
    assert [r.returncode for r in results] == [0, 0]
    assert sorted(ended) == ["quick", "slow"]
    assert seen, "no progress line in 1.8 s of a running job"
    assert all(set(lines) <= {"slow", "quick"} for lines in seen)
    assert any(lines.get("slow", "").startswith("step ") for lines in seen)
    assert (tmp_path / "slow.log").read_text() == "step 1/3\nstep 2/3\nstep 3/3\n"


def test_failures_are_gathered_with_their_logs(tmp_path):
    jobs = [Job("fine", subprocess.run, ([sys.executable, "-c", "pass"],), tmp_path / "fine.log"),
            Job("worse", int, ("not a number",), tmp_path / "worse.log")]
    with pytest.raises(UserError, match=r"(?s)1 of 2 jobs failed.*worse: ValueError.*worse\.log"):
        run_jobs(jobs, 2, 1)


def test_last_line_reads_progress_bars_and_format_drops_their_glyphs(tmp_path):
    log = tmp_path / "a.log"
    assert last_line(log) == ""
    log.write_text("loading\n 10%|█         | 1/10 [00:01<00:09]\r 20%|██        | 2/10 [00:02<00:08]\r   \n")
    assert last_line(log) == "20%|██        | 2/10 [00:02<00:08]"
    assert format_progress({"lrm-llava": last_line(log), "english-only": "step 30/4000  loss 0.9"}) == (
        "lrm-llava: 20% 2/10 [00:02<00:08] | english-only: step 30/4000 loss 0.9")
