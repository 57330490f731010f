#!/usr/bin/env bash
# Set up the "hf" environment (torch CPU, transformers, TRL, ...) and run the main job:
# train a tiny model with a real Trainer, tracked on the embedded default store, then show
# the recorded run (config, final metrics, where it is stored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/env.sh hf
exec .venvs/hf/bin/python scripts/demo.py "$@"
