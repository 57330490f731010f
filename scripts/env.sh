#!/usr/bin/env bash
# Create or update the test environment .venvs/NAME from envs/NAME.txt.
#
#   scripts/env.sh NAME            # NAME in: core hf llamafactory torchtune ui analysis import lighteval
#   scripts/env.sh NAME --fresh    # delete .venvs/NAME first and rebuild from scratch
#
# Idempotent: a hash of this script and the env's requirement files is stored in
# .venvs/NAME/.env-hash; when it is unchanged (and the venv's python still runs) the
# script returns at once.
#
# Layout of envs/:
#   common.txt          project runtime deps + test tools, included by every env (-r common.txt)
#   NAME.txt            the env's requirements. A line `torch==X` is installed FIRST and on
#                       its own, then kept as a constraint for every later step: letting pip
#                       choose torch would pull a multi-GB CUDA build instead of the CPU wheel.
#   NAME.nodeps.txt     optional, installed afterwards with `pip install --no-deps`.
# Finally the project itself is installed editable without deps (`pip install --no-deps -e .`)
# and an env-specific check (verify_NAME below) runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:-}"
FRESH=0
[[ "${2:-}" == "--fresh" ]] && FRESH=1

if [[ -z "$NAME" || ! -f "$ROOT/envs/$NAME.txt" ]]; then
    echo "usage: $0 NAME [--fresh]   (NAME: $(cd "$ROOT/envs" && ls ./*.txt | sed -e 's|^\./||' -e 's|\.txt$||' | grep -v -e '^common$' -e '\.nodeps$' | tr '\n' ' '))" >&2
    exit 2
fi

PY_BASE="${PYTHON:-python3}"
VENV="$ROOT/.venvs/$NAME"
STAMP="$VENV/.env-hash"
REQ="$ROOT/envs/$NAME.txt"
NODEPS="$ROOT/envs/$NAME.nodeps.txt"

hash_inputs() {
    {
        "$PY_BASE" -c 'import sys; print(sys.version)'
        cat "${BASH_SOURCE[0]}" "$ROOT/envs/common.txt" "$REQ"
        [[ -f "$NODEPS" ]] && cat "$NODEPS"
        # the project's own metadata (entry points etc.), and whether its editable install
        # can work yet (hatchling refuses to build while the README it names is missing)
        cat "$ROOT/pyproject.toml" 2>/dev/null
        ls "$ROOT/README.md" 2>/dev/null
        true
    } | sha256sum | cut -d' ' -f1
}
WANT="$(hash_inputs)"

