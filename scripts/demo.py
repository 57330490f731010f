"""The main job, end to end: train a tiny Llama with transformers' Trainer, tracked, on the
embedded default store, then show what was recorded.

Everything is built offline: a tokenizer trained on the spot, a model with random weights,
a small dataset. Run through ``bash scripts/demo.sh``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def train(workdir: Path) -> str:
    """Fine-tune the tiny model for a few dozen steps; return the run id."""
    from datasets import Dataset
    from tests.assets import build_corpus, build_hf_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    from tracker.integrations.transformers import CustomTrackerCallback

    model_dir = build_hf_model(workdir / "tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    texts = build_corpus(240)
    data = Dataset.from_dict({"text": texts}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=64),
        batched=True,
        remove_columns=["text"],
    )
    split = data.train_test_split(test_size=0.1, seed=0)
    callback = CustomTrackerCallback(project="demo", tags=["quickstart"])
    args = TrainingArguments(
        output_dir=str(workdir / "out"),
        run_name="tiny-llama-demo",
        max_steps=40,
        per_device_train_batch_size=8,
        learning_rate=3e-3,
        logging_steps=5,
        eval_strategy="steps",
        eval_steps=20,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=split["train"],
        eval_dataset=split["test"],
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        callbacks=[callback],
    )
    trainer.train()
    trainer.evaluate()
    assert callback.tracker is not None and callback.tracker.run_id is not None
    callback.tracker.finish()
    return callback.tracker.run_id


def show(run_id: str) -> None:
    """Print the recorded run: through `tracker show` when available, else the store API."""
    from tracker import open_store

    store = open_store()
    tracker_cli = Path(sys.executable).parent / "tracker"
    if tracker_cli.exists():
        subprocess.run([str(tracker_cli), "show", run_id], check=True)
    else:
        record = store.get_run(run_id)
        print(f"run {record.run_id} ({record.name}), project {record.project}: {record.status}")
        for key, value in sorted(record.config.items())[:20]:
            print(f"  config {key} = {value!r:.80}")
        for key, stats in store.metric_stats(run_id).items():
            print(f"  {key}: last {stats.last_value:.4g} at step {stats.last_step}")
    print(f"\nstored in {store.uri}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tracker-demo-") as tmp:
        run_id = train(Path(tmp))
    show(run_id)


if __name__ == "__main__":
    main()
