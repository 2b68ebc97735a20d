"""The registry hashes a local file as the hub identifies it, with the pipeline CLI's own code (whose
streaming, folder walk and standard-library-only import are tested in tests/test_cli.py)."""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from cli import hashing as cli_hashing
from inventory import hashing
from inventory.hashing import file_digests, git_blob_id

pytestmark = pytest.mark.smoke

CONTENTS = {
    "empty": b"",
    "config.json": b'{"architectures": ["Qwen2ForCausalLM"]}\n',
    "no newline at the end": b"abc",
    "binary with a NUL": bytes(range(256)) * 3,
    "one chunk exactly": b"x" * hashing.CHUNK_SIZE,
    "over a chunk": os.urandom(hashing.CHUNK_SIZE * 2 + 17),
}


def git_hash_object(path: Path) -> str:
    return subprocess.run(
        ["git", "hash-object", "--no-filters", "--", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_registry_and_the_cli_hash_with_the_same_code():
    assert (hashing.file_digests, hashing.git_blob_id) == (cli_hashing.file_digests, cli_hashing.git_blob_id)


@pytest.mark.parametrize("name", list(CONTENTS))
def test_the_digests_are_hashlibs_sha256_and_git_hash_objects_blob_id(tmp_path, name):
    path = tmp_path / "file"
    path.write_bytes(CONTENTS[name])

    sha256, blob_id = file_digests(path)

    assert sha256 == hashlib.sha256(CONTENTS[name]).hexdigest()
    assert blob_id == git_hash_object(path)
    assert blob_id == git_blob_id(CONTENTS[name])


def test_known_values():
    # `printf 'hello world\n' | git hash-object --stdin`; the empty blob is git's well-known id.
    assert git_blob_id(b"hello world\n") == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
    assert git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_digests(tmp_path / "absent")
