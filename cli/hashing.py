"""A local file's digests, the two ways a hub identifies a file: its content's sha256 (what the hub
reports for a file kept in Git LFS) and its git blob id (what it reports for every other file:
``blobId``, the sha1 of ``blob <size>\\0`` followed by the content, as ``git hash-object`` gives);
and those of every file of a model folder, as the pipeline CLI sends them to the gate.

Pure standard library, no Django and nothing else of the project: this package is what a deploy
pipeline installs (``pip install`` of the project installs ``cli`` only, never the Django apps), so
the registry's own code may import it, but it imports nothing of theirs. Files are read in
fixed-size chunks, so a file of many gigabytes takes memory for one chunk only.
"""

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

CHUNK_SIZE = 1024 * 1024

# Folders of a model folder that are not the model: a git checkout's own database (at any depth), and
# the bookkeeping huggingface_hub keeps in a folder it downloads into (``--local-dir``: locks and
# metadata, at the top only).
SKIPPED_DIRECTORY_NAMES = frozenset({".git"})
SKIPPED_TOP_LEVEL_PATHS = frozenset({PurePosixPath(".cache/huggingface")})


def git_blob_header(size: int) -> bytes:
    """What git puts before a blob's content when it computes the blob's id."""
    return b"blob %d\0" % size


def file_digests(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(sha256, git blob id)`` of the file's content, both lowercase hex (64 and 40 digits), in one pass.

    The size in the blob header is taken from the open file and checked against the bytes read: a
    file that changes while it is read raises ``OSError`` rather than give ids of no content.
    """
    with Path(path).open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        sha256 = hashlib.sha256()
        blob = hashlib.sha1(git_blob_header(size), usedforsecurity=False)
        read = 0
        while chunk := file.read(CHUNK_SIZE):
            sha256.update(chunk)
            blob.update(chunk)
            read += len(chunk)
    if read != size:
        raise OSError(f"{path} changed while it was read: {size} bytes when opened, {read} read")
    return sha256.hexdigest(), blob.hexdigest()


def git_blob_id(content: bytes) -> str:
    """The git blob id of ``content`` held in memory (``file_digests``' second value for a file of it)."""
    return hashlib.sha1(git_blob_header(len(content)) + content, usedforsecurity=False).hexdigest()


def model_files(root: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """Every file under ``root`` as ``(relative POSIX path, path)``, sorted by the relative path.

    Symbolic links are followed (a huggingface_hub cache snapshot is links into its blob store), a
    folder reached twice through links is walked once; ``.git`` folders and huggingface_hub's
    ``.cache/huggingface`` bookkeeping are skipped. Anything that is neither a file nor a folder (a
    dangling link, a socket) raises ``OSError``: a file left unchecked is what the gate is there to
    prevent, so nothing is skipped silently.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    files: list[tuple[str, Path]] = []
    seen_folders: set[tuple[int, int]] = set()

    def walk(folder: Path, relative: PurePosixPath) -> None:
        folder_stat = folder.stat()
        if (folder_stat.st_dev, folder_stat.st_ino) in seen_folders:
            return
        seen_folders.add((folder_stat.st_dev, folder_stat.st_ino))
        for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
            path, entry_relative = Path(entry.path), relative / entry.name
            try:
                mode = entry.stat().st_mode  # follows links
            except FileNotFoundError:
                raise OSError(f"{path} is a link to nothing") from None
            if stat.S_ISDIR(mode):
                if entry.name not in SKIPPED_DIRECTORY_NAMES and entry_relative not in SKIPPED_TOP_LEVEL_PATHS:
                    walk(path, entry_relative)
            elif stat.S_ISREG(mode):
                files.append((entry_relative.as_posix(), path))
            else:
                raise OSError(f"{path} is neither a file nor a folder")

    walk(root, PurePosixPath())
    return sorted(files)


def artifact_digests(root: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The gate's ``artifacts``: ``{"path", "sha256", "blob_id"}`` for every file of ``model_files(root)``."""
    artifacts = []
    for relative, path in model_files(root):
        sha256, blob_id = file_digests(path)
        artifacts.append({"path": relative, "sha256": sha256, "blob_id": blob_id})
    return artifacts
