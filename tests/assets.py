"""Tiny, offline test assets for the framework tests.

Everything here is built locally in a few seconds from a small built-in corpus: nothing is
downloaded from a hub. This module imports only the standard library at import time (heavy
imports live inside the functions), so it can be imported from any test environment, and it
never imports ``tracker``.

Builders (each takes a folder, creates it if needed and returns the path it wrote):

* :func:`build_hf_model` -- a byte-level BPE tokenizer (``tokenizers`` library, wrapped as a
  ``PreTrainedTokenizerFast`` with pad/bos/eos and a chat template) plus a random-weight
  2-layer Llama or Qwen2 model, both saved with ``save_pretrained``.
* :func:`build_sft_dataset`, :func:`build_preference_dataset`, :func:`build_prompt_dataset`,
  :func:`build_completion_dataset` -- small JSON datasets (alpaca/instruct,
  prompt/chosen/rejected, prompt-only, prompt/completion).
* :func:`build_llamafactory_data` -- a LLaMA-Factory ``dataset_dir`` with
  ``dataset_info.json``, an alpaca-format SFT set (``tiny_sft``) and a pairwise set
  (``tiny_dpo``).
* :func:`build_torchtune_assets` -- a SentencePiece tokenizer, a random tiny torchtune Llama2
  checkpoint, a JSON instruct dataset and YAML configs for the torchtune single-device
  full and LoRA recipes.
* :func:`write_qa_data`, :func:`build_lm_eval_task` -- a multiple-choice question set as a
  local JSON-lines file, and an lm-evaluation-harness task (YAML) over it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = [
    "CHAT_TEMPLATE",
    "TINY_QA",
    "build_completion_dataset",
    "build_corpus",
    "build_hf_model",
    "build_llamafactory_data",
    "build_lm_eval_task",
    "build_preference_dataset",
    "build_prompt_dataset",
    "build_sft_dataset",
    "build_torchtune_assets",
    "instruct_records",
    "preference_records",
    "write_qa_data",
]

# --------------------------------------------------------------------------------------
# Built-in corpus
# --------------------------------------------------------------------------------------

_COLORS = ["red", "blue", "green", "yellow", "black", "white", "orange", "purple"]
_ANIMALS = ["cat", "dog", "bird", "fish", "horse", "mouse", "fox", "bear"]
_VERBS = ["sees", "likes", "follows", "finds", "chases", "helps"]
_THINGS = ["ball", "tree", "house", "river", "box", "apple", "stone", "road"]
_NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen",
]  # fmt: skip


def instruct_records(n: int = 32, seed: int = 0) -> list[dict[str, str]]:
    """Alpaca-style records: ``instruction``, ``input``, ``output`` (tiny arithmetic/copy tasks)."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    for i in range(n):
        if i % 2 == 0:
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            out.append(
                {
                    "instruction": "Add the two numbers.",
                    "input": f"{a} plus {b}",
                    "output": f"{a} plus {b} is {a + b}, {_NUMBER_WORDS[a + b]}.",
                }
            )
        else:
            c, an = rng.choice(_COLORS), rng.choice(_ANIMALS)
            out.append(
                {
                    "instruction": "Describe the animal.",
                    "input": f"{c} {an}",
                    "output": f"The {an} is {c}.",
                }
            )
    return out


