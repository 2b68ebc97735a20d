"""A local file hashed the way the hub identifies it: sha256 of the content and git blob id."""

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
        ["git", "hash-object", "--no-filters", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.parametrize("name", list(CONTENTS))
def test_the_digests_are_git_hash_objects_blob_id_and_hashlibs_sha256(tmp_path, name):
    path = tmp_path / "file"
    path.write_bytes(CONTENTS[name])

    sha256, blob_id = file_digests(path)

    assert blob_id == git_hash_object(path)
    assert sha256 == hashlib.sha256(CONTENTS[name]).hexdigest()
    assert blob_id == git_blob_id(CONTENTS[name])


def test_known_values():
    # `printf 'hello world\n' | git hash-object --stdin`; the empty blob is git's well-known id.
    assert git_blob_id(b"hello world\n") == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
    assert git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_a_large_file_is_read_in_chunks_not_whole(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    content = os.urandom(hashing.CHUNK_SIZE * 3 + 5)
    path.write_bytes(content)
    sizes: list[int] = []
    real_open = Path.open

    def counting_open(self, *args, **kwargs):
        file = real_open(self, *args, **kwargs)
        read = file.read

        def chunked_read(size=-1):
            sizes.append(size)
            return read(size)

        file.read = chunked_read
        return file

    monkeypatch.setattr(Path, "open", counting_open)

    assert file_digests(path) == (hashlib.sha256(content).hexdigest(), git_blob_id(content))
    assert set(sizes) == {hashing.CHUNK_SIZE}, "never the whole file at once"


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_digests(tmp_path / "absent")


def test_the_module_imports_nothing_of_django_or_the_project():
    tree = ast.parse(Path(hashing.__file__).read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if isinstance(node, ast.ImportFrom) else []
        )
    }  # fmt: skip
    assert imported <= set(sys.stdlib_module_names), imported
    # And it loads in an interpreter without the project's settings or Django on the path.
    loaded = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import runpy, sys; runpy.run_path(sys.argv[1]); "
         "assert not any(m.startswith('django') for m in sys.modules)", hashing.__file__],
        capture_output=True, text=True,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