if [[ $FRESH == 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && "$VENV/bin/python" -c '' 2>/dev/null; then
    echo "env.sh: .venvs/$NAME is up to date"
    exit 0
fi

START=$SECONDS
log() { echo "env.sh[$NAME +$((SECONDS - START))s]: $*"; }

if [[ $FRESH == 1 ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    log "creating venv"
    rm -rf "$VENV"
    mkdir -p "$ROOT/.venvs"
    "$PY_BASE" -m venv "$VENV"
fi
rm -f "$STAMP"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check --progress-bar off)

# Constraint file for every install step: keeps torch at the pinned CPU build.
CONS="$(mktemp)"
trap 'rm -f "$CONS"' EXIT
TORCH_PIN="$(grep -E '^[[:space:]]*torch==' "$REQ" | tr -d '[:space:]' || true)"
if [[ -n "$TORCH_PIN" ]]; then
    echo "$TORCH_PIN" > "$CONS"
    # The local CPU wheel lives in /opt/wheels on this machine kind (pip is also configured
    # to look there; naming it again is harmless and keeps this working without that config).
    FIND=()
    [[ -d /opt/wheels ]] && FIND=(--find-links /opt/wheels)
    log "installing $TORCH_PIN"
    "${PIP[@]}" "${FIND[@]}" -c "$CONS" "$TORCH_PIN"
fi

log "installing envs/$NAME.txt"
(cd "$ROOT/envs" && "${PIP[@]}" -c "$CONS" -r "$REQ")

if [[ -f "$NODEPS" ]]; then
    log "installing envs/$NAME.nodeps.txt (--no-deps)"
    (cd "$ROOT/envs" && "${PIP[@]}" --no-deps -r "$NODEPS")
fi

log "installing the project (editable, --no-deps)"
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
rm -f "$SITE/_tracker_src_fallback.pth"
if ! "${PIP[@]}" --no-deps -e "$ROOT" >"$VENV/.project-install.log" 2>&1; then
    # Keep the env usable while the project's packaging is broken (e.g. a file named in
    # pyproject.toml is missing): put src/ on sys.path directly. Console scripts and entry
    # points are missing then. The hash includes pyproject.toml and README.md's presence,
    # so the next call retries once those change.
    tail -n 5 "$VENV/.project-install.log" >&2
    echo "env.sh: WARNING: 'pip install -e .' failed (log: .venvs/$NAME/.project-install.log);" \
         "falling back to a .pth file for $ROOT/src" >&2
    echo "$ROOT/src" > "$SITE/_tracker_src_fallback.pth"
fi

post_llamafactory() {
    # LLaMA-Factory imports `torchaudio` when its data/multimodal modules load, although it
    # only uses it for audio inputs. PyPI's torchaudio wheels are built against other torch
    # builds and fail to load beside the CPU torch==2.13.0 wheel, so this env gets a tiny
    # stand-in package instead: importing it works, using any attribute raises. It has no
    # dist-info (importlib.metadata reports torchaudio absent), but transformers'
    # is_torchaudio_available() only looks for the module and says True: only audio code
    # paths would touch it, and those fail loudly.
    mkdir -p "$SITE/torchaudio"
    cat > "$SITE/torchaudio/__init__.py" <<'PYEOF'
"""Stand-in for torchaudio, written by scripts/env.sh (tracker test env "llamafactory").

LLaMA-Factory imports torchaudio at module import time but only uses it for audio data.
PyPI's torchaudio does not load beside the CPU torch wheel used here, so this module only
makes the import succeed. Any real use fails loudly.
"""

__version__ = "0.0.0+stub"


def __getattr__(name: str):  # PEP 562
    if name.startswith("__"):
        raise AttributeError(name)
    raise ImportError(
        f"torchaudio.{name}: this is a stand-in torchaudio (see scripts/env.sh); "
        "audio is not supported in this test environment"
    )
PYEOF
}

post_lighteval() {
    # lighteval loads its whole task registry for any evaluation, and one task module
    # (tiny_benchmarks) downloads tinyBenchmarks.pkl from GitHub when it is imported unless
    # the file lies beside it: with no network every evaluation fails. An empty stand-in
    # lets the registry load; only the tinyBenchmarks tasks, which read it, fail (loudly).
    local pkl
    pkl="$("$PY" -c 'import importlib.util as u, os; print(os.path.join(os.path.dirname(u.find_spec("lighteval").origin), "tasks", "tasks", "tinyBenchmarks.pkl"))')"
    [[ -s "$pkl" ]] || : > "$pkl"
}

verify_core() {
    "$PY" -c 'import pydantic, psutil, pytest, hypothesis, numpy'
    "$VENV/bin/ruff" --version >/dev/null
    "$VENV/bin/mypy" --version >/dev/null
}
verify_torch() {
    "$PY" - <<'PYEOF'
import torch
v = torch.__version__
assert v.startswith("2.13.0"), v
assert torch.version.cuda is None, f"expected the CPU torch build, got CUDA {torch.version.cuda}"
PYEOF
}
verify_hf() {
    verify_torch
    "$PY" -c 'import transformers, peft, accelerate, datasets, tokenizers, sentencepiece; from trl import SFTTrainer, DPOTrainer, GRPOTrainer'
}
verify_llamafactory() {
    verify_torch
    "$PY" -c 'import torchaudio; from llamafactory.train.tuner import run_exp'
}
verify_torchtune() {
    verify_torch
    "$PY" -c 'import torchao, torchtune, sentencepiece, omegaconf; from torchtune.models.llama2 import llama2, lora_llama2'
    "$VENV/bin/tune" ls >/dev/null
}

verify_analysis() {
    verify_torch
    "$PY" -c 'import pandas, polars, pyarrow, optuna, transformers, datasets; from trl import SFTTrainer'
}

verify_import() {
    verify_torch
    "$PY" -c 'import tensorboard, mlflow, sqlalchemy, alembic, wandb, trackio; from torch.utils.tensorboard import SummaryWriter; from wandb.proto import wandb_internal_pb2'
}

verify_lighteval() {
    verify_torch
    # not lighteval.pipeline: importing it takes ~10 s (torch, inspect-ai, every metric);
    # the tests import it at once
    "$PY" -c 'import transformers, datasets, psycopg, lighteval'
}

verify_ui() {
    "$PY" -c 'import bokeh, numpy, matplotlib, pyarrow; from playwright.sync_api import sync_playwright'
}

if declare -F "post_$NAME" >/dev/null; then
    log "post-install step"
    "post_$NAME"
fi
if declare -F "verify_$NAME" >/dev/null; then
    log "checking imports"
    "verify_$NAME"
fi

echo "$WANT" > "$STAMP"
log "done ($(du -sh "$VENV" | cut -f1))"
