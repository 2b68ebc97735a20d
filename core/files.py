"""Files several processes may create at the same moment (no Django import: settings use it)."""

import os
import tempfile
from pathlib import Path


def create_once(path: Path, content: bytes) -> str:
    """The text of ``path``, which is written with ``content`` when it does not exist yet. Processes
    that start together agree on one file: each writes a private file first and links it into place,
    which fails for all but the first."""
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="utf-8")
