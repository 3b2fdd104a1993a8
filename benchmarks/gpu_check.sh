#!/usr/bin/env bash
# One prepared GPU check for docs/performance.md: the 1B- and 7B-shaped stage 2 against plain HF,
# with the GPU switches (token-budget micro-batches, FlexAttention with the packed rows' document
# mask, Liger-Kernel when installed), printing tokens/s, MFU and peak memory of both paths.
# About 10 minutes, at most 14 (each step has its own timeout; the script goes on when one fails):
#   1. environment (GPU, torch, transformers, optional liger-kernel / flash-attn)      <= 1 min
#   2. the speed-up tests with the GPU visible (FlexAttention loss + gradients on CUDA,
#      the fast path in fp32 / bf16, FLOP count, token budget)                           <= 3 min
#   3. benchmarks/train_throughput.py --gpu --sizes 1b                                  <= 4 min
#   4. benchmarks/train_throughput.py --gpu --sizes 7b                                  <= 5.5 min
#   5. benchmarks/mt_rate.py --device cuda: CTranslate2 on the GPU with an NLLB-600M-shaped
#      random model, the rate that sizes a translation job (docs/data.md)                <= 4 min
#      (needs the `nmt` extra, ctranslate2; skipped when it is not installed)
# A summary table with each step's status, time and headline numbers comes last. Logs go to $OUT
# (or ./gpu_check_logs).
#
#   export PYTHONPATH=src; bash benchmarks/gpu_check.sh
#   TRAIN_ARGS="--checkpoint-every 2" bash benchmarks/gpu_check.sh   # extra switches for both sizes
#   ONLY="env mt_rate" bash benchmarks/gpu_check.sh                   # some steps only
#
# Needs nothing from the network and nothing beyond torch + transformers: Liger and flash-attn are
# used when installed and skipped otherwise. Not run yet (no GPU where it was written).
set -u

LOG_DIR="${OUT:-gpu_check_logs}"
mkdir -p "$LOG_DIR"
export PYTHONPATH="${PYTHONPATH:-src}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY="${PYTHON:-python}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi
TRAIN_ARGS="${TRAIN_ARGS:-}"

STEPS=()
declare -A RC SECS

run_step() {  # name timeout_s command...
    local name="$1" limit="$2"
    shift 2
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
    local log="$LOG_DIR/$name.log"
    echo "=== $name (timeout ${limit}s): $*" | tee "$log"
    local start end
    start=$(date +%s)
    timeout --signal=TERM --kill-after=10 "$limit" "$@" >>"$log" 2>&1
    RC[$name]=$?
    end=$(date +%s)
    SECS[$name]=$((end - start))
    STEPS+=("$name")
    tail -n 3 "$log"
    echo "--- $name: rc=${RC[$name]} in ${SECS[$name]}s"
}

run_step env 60 "$PY" -c '
import importlib.util, torch, transformers
print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__)
print("gpu", torch.cuda.get_device_name() if torch.cuda.is_available() else "NONE")
for mod in ("liger_kernel", "flash_attn", "triton"):
    print(mod, "installed" if importlib.util.find_spec(mod) else "not installed")
'
nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.sm --format=csv >"$LOG_DIR/nvidia-smi.txt" 2>&1 || true

run_step pytest 180 "$PY" -m pytest -q -x -p no:cacheprovider tests/perf/test_perf_kernels.py \
    tests/perf/test_perf_equivalence.py tests/train/test_flops.py tests/train/test_token_budget.py

# shellcheck disable=SC2086  # TRAIN_ARGS holds several words
run_step train_1b 240 "$PY" benchmarks/train_throughput.py --gpu --sizes 1b --steps 6 --repeats 1 $TRAIN_ARGS
# shellcheck disable=SC2086
run_step train_7b 330 "$PY" benchmarks/train_throughput.py --gpu --sizes 7b --steps 4 --repeats 1 $TRAIN_ARGS
if "$PY" -c 'import ctranslate2' 2>/dev/null; then
    run_step mt_rate 240 "$PY" benchmarks/mt_rate.py --device cuda --compute-type float16 \
        --workdir "$LOG_DIR/mt_rate_model" --json "$LOG_DIR/mt_rate.json"
    rm -rf "$LOG_DIR/mt_rate_model"  # 1.2 GB of random weights: not worth bringing back
fi

# -- summary (last) --------------------------------------------------------------------------------
echo
echo "==================== GPU check summary (logs: $LOG_DIR) ===================="
printf '%-9s %-4s %-5s %s\n' step rc secs result
for name in "${STEPS[@]}"; do
    result=$("$PY" - "$LOG_DIR/$name.log" <<'EOF' 2>/dev/null
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
last = next((json.loads(l) for l in reversed(text) if l.startswith("{") and l.endswith("}")), None)
try:  # a step that writes its result as a JSON file next to its log (mt_rate)
    last = last or json.load(open(sys.argv[1][:-len(".log")] + ".json", encoding="utf-8"))
except (OSError, ValueError):
    pass
if last is None:
    tail = [l for l in text if l.strip()][-1:] or [""]
    print(tail[0][:110])
elif last.get("metric") == "train_useful_tokens_per_s":
    lines = []
    for size, r in last.get("results", {}).items():
        if "variants" not in r:
            lines.append(f"{size}: {r.get('error', '?')[:90]}")
            continue
        base = r["variants"]["baseline"]
        peak = r.get("peak_tflops", {}).get("label", "no table peak")
        lines.append(f"{size} ({r.get('params_m')} M params, ceiling {r.get('matmul_ceiling_tflops')} TFLOP/s, "
                     f"table {peak}, token budget {r.get('token_budget')}):")
        for name, v in r["variants"].items():
            ratio = v["tokens_per_s"] / base["tokens_per_s"]
            lines.append(f"    {name:34s} {v['tokens_per_s']:>9.0f} tok/s x{ratio:4.2f}  "
                         f"MFU {v.get('mfu', 0):6.1%} (ceiling) {v.get('mfu_peak', 0):6.1%} (table)  "
                         f"peak mem {v.get('peak_mem_gib')} GiB  padding {v.get('padding_fraction', 0):.1%}")
    print("\n".join(lines))
elif last.get("metric") == "mt_segments_per_s":
    print(f"{last['segments_per_s']} segments/s, {last['target_tokens_per_s']} target tok/s "
          f"({last['compute_type']}, batch {last['batch_size']}); 1M segments x 9 languages: "
          f"{last['plan']['hours']['1']} h on 1 GPU")
else:
    print(f"{last.get('baseline')} -> {last.get('ours')} {last.get('unit', '')} x{last.get('ratio')}")
EOF
)
    printf '%-9s %-4s %-5s %s\n' "$name" "${RC[$name]}" "${SECS[$name]}" "${result:-?}"
done
echo "targets (7B-shaped): MFU >= 35 %, >= 2.5x plain HF tokens/s, peak memory not above plain HF"
