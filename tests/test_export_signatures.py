"""Export signatures verify outside the product's code: with the ``cryptography`` package against the
public key the API serves (PEM loaded from the HTTP answer), and with ``openssl pkeyutl -verify -rawin``
when openssl is installed; the key comes from the environment (PEM or a base64 seed), a development
key is generated once, and without a key in production an export fails clearly and stores nothing."""

import base64
import shutil
import subprocess
from datetime import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from boms.export_models import ExportFile
from boms.exports import services, signing
from core.access import system_principal
from core.changelog import Actor
from core.jobs import run_job
from core.models import Job
from core.tokens import issue_token
from tests import inventory_helpers as inv

pytestmark = [pytest.mark.django_db]

ADMIN = system_principal("test")


@pytest.fixture
def reader(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    secret = issue_token(actor=Actor.system("test"), name="compliance", role="viewer").secret
    headers = {"Authorization": f"Bearer {secret}"}

    def get(url: str) -> tuple[int, bytes, str]:
        response = client.get(url, headers=headers)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, body, response["Content-Type"]

    return get


def exported(format: str = "csv") -> ExportFile:
    inv.model("acme/signed", inv.publisher("Acme", "FR"))
    job = services.run_adhoc(principal=ADMIN, scope="organization", scope_name="", format=format, spec_version="1.6")
    run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    return ExportFile.objects.get(job_id=job.pk)


def served_public_key(reader) -> tuple[bytes, Ed25519PublicKey]:
    status, pem, media_type = reader("/api/v1/exports/public-key/")
    assert status == 200
    assert media_type == "application/x-pem-file"
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, Ed25519PublicKey)
    return pem, key


@pytest.mark.parametrize("format", ["csv", "cyclonedx-json", "cyclonedx-xml"])
def test_the_signature_verifies_with_the_served_public_key(reader, format):
    export_file = exported(format)
    _, key = served_public_key(reader)

    _, content, _ = reader(f"/api/v1/export-files/{export_file.pk}/download/")
    _, signature, media_type = reader(f"/api/v1/export-files/{export_file.pk}/signature/")

    assert media_type == "application/octet-stream"
    key.verify(signature, content)  # raises InvalidSignature otherwise
    with pytest.raises(InvalidSignature):
        key.verify(signature, content + b"\n")


def test_the_signature_verifies_with_openssl(reader, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed here: the cryptography check above stands alone")
    export_file = exported("cyclonedx-json")
    pem, _ = served_public_key(reader)
    _, content, _ = reader(f"/api/v1/export-files/{export_file.pk}/download/")
    _, signature, _ = reader(f"/api/v1/export-files/{export_file.pk}/signature/")
    (tmp_path / "key.pem").write_bytes(pem)
    (tmp_path / "export.json").write_bytes(content)
    (tmp_path / "export.json.sig").write_bytes(signature)

    def verify(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "key.pem"), "-rawin",
             "-in", str(path), "-sigfile", str(tmp_path / "export.json.sig")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    done = verify(tmp_path / "export.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout
    (tmp_path / "tampered.json").write_bytes(content.replace(b"acme", b"acmf"))
    assert verify(tmp_path / "tampered.json").returncode != 0


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize("written", ["pem", "base64"])
def test_the_key_comes_from_the_environment_as_pem_or_a_base64_seed(settings, written):
    key = Ed25519PrivateKey.generate()
    settings.EXPORT_SIGNING_KEY = _pem(key) if written == "pem" else base64.b64encode(key.private_bytes_raw()).decode()

    expected = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signing.public_key_pem().encode() == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bm90IGEga2V5", "32 bytes"),
        ("not base64 at all!", "neither a PEM key nor base64"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "PEM"),
    ],
)
def test_a_bad_key_is_refused_naming_the_variable(settings, value, message):
    settings.EXPORT_SIGNING_KEY = value
    with pytest.raises(signing.SigningKeyInvalid, match="EXPORT_SIGNING_KEY") as refused:
        signing.private_key()
    assert message in str(refused.value)


def test_an_rsa_key_is_refused(settings):
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.EXPORT_SIGNING_KEY = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(signing.SigningKeyInvalid, match="Ed25519"):
        signing.private_key()


def test_the_development_key_is_generated_once(settings, tmp_path):
    settings.EXPORT_SIGNING_KEY = ""
    settings.EXPORT_SIGNING_KEY_DEVELOPMENT_FILE = tmp_path / "export_signing_key.pem"

    first = signing.public_key_pem()
    signing._key_from.cache_clear()
    again = signing.public_key_pem()

    assert first == again
    assert (tmp_path / "export_signing_key.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")


def test_without_a_key_in_production_an_export_fails_clearly_and_stores_nothing(reader, settings):
    settings.EXPORT_SIGNING_KEY = ""
    settings.EXPORT_SIGNING_KEY_DEVELOPMENT_FILE = None  # as REGISTRY_ENV=production sets it
    schedule = services.create_schedule(
        principal=ADMIN, definition={"name": "n", "scope": "organization", "format": "csv", "at": time(2)}
    )

    job = services.run_schedule_now(principal=ADMIN, schedule=schedule)
    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "EXPORT_SIGNING_KEY" in job.error
    assert not ExportFile.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "exports").exists()
    status, body, media_type = reader("/api/v1/exports/public-key/")
    assert status == 503
    assert media_type == "application/problem+json"
    assert b"EXPORT_SIGNING_KEY" in body
