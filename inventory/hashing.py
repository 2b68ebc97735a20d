"""A local file's digests, the two ways a hub identifies a file: its content's sha256 (what the hub
reports for a file kept in Git LFS) and its git blob id (what it reports for every file: ``blobId``,
the sha1 of ``blob <size>\\0`` followed by the content, as ``git hash-object`` gives).

One implementation, the pipeline CLI's: ``cli.hashing`` is standard library only (a deploy pipeline
installs it without Django, and the project installs it too), so the registry reuses it from there
rather than keep a second copy that could drift from what the CLI sends the gate.
"""

from cli.hashing import CHUNK_SIZE, file_digests, git_blob_header, git_blob_id

__all__ = ["CHUNK_SIZE", "file_digests", "git_blob_header", "git_blob_id"]
