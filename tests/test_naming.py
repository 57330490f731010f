"""The one metric naming scheme."""

from __future__ import annotations

from tracker.naming import sampled_by_time, split_metrics


def test_trainer_training_logs_go_to_train() -> None:
    """A Trainer's training log maps to train/ names; the global step key is dropped."""
    metrics, summary = split_metrics(
        {"loss": 1.5, "grad_norm": 0.3, "learning_rate": 1e-4, "epoch": 0.5, "step": 3}
    )
    assert metrics == {
        "train/loss": 1.5,
        "train/grad_norm": 0.3,
        "train/learning_rate": 1e-4,
        "train/epoch": 0.5,
    }
    assert summary == {}


def test_eval_and_predict_prefixes_become_sections() -> None:
    """eval_x and predict_x/test_x become eval/x and predict/x; runtimes go to the summary."""
    metrics, summary = split_metrics(
        {"eval_loss": 2.0, "eval_rewards/chosen": 0.1, "eval_runtime": 3.0, "predict_bleu-4": 9.0},
        final=True,
    )
    assert metrics == {"eval/loss": 2.0, "eval/rewards/chosen": 0.1, "predict/bleu-4": 9.0}
    assert summary == {"eval/runtime": 3.0}


def test_end_of_training_figures_go_to_the_summary() -> None:
    """train_runtime, total_flos and train_loss are summary values, not curves."""
    metrics, summary = split_metrics(
        {
            "train_runtime": 10.0,
            "train_samples_per_second": 5.0,
            "total_flos": 1e9,
            "train_loss": 1.2,
        },
        final=True,
    )
    assert metrics == {}
    assert summary == {
        "train/runtime": 10.0,
        "train/samples_per_second": 5.0,
        "train/total_flos": 1e9,
        "train/mean_loss": 1.2,
    }


def test_trl_and_torchtune_keys_keep_their_meaning() -> None:
    """TRL's slash keys stay under the phase; torchtune's lr is learning_rate."""
    metrics, _ = split_metrics({"rewards/chosen": 0.5, "kl": 0.01, "lr": 3e-4})
    assert metrics == {"train/rewards/chosen": 0.5, "train/kl": 0.01, "train/learning_rate": 3e-4}
    metrics, _ = split_metrics({"rewards/chosen": 0.5}, section="eval")
    assert metrics == {"eval/rewards/chosen": 0.5}


def test_keys_already_in_the_scheme_are_kept() -> None:
    """A key with a known section passes through untouched."""
    metrics, _ = split_metrics({"eval/accuracy": 0.9, "system/gpu/0/utilization": 50})
    assert metrics == {"eval/accuracy": 0.9, "system/gpu/0/utilization": 50}


def test_system_metrics_are_sampled_by_time() -> None:
    """system/ metrics are clock samples, read whole; training curves are read per step."""
    assert sampled_by_time("system/gpu/0/utilization")
    assert not sampled_by_time("train/loss")


def test_only_the_end_of_a_phase_fills_the_summary() -> None:
    """Without final (accelerate's and torchtune's log calls) train_loss is the train/loss
    curve, as accelerate's tracking example logs it once an epoch."""
    metrics, summary = split_metrics({"train_loss": 0.7, "epoch": 2, "accuracy": 0.8, "f1": 0.7})
    assert metrics == {
        "train/loss": 0.7,
        "train/epoch": 2,
        "eval/accuracy": 0.8,
        "eval/f1": 0.7,
    }
    assert summary == {}


def test_eval_token_counts_belong_to_eval() -> None:
    """TRL's eval_num_tokens is eval/num_input_tokens_seen, never a second train point."""
    metrics, _ = split_metrics({"eval_num_tokens": 512.0, "eval_loss": 1.0, "epoch": 1.0})
    assert metrics == {
        "eval/num_input_tokens_seen": 512.0,
        "eval/loss": 1.0,
        "train/epoch": 1.0,
    }
