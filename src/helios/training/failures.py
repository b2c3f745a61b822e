"""Why a job failed, told twice: in plain words for the job page and the API (no server file paths,
no source locations: they mean nothing to the person reading and show how the server is laid out),
and in full for the journal, where whoever runs the server looks."""

from __future__ import annotations

import re
import traceback

# An absolute POSIX path ("/srv/helios/store/jobs/3/x.pt") or a Windows one ("C:\\data\\x.csv"),
# optionally quoted; the file's own name is kept, since "model.pt" still says which file it was.
_PATH = re.compile(r"""(?<![\w.])(?:[A-Za-z]:\\|/)(?:[^\s'"():,]+[/\\])+([^\s'"():,/\\]+)""")

# Errors whose message is already written for people (the engine's and the service's own).
_WORDED = ("ForecastingError", "ArtifactError", "InvalidInput", "NotFound", "Conflict", "HeliosError")


def for_people(exc: BaseException) -> str:
    """What went wrong, without internal paths: "ValueError: ..." for a surprise, the bare message
    for an error the engine raised on purpose."""
    text = _PATH.sub(r"\1", _text(exc))
    name = type(exc).__name__
    return text if name in _WORDED else f"{name}: {text}"


def for_journal(exc: BaseException) -> str:
    """Everything: the type, the raw message and where in Helios it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = next(
        (f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames) if "helios" in f.filename),
        None,
    )
    return f"{type(exc).__name__}: {_text(exc)}" + (f" (at {where})" if where else "")


def _text(exc: BaseException) -> str:
    return str(getattr(exc, "detail", None) or exc or type(exc).__name__)
