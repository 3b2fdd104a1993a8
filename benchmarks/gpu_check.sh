#!/usr/bin/env bash
# One prepared GPU check for docs/performance.md (about 6 minutes, at most 8):
#   1. environment (GPU, torch, transformers, optional liger-kernel / flash-attn)
#   2. a short pytest subset, with the GPU visible (the fast path on CUDA, fp32 and bf16)
#   3. benchmarks/train_throughput.py --gpu for the 1B- and the 7B-shaped LM (separate runs)
#   4. benchmarks/eval_throughput.py on the GPU
# Every step has its own timeout and the script keeps going when one fails; a summary table with
# each step's status, time and headline numbers comes last. Logs go to $OUT (or ./gpu_check_logs).
#
#   export PYTHONPATH=src; bash benchmarks/gpu_check.sh
#
# Needs nothing from the network and nothing beyond torch + transformers: Liger and flash-attn are
# used when installed and skipped otherwise.
set -u

LOG_DIR="${OUT:-gpu_check_logs}"
mkdir -p "$LOG_DIR"
export PYTHONPATH="${PYTHONPATH:-src}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY="${PYTHON:-python}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi

STEPS=()
declare -A RC SECS

run_step() {  # name timeout_s command...
    local name="$1" limit="$2"
    shift 2
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
for mod in ("liger_kernel", "flash_attn"):
    print(mod, "installed" if importlib.util.find_spec(mod) else "not installed")
'
nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.sm --format=csv >"$LOG_DIR/nvidia-smi.txt" 2>&1 || true

run_step pytest 80 "$PY" -m pytest -q -x -p no:cacheprovider tests/perf tests/infer/test_infer_generate.py

run_step train_1b 120 "$PY" benchmarks/train_throughput.py --gpu --sizes 1b --steps 6 --repeats 1
run_step train_7b 150 "$PY" benchmarks/train_throughput.py --gpu --sizes 7b --steps 4 --repeats 1

run_step eval_gpu 90 "$PY" benchmarks/eval_throughput.py --device cuda --dtype float32 --questions 128 \
    --batch-size 32 --repeats 1 --image-size 224 --patch-size 14 --text-hidden 1024 --vision-hidden 512 --layers 8

# -- summary (last) --------------------------------------------------------------------------------
echo
echo "==================== GPU check summary (logs: $LOG_DIR) ===================="
printf '%-10s %-6s %-6s %s\n' step rc secs result
for name in "${STEPS[@]}"; do
    result=$("$PY" - "$LOG_DIR/$name.log" <<'EOF' 2>/dev/null
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
last = next((json.loads(l) for l in reversed(text) if l.startswith("{") and l.endswith("}")), None)
if last is None:
    tail = [l for l in text if l.strip()][-1:] or [""]
    print(tail[0][:110])
elif last.get("metric") == "train_useful_tokens_per_s":
    parts = []
    for size, r in last.get("results", {}).items():
        if "variants" not in r:
            parts.append(f"{size}: {r.get('error', '?')[:60]}")
            continue
        b, o = r["variants"]["baseline"], r["variants"]["ours"]
        parts.append(f"{size}: {b['tokens_per_s']:.0f} -> {o['tokens_per_s']:.0f} tok/s x{o['tokens_per_s'] / b['tokens_per_s']:.2f}, "
                     f"MFU {b.get('mfu', 0):.1%} -> {o.get('mfu', 0):.1%}, mem {b.get('peak_mem_gib')} -> {o.get('peak_mem_gib')} GiB, "
                     f"ceiling {r.get('matmul_ceiling_tflops')} TFLOP/s")
    print("; ".join(parts))
else:
    print(f"{last.get('baseline')} -> {last.get('ours')} {last.get('unit', '')} x{last.get('ratio')} "
          + ("identical" if last.get("identical_predictions", True) else "PREDICTIONS DIFFER"))
EOF
)
    printf '%-10s %-6s %-6s %s\n' "$name" "${RC[$name]}" "${SECS[$name]}" "${result:-?}"
done
