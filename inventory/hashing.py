"""A local file's digests, the two ways a hub identifies a file: its content's sha256 (what the hub
reports for a file kept in Git LFS) and its git blob id (what it reports for every other file:
``blobId``, the sha1 of ``blob <size>\\0`` followed by the content, as ``git hash-object`` gives).

Pure standard library, no Django and nothing else of the project: the pipeline CLI hashes a model
folder with this module before it asks the gate, without the project's settings. Files are read in
fixed-size chunks, so a file of many gigabytes takes memory for one chunk only.
"""

import hashlib
import os
from pathlib import Path

CHUNK_SIZE = 1024 * 1024


def git_blob_header(size: int) -> bytes:
    """What git puts before a blob's content when it computes the blob's id."""
    return b"blob %d\0" % size


def file_digests(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(sha256, git blob id)`` of the file's content, both lowercase hex (64 and 40 digits).

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
