"""Write runs with the real trackers, offline, as their users do (a process of its own).

    python produce.py tensorboard DIR NAME STEPS [FIRST]
    python produce.py mlflow URI NAME STEPS [--experiment E] [--fail] [--nested]
    python produce.py wandb DIR NAME STEPS [FIRST] [--mixed]
    python produce.py trackio DIR NAME STEPS [FIRST] [--mixed] [--sparse]
    python produce.py trainer DIR NAME STEPS

``trainer`` trains a tiny causal LM with ``Trainer(report_to="tensorboard")`` (event
files in DIR/NAME) and `CustomTrackerCallback` beside it (the native run, in the store
of ``TRACKER_DIR``, project ``native``): one training, recorded both ways.

Each run logs ``loss`` = 1/(step+1) and ``eval_acc`` (NaN at step 2, +inf at step 3,
else step/STEPS) at steps FIRST..FIRST+STEPS-1, with config ``lr`` = 0.1 and
``optimizer`` = "adam" (TensorBoard: as hparams; MLflow: params), and (where the tool
has them) a tag ``baseline`` and a summary ``best`` = 0.9.
"""

from __future__ import annotations

import argparse
import math
import os


def value(step: int, steps: int) -> float:
    """``eval_acc`` at ``step``."""
    if step == 2:
        return math.nan
    if step == 3:
        return math.inf
    return step / steps


def tensorboard(args: argparse.Namespace) -> None:
    """torch's SummaryWriter: scalars, text, hparams."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(os.path.join(args.where, args.name))
    for step in range(args.first, args.first + args.steps):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("eval_acc", value(step, args.steps), step)
    writer.add_text("notes", "tiny run", args.first)
    if args.first == 0:
        writer.add_hparams({"lr": 0.1, "optimizer": "adam"}, {"hparam/best": 0.9})
    writer.close()


def mlflow(args: argparse.Namespace) -> None:
    """mlflow.log_metrics on a tracking store (SQLite or files)."""
    import mlflow as ml

    ml.set_tracking_uri(args.where)
    ml.set_experiment(args.experiment)
    with ml.start_run(run_name=args.name) as run:
        ml.log_params({"lr": 0.1, "optimizer": "adam"})
        ml.set_tag("baseline", "yes")
        for step in range(args.first, args.first + args.steps):
            ml.log_metrics({"loss": 1.0 / (step + 1), "eval_acc": value(step, args.steps)}, step)
        if args.nested:  # a trial of a search, under its parent run
            with ml.start_run(run_name=f"{args.name}-trial", nested=True):
                ml.log_params({"lr": 0.01})
                ml.log_metrics({"loss": 0.5}, 0)
        if args.fail:
            ml.end_run(status="FAILED")
    print(run.info.run_id)


def wandb(args: argparse.Namespace) -> None:
    """wandb offline: config, history, summary."""
    import wandb as wb

    run = wb.init(
        project="wproj",
        name=args.name,
        dir=args.where,
        config={"lr": 0.1, "optimizer": "adam"},
        tags=["baseline"],
        mode="offline",
    )
    for step in range(args.first, args.first + args.steps):
        row = {"loss": 1.0 / (step + 1), "eval_acc": value(step, args.steps)}
        if args.mixed:  # a metric that is sometimes text
            row["mixed"] = "text" if step % 2 else float(step)
        run.log(row, step=step)
    run.summary["best"] = 0.9
    run.finish()


def trackio(args: argparse.Namespace) -> None:
    """trackio locally (TRACKIO_DIR)."""
    import trackio as tk

    tk.init(project="tproj", name=args.name, config={"lr": 0.1, "optimizer": "adam"})
    for step in range(args.first, args.first + args.steps):
        row: dict[str, object] = {"loss": 1.0 / (step + 1), "eval_acc": value(step, args.steps)}
        if args.mixed:  # a metric that is sometimes text
            row["mixed"] = "text" if step % 2 else float(step)
        if args.sparse and step % 2 == 0:  # a metric not logged at every step
            row["sparse"] = float(step)
        tk.log(row, step=step)
    tk.finish()


def trainer(args: argparse.Namespace) -> None:
    """A tiny Trainer on CPU, evaluated every other step, reporting to TensorBoard, with
    the tracker's callback beside it."""
    import torch
    import transformers

    from tracker.integrations.transformers import CustomTrackerCallback

    os.environ["TENSORBOARD_LOGGING_DIR"] = os.path.join(args.where, args.name)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=16,
    )  # fmt: skip
    model = transformers.LlamaForCausalLM(config)
    ids = torch.randint(0, 64, (16, 8))
    rows = [{"input_ids": row, "labels": row} for row in ids]
    training = transformers.TrainingArguments(
        output_dir=os.path.join(args.where, "out"), max_steps=args.steps,
        per_device_train_batch_size=4, per_device_eval_batch_size=4, logging_steps=1,
        eval_strategy="steps", eval_steps=2, save_strategy="no", report_to=["tensorboard"],
        use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, seed=0,
    )  # fmt: skip
    transformers.Trainer(
        model=model, args=training, train_dataset=rows, eval_dataset=rows[:8],
        callbacks=[CustomTrackerCallback(project="native", run_name=args.name)],
    ).train()  # fmt: skip


def main() -> None:
    """Write the run the arguments describe."""
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=("tensorboard", "mlflow", "wandb", "trackio", "trainer"))
    parser.add_argument("where")
    parser.add_argument("name")
    parser.add_argument("steps", type=int)
    parser.add_argument("first", type=int, nargs="?", default=0)
    parser.add_argument("--experiment", default="exp")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--nested", action="store_true")
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--sparse", action="store_true")
    args = parser.parse_args()
    globals()[args.tool](args)


if __name__ == "__main__":
    main()
