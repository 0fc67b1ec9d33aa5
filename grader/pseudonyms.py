"""Stable pseudonyms for students and their written answers.

Reports, research exports and blind rating sheets must not show who a student is, yet
the instructor must be able to bring results back to the gradebook. Pseudonyms are
therefore HMAC-SHA256 codes under a random secret kept in the course directory
(``<course>/ratings/.secret``, readable by its owner only): the same student always gets
the same code, and without the secret the code cannot be traced back, not even by trying
every student id of the class.

- :func:`pseudonym`: a student, e.g. ``S-7f3c9e2b``.
- :func:`answer_id`: one student's answer in one grade cell, e.g. ``A-1b2c3d4e``; a rating
  sheet row carries only this, so rows of one student cannot be linked to each other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from grader.errors import GraderError

SECRET_PATH = Path("ratings") / ".secret"
#: Hex digits kept from the HMAC: 32 bits, ample for a course's few hundred students or
#: answers; callers that index by pseudonym still check for collisions.
DIGITS = 8
STUDENT_PATTERN = rf"S-[0-9a-f]{{{DIGITS}}}"
ANSWER_PATTERN = rf"A-[0-9a-f]{{{DIGITS}}}"


def course_secret(course: Path | str) -> bytes:
    """The course's pseudonym secret, created on first use with 0600 permissions."""
    path = Path(course) / SECRET_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write a different secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    try:
        secret = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path}: cannot read the pseudonym secret ({exc})") from exc
    if len(secret) < 32:
        raise GraderError(
            f"{path}: the pseudonym secret is damaged (too short). Restore it from a "
            "backup: a new secret would give every student and answer a new code."
        )
    return secret.encode("ascii")


def _code(secret: bytes, *parts: str) -> str:
    # The unit separator cannot occur in nbgrader ids, so ("a", "bc") and ("ab", "c") differ.
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:DIGITS]


def pseudonym(secret: bytes, student_id: str) -> str:
    """A student's stable pseudonym, e.g. ``S-7f3c9e2b``."""
    return "S-" + _code(secret, "student", student_id)


def answer_id(secret: bytes, student_id: str, assignment: str, grade_id: str) -> str:
    """The pseudonymous id of one student's answer in one grade cell, e.g. ``A-1b2c3d4e``."""
    return "A-" + _code(secret, "answer", student_id, assignment, grade_id)


def review_code(secret: bytes, kind: str, item_or_response_id: str) -> str:
    """The code of a vignette (``V-…``) or response (``R-…``) on an expert-review sheet.

    The bank is public, so a sheet naming ``rw-022-b`` would let a reviewer look the key up;
    the code cannot be traced back without the course secret.
    """
    prefix = {"vignette": "V-", "response": "R-"}[kind]
    return prefix + _code(secret, "review", kind, item_or_response_id)