def preference_records(n: int = 32, seed: int = 1) -> list[dict[str, str]]:
    """Preference records: ``prompt``, ``chosen``, ``rejected`` (standard, non-chat format)."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    for _ in range(n):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        wrong = (a + b + rng.randint(1, 5)) % 19
        out.append(
            {
                "prompt": f"What is {a} plus {b}?",
                "chosen": f" {a} plus {b} is {a + b}.",
                "rejected": f" {a} plus {b} is {wrong}.",
            }
        )
    return out


def build_corpus(n_sentences: int = 400, seed: int = 0) -> list[str]:
    """Plain-text sentences used to train the tiny tokenizers (covers the dataset vocabulary)."""
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(n_sentences):
        lines.append(
            f"The {rng.choice(_COLORS)} {rng.choice(_ANIMALS)} {rng.choice(_VERBS)} "
            f"the {rng.choice(_THINGS)}."
        )
    for rec in instruct_records(64) + instruct_records(64, seed=7):
        lines.append(f"{rec['instruction']} {rec['input']} {rec['output']}")
    for prec in preference_records(64):
        lines.append(f"{prec['prompt']}{prec['chosen']}{prec['rejected']}")
    lines.extend(f"{i} is {w}." for i, w in enumerate(_NUMBER_WORDS))
    lines.append("Human: Assistant: system user assistant Question? Answer!")
    lines.append("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,:;!?'\"-()")
    return lines


def _write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Hugging Face (transformers / TRL / PEFT / LLaMA-Factory)
# --------------------------------------------------------------------------------------

PAD, BOS, EOS, UNK = "<|pad|>", "<|bos|>", "<|eos|>", "<|unk|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]

#: Simple chat template: ``<|role|>\ncontent<|eos|>\n`` per message, then ``<|assistant|>\n``
#: when a generation prompt is asked for.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

_ARCHS = ("llama", "qwen2")


#: Qwen2's pre-tokenizer split (as in transformers' Qwen2Tokenizer). transformers v5 rebuilds a
#: ``qwen2`` model's tokenizer as ``Qwen2Tokenizer`` from vocab + merges with this pipeline, so
#: the qwen2 variant is trained with the same pipeline to keep token ids identical either way.
_QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def _train_bpe_tokenizer(vocab_size: int, arch: str = "llama") -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    if arch == "qwen2":
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:  # GPT-2 style byte-level BPE
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[PAD, BOS, EOS, UNK, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(build_corpus(), trainer=trainer)
    return tok


def build_hf_tokenizer(path: str | Path, vocab_size: int = 384, arch: str = "llama") -> Any:
    """Train and save the tiny tokenizer; returns the ``PreTrainedTokenizerFast``."""
    from transformers import PreTrainedTokenizerFast

    path = Path(path)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_bpe_tokenizer(vocab_size, arch),
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=512,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(path))
    return tokenizer


def build_hf_model(
    path: str | Path,
    arch: str = "llama",
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    intermediate_size: int = 128,
    max_position_embeddings: int = 512,
    vocab_size: int = 384,
    seed: int = 0,
) -> Path:
    """Save a random-weight tiny causal LM (``arch``: ``"llama"``/``"qwen2"``) and its tokenizer.

    The folder loads offline with ``AutoModelForCausalLM.from_pretrained(path)`` and
    ``AutoTokenizer.from_pretrained(path)``. About 70k parameters, ~300 KB on disk.
    """
    if arch not in _ARCHS:
        raise ValueError(f"arch must be one of {_ARCHS}, got {arch!r}")
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, Qwen2Config

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_hf_tokenizer(path, vocab_size=vocab_size, arch=arch)
    vocab = len(tokenizer)  # may be < vocab_size if the corpus ran out of merges
    common: dict[str, Any] = {
        "vocab_size": vocab,
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": num_kv_heads,
        "max_position_embeddings": max_position_embeddings,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
    }
    config = LlamaConfig(**common) if arch == "llama" else Qwen2Config(**common)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
        max_new_tokens=8,
    )
    model.save_pretrained(str(path))
    return path


def build_sft_dataset(path: str | Path, n: int = 32) -> Path:
    """JSON list of alpaca records (``instruction``/``input``/``output``) at ``path`` (a file)."""
    return _write_json(Path(path), instruct_records(n))


def build_preference_dataset(path: str | Path, n: int = 32) -> Path:
    """JSON list of ``prompt``/``chosen``/``rejected`` records at ``path`` (a file)."""
    return _write_json(Path(path), preference_records(n))


def build_prompt_dataset(path: str | Path, n: int = 16) -> Path:
    """JSON list of ``{"prompt": ...}`` records (for GRPO-style online trainers)."""
    return _write_json(Path(path), [{"prompt": r["prompt"]} for r in preference_records(n)])


def build_completion_dataset(path: str | Path, n: int = 32) -> Path:
    """JSON list of ``prompt``/``completion`` records (TRL's SFT format) at ``path``."""
    records = [
        {"prompt": f"{r['instruction']} {r['input']}", "completion": r["output"]}
        for r in instruct_records(n)
    ]
    return _write_json(Path(path), records)


def build_hf_data(root: str | Path) -> Path:
    """``sft.json``, ``pref.json`` and ``prompts.json`` in ``root``: tiny instruct,
    preference and prompt sets for the Trainer and TRL tests; ``completions/train.json``
    the instruct set as prompts and completions, alone in its folder so that
    ``load_dataset(root / "completions")`` (``trl sft --dataset_name``) reads it."""
    root = Path(root)
    build_sft_dataset(root / "sft.json")
    build_preference_dataset(root / "pref.json")
    build_prompt_dataset(root / "prompts.json")
    build_completion_dataset(root / "completions" / "train.json")
    return root


def build_llamafactory_data(path: str | Path, n: int = 16) -> Path:
    """A LLaMA-Factory ``dataset_dir``: ``dataset_info.json`` + ``tiny_sft`` + ``tiny_dpo``.

    Use with ``dataset_dir=<path>``, ``dataset="tiny_sft"`` (stage ``sft``; also as
    ``eval_dataset``) or ``dataset="tiny_dpo"`` (stage ``dpo``/``rm``).
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _write_json(path / "tiny_sft.json", instruct_records(n))
    pairs = [
        {"instruction": r["prompt"], "input": "", "chosen": r["chosen"].strip(),
         "rejected": r["rejected"].strip()}
        for r in preference_records(n)
    ]  # fmt: skip
    _write_json(path / "tiny_dpo.json", pairs)
    info = {
        "tiny_sft": {
            "file_name": "tiny_sft.json",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"},
        },
        "tiny_dpo": {
            "file_name": "tiny_dpo.json",
            "ranking": True,
            "columns": {
                "prompt": "instruction",
                "query": "input",
                "chosen": "chosen",
                "rejected": "rejected",
            },
        },
    }
    _write_json(path / "dataset_info.json", info)
    return path


# --------------------------------------------------------------------------------------
# torchtune
# --------------------------------------------------------------------------------------

#: Arguments of the tiny ``torchtune.models.llama2.llama2`` used by :func:`build_torchtune_assets`.
TORCHTUNE_MODEL: dict[str, int] = {
    "vocab_size": 256,
    "num_layers": 2,
    "num_heads": 4,
    "num_kv_heads": 4,
    "embed_dim": 64,
    "max_seq_len": 256,
}


def _train_sentencepiece(model_prefix: Path, vocab_size: int) -> Path:
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    corpus = build_corpus()
    # the alpaca prompt wording torchtune's AlpacaToMessages puts around each record
    corpus += [
        "Below is an instruction that describes a task, paired with an input that provides "
        "further context. Write a response that appropriately completes the request.",
        "### Instruction: ### Input: ### Response:",
    ] * 4
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    out = model_prefix.with_suffix(".model")
    out.write_bytes(buf.getvalue())
    return out


def build_torchtune_assets(
    path: str | Path, *, n_records: int = 32, max_steps_per_epoch: int = 3, seed: int = 0
) -> dict[str, Path]:
    """Build everything a torchtune single-device recipe needs, into ``path``.

    Layout::

        path/tokenizer.model          SentencePiece BPE, vocab 256 (unk=0, bos=1, eos=2)
        path/checkpoint/model.pt      torchtune-format state dict of the tiny llama2
        path/data/train.json          alpaca-format records
        path/full.yaml                config for ``tune run full_finetune_single_device``
        path/lora.yaml                config for ``tune run lora_finetune_single_device``
        path/output/                  output_dir of both configs (checkpoints, logs)

    Returns a dict with the keys ``tokenizer``, ``checkpoint``, ``dataset``, ``full_config``,
    ``lora_config`` and ``output_dir``. The configs use
    ``torchtune.training.FullModelTorchTuneCheckpointer``, the ``_component_`` builders
    ``torchtune.models.llama2.llama2`` / ``lora_llama2`` with :data:`TORCHTUNE_MODEL`, and
    ``torchtune.datasets.alpaca_dataset`` with ``source: json``; device ``cpu``, dtype ``fp32``.
    Override keys on the ``tune run`` command line (``key=value``) as needed.
    """
    import torch
    import yaml
    from torchtune.models.llama2 import llama2

    path = Path(path).resolve()
    (path / "checkpoint").mkdir(parents=True, exist_ok=True)
    tok_path = _train_sentencepiece(path / "tokenizer", TORCHTUNE_MODEL["vocab_size"])

    torch.manual_seed(seed)
    model = llama2(**TORCHTUNE_MODEL)
    ckpt = path / "checkpoint" / "model.pt"
    torch.save(model.state_dict(), ckpt)

    data = _write_json(path / "data" / "train.json", instruct_records(n_records))
    output_dir = path / "output"

    base: dict[str, Any] = {
        "output_dir": str(output_dir),
        "model": {"_component_": "torchtune.models.llama2.llama2", **TORCHTUNE_MODEL},
        "tokenizer": {
            "_component_": "torchtune.models.llama2.llama2_tokenizer",
            "path": str(tok_path),
            "max_seq_len": TORCHTUNE_MODEL["max_seq_len"],
            "prompt_template": None,
        },
        "checkpointer": {
            "_component_": "torchtune.training.FullModelTorchTuneCheckpointer",
            "checkpoint_dir": str(ckpt.parent),
            "checkpoint_files": [ckpt.name],
            "recipe_checkpoint": None,
            "output_dir": "${output_dir}",
            "model_type": "LLAMA2",
        },
        "resume_from_checkpoint": False,
        "dataset": {
            "_component_": "torchtune.datasets.alpaca_dataset",
            "source": "json",
            "data_files": str(data),
            "split": "train",
            "packed": False,
        },
        "seed": seed,
        "shuffle": True,
        "batch_size": 2,
        "epochs": 1,
        "max_steps_per_epoch": max_steps_per_epoch,
        "gradient_accumulation_steps": 1,
        "clip_grad_norm": None,
        "optimizer": {"_component_": "torch.optim.AdamW", "lr": 1e-3, "fused": False},
        "loss": {"_component_": "torchtune.modules.loss.CEWithChunkedOutputLoss"},
        "compile": False,
        "device": "cpu",
        "dtype": "fp32",
        "enable_activation_checkpointing": False,
        "enable_activation_offloading": False,
        "metric_logger": {
            "_component_": "torchtune.training.metric_logging.DiskLogger",
            "log_dir": "${output_dir}/logs",
        },
        "log_every_n_steps": 1,
        "log_peak_memory_stats": False,
        "profiler": {"_component_": "torchtune.training.setup_torch_profiler", "enabled": False},
    }
    full = {**base, "optimizer_in_bwd": False}
    lora = {
        **base,
        "model": {
            "_component_": "torchtune.models.llama2.lora_llama2",
            **TORCHTUNE_MODEL,
            "lora_attn_modules": ["q_proj", "v_proj", "output_proj"],
            "apply_lora_to_mlp": True,
            "apply_lora_to_output": False,
            "lora_rank": 4,
            "lora_alpha": 8,
            "lora_dropout": 0.0,
        },
        "checkpointer": {**base["checkpointer"], "adapter_checkpoint": None},
        "save_adapter_weights_only": False,
        "optimizer": {**base["optimizer"], "weight_decay": 0.01},
        "lr_scheduler": {
            "_component_": "torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup",
            "num_warmup_steps": 1,
        },
    }
    full_cfg = path / "full.yaml"
    lora_cfg = path / "lora.yaml"
    full_cfg.write_text(yaml.safe_dump(full, sort_keys=False), encoding="utf-8")
    lora_cfg.write_text(yaml.safe_dump(lora, sort_keys=False), encoding="utf-8")
    return {
        "tokenizer": tok_path,
        "checkpoint": ckpt,
        "dataset": data,
        "full_config": full_cfg,
        "lora_config": lora_cfg,
        "output_dir": output_dir,
    }


_RECIPE_CPU_PATCHES = [
    # logs device memory stats after loading the model: get_memory_stats raises on CPU
    (
        "        if self._is_rank_zero:\n"
        "            memory_stats = training.get_memory_stats(device=self._device)",
        '        if self._is_rank_zero and self._device.type != "cpu":\n'
        "            memory_stats = training.get_memory_stats(device=self._device)",
    ),
    # empties the device cache and resets peak memory stats before training: not on CPU
    (
        "        training.cleanup_before_training()",
        '        if self._device.type != "cpu":\n            training.cleanup_before_training()',
    ),
    # ends each rank, its work done, with the exit hooks (the tracker run's end among them)
    # and then no interpreter teardown, where torch's gloo exit race aborts a rank with
    # SIGABRT once in 15-30 runs (docs/distributed.md; tests/workers.py's exit_now)
    (
        "    recipe.train()\n    recipe.cleanup()\n",
        "    recipe.train()\n    recipe.cleanup()\n"
        "    import atexit, os\n"
        "    atexit._run_exitfuncs()\n"
        "    sys.stdout.flush()\n"
        "    sys.stderr.flush()\n"
        "    os._exit(0)\n",
    ),
]


def patch_recipe_for_cpu(recipe: Path) -> None:
    """Make a `tune cp` copy of ``full_finetune_distributed`` run on CPU (gloo): skip the
    two device-memory calls the CPU lacks, and end each rank without interpreter teardown
    (torch's exit race). Fails loudly if the recipe changed upstream."""
    source = recipe.read_text()
    for old, new in _RECIPE_CPU_PATCHES:
        assert source.count(old) == 1, (
            f"the recipe changed upstream, patch no longer applies:\n{old}"
        )
        source = source.replace(old, new)
    recipe.write_text(source)


# --------------------------------------------------------------------------------------
# Evaluation tasks (lm-evaluation-harness, lighteval)
# --------------------------------------------------------------------------------------

TINY_QA: list[tuple[str, list[str], int]] = [
    ("The sky is", ["blue", "green", "loud"], 0),
    ("Two plus two is", ["five", "four", "ten"], 1),
    ("Water is", ["dry", "wet", "square"], 1),
    ("A cat says", ["meow", "moo", "quack"], 0),
    ("Fire is", ["cold", "blue", "hot"], 2),
    ("Ice is", ["cold", "hot", "red"], 0),
]
"""Six multiple-choice questions: (question, choices, index of the right choice)."""

_LM_EVAL_TASK = """\
task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: choices
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def write_qa_data(path: str | Path, questions: list[tuple[str, list[str], int]]) -> Path:
    """``questions`` as a JSON-lines file of ``question``, ``choices``, ``label`` rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ({"question": q, "choices": c, "label": a} for q, c, a in questions)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def build_lm_eval_task(
    path: str | Path, name: str, questions: list[tuple[str, list[str], int]]
) -> Path:
    """A folder for lm-eval's ``--include_path``: task ``name`` (multiple choice, scored
    by ``acc``) over ``questions`` in a local JSON-lines file, no hub."""
    folder = Path(path)
    data = write_qa_data(folder / f"{name}.jsonl", questions)
    (folder / f"{name}.yaml").write_text(_LM_EVAL_TASK.format(name=name, data=data))
    return folder
