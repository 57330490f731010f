"""Run by test_hf_smoke.py under ``torchrun --nproc_per_node 2``: a tiny DDP Trainer on the CPU.

Usage: torchrun --nproc_per_node 2 ddp_trainer_script.py MODEL_DIR OUTPUT_DIR

On the CPU, Trainer/accelerate set up torch.distributed with the gloo backend themselves
(``use_cpu=True``); each rank prints ``DDP_OK rank=R world_size=W`` when training finished.
It ends with `workers.exit_now` (torch's exit race: see that function). Not a test module
(no ``test_`` prefix): pytest does not collect it.
"""

from __future__ import annotations

import os
import sys

import datasets
import torch.distributed as dist
import transformers

from workers import exit_now

MAX_STEPS = 2


def main(model_dir: str, output_dir: str) -> None:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    texts = [f"{a} plus {b} is {a + b}." for a in range(8) for b in range(4)]
    ds = datasets.Dataset.from_dict({"text": texts}).map(
        lambda b: tok(b["text"], truncation=True, max_length=32),
        batched=True,
        remove_columns=["text"],
    )
    args = transformers.TrainingArguments(
        output_dir=output_dir,
        max_steps=MAX_STEPS,
        per_device_train_batch_size=2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        ddp_backend="gloo",
        ddp_find_unused_parameters=False,
    )
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=ds,
        data_collator=transformers.DataCollatorForLanguageModeling(tok, mlm=False),
        processing_class=tok,
    )
    trainer.train()
    assert dist.is_initialized(), "expected torch.distributed to be initialised"
    assert trainer.state.global_step == MAX_STEPS
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == int(os.environ["WORLD_SIZE"])
    print(f"DDP_OK rank={rank} world_size={world}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    exit_now()
