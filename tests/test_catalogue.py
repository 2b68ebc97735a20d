"""The curated catalogues: sourced, unambiguous, loaded into every database, and safe to load again."""

import io
import re
import tomllib

import pytest
from django.core.management import CommandError, call_command

from core.models import ChangeLogEntry
from inventory.catalogue import SHIPPED_FILES, CatalogueError, apply_catalogue, parse_catalogue, shipped_catalogue
from inventory.models import License, LicenseAlias, Publisher, PublisherNamespace
from inventory.selectors import license_for_hub, publisher_of_namespace
from inventory.services import ai_models, lineage
from inventory.validators import validate_license_key
from tests.inventory_helpers import ACTOR, origin_of

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

URL = re.compile(r"https?://\S+")
CATALOGUE = shipped_catalogue()


def test_every_entry_has_a_source_url():
    for publisher in CATALOGUE.publishers:
        if publisher.country:
            assert URL.fullmatch(publisher.country_source), publisher.name
    for license_ in CATALOGUE.licenses:
        assert URL.fullmatch(license_.url), license_.key


def test_license_ids_are_spdx_or_valid_license_refs():
    for license_ in CATALOGUE.licenses:
        validate_license_key(license_.key)
        if not re.fullmatch(r"[A-Za-z0-9.+-]+", license_.key):
            pytest.fail(f"{license_.key} is not SPDX syntax")
    refs = [entry.key for entry in CATALOGUE.licenses if entry.key.startswith("LicenseRef-")]
    assert all(re.fullmatch(r"LicenseRef-[A-Za-z0-9.-]+", key) for key in refs)


def test_every_hub_alias_resolves_to_exactly_one_license():
    aliases = [(alias, entry.key) for entry in CATALOGUE.licenses for alias in entry.aliases]
    assert len({alias for alias, _ in aliases}) == len(aliases), "an alias is listed twice"
    for alias, key in aliases:
        assert license_for_hub(license_id=alias).key == key
    assert license_for_hub(license_id="other", license_name="deepseek").key == "LicenseRef-deepseek-license"
    assert license_for_hub(license_id="llama3.3").key == "LicenseRef-llama-3.3-community"
    assert license_for_hub(license_id="other", license_name="no-such-license") is None


def test_the_catalogue_covers_the_labs_and_licenses_the_product_promises():
    namespaces = {entry.namespace for publisher in CATALOGUE.publishers for entry in publisher.namespaces}
    required_labs = {
        "deepseek-ai", "Qwen", "zai-org", "THUDM", "moonshotai", "MiniMaxAI", "01-ai", "baichuan-inc", "internlm",
        "openbmb", "tencent", "baidu", "ByteDance-Seed", "stepfun-ai", "XiaomiMiMo", "meta-llama", "mistralai",
        "google", "microsoft", "openai", "allenai", "ibm-granite", "nvidia",
    }  # fmt: skip
    assert required_labs <= namespaces
    assert len(CATALOGUE.publishers) >= 25
    keys = {entry.key for entry in CATALOGUE.licenses}
    assert {
        "LicenseRef-llama-2-community", "LicenseRef-llama-3-community", "LicenseRef-llama-3.1-community",
        "LicenseRef-llama-3.2-community", "LicenseRef-llama-3.3-community", "LicenseRef-llama-4-community",
        "LicenseRef-gemma-terms-of-use", "LicenseRef-qwen-license", "LicenseRef-qwen-research",
        "LicenseRef-tongyi-qianwen", "LicenseRef-deepseek-license", "LicenseRef-modified-mit",
        "LicenseRef-creativeml-openrail-m", "LicenseRef-tencent-hunyuan-community", "LicenseRef-minicpm-model-license",
        "LicenseRef-nvidia-open-model-license", "LicenseRef-baichuan2-community", "Apache-2.0", "MIT",
    } <= keys  # fmt: skip
    chinese = {entry.name for entry in CATALOGUE.publishers if entry.country == "CN"}
    assert {"deepseek-ai", "Qwen", "zai-org", "moonshotai", "MiniMaxAI"} <= chinese


def test_every_new_database_has_the_catalogue_and_loading_it_again_changes_nothing():
    assert Publisher.objects.count() == len(CATALOGUE.publishers)
    assert License.objects.count() == len(CATALOGUE.licenses)
    assert publisher_of_namespace(source="huggingface", namespace="THUDM").name == "zai-org"
    assert Publisher.objects.get(name="Qwen").parent.name == "alibaba"

    assert apply_catalogue(actor=ACTOR, catalogue=CATALOGUE) == 0
    output = io.StringIO()
    call_command("load_catalogue", "--shipped", stdout=output)
    assert "already up to date" in output.getvalue()


CORRECTION = """
[[publisher]]
name = "deepseek-ai"
display_name = "DeepSeek"
country = "SG"
country_source = "https://example.org/a-correction"
huggingface = ["deepseek-ai", "deepseek-ai-mirror"]
"""


def test_a_correction_is_applied_logged_and_recomputes_origins(tmp_path):
    base, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="deepseek-ai/DeepSeek-R1")
    assert origin_of(base) == {"CN"}
    correction = tmp_path / "correction.toml"
    correction.write_text(CORRECTION)

    output = io.StringIO()
    call_command("load_catalogue", str(correction), stdout=output)
    again = io.StringIO()
    call_command("load_catalogue", str(correction), stdout=again)

    assert "changes written to the change log" in output.getvalue()
    assert "already up to date" in again.getvalue()
    assert origin_of(base) == {"SG"}
    assert publisher_of_namespace(source="huggingface", namespace="deepseek-ai-mirror").name == "deepseek-ai"


def test_a_load_counts_the_changes_it_made_not_the_whole_change_log():
    base, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="deepseek-ai/DeepSeek-R1")
    child, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="us-lab/r1-tune")
    lineage.add_lineage_edge(
        actor=ACTOR,
        child=child,
        parent_source="huggingface",
        parent_upstream_id=base.upstream_id,
        relation="finetune",
        origin_of_edge="manual",
    )
    logged = ChangeLogEntry.objects.count()

    changes = apply_catalogue(actor=ACTOR, catalogue=parse_catalogue(CORRECTION, origin="correction.toml"))

    assert changes == 2, "the publisher's country and its new namespace"
    assert ChangeLogEntry.objects.count() - logged > changes, "the recomputed origins are logged, not counted"
    assert apply_catalogue(actor=ACTOR, catalogue=parse_catalogue(CORRECTION, origin="correction.toml")) == 0


def test_a_namespace_the_catalogue_learns_later_takes_its_models_along():
    early, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="newlab/model-1")
    assert early.publisher.name == "newlab"
    assert origin_of(early) == {"unknown"}
    catalogue = parse_catalogue(
        '[[publisher]]\nname = "New Lab"\ncountry = "JP"\ncountry_source = "https://example.org/newlab"\n'
        'huggingface = ["newlab"]\n',
        origin="inline",
    )

    apply_catalogue(actor=ACTOR, catalogue=catalogue)

    early.refresh_from_db()
    assert early.publisher.name == "New Lab"
    assert origin_of(early) == {"JP"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[publisher]]\nname = "x"\ncountry = "CN"\ncountry_source = ""\n', "country_source: a country needs the URL"),
        ('[[publisher]]\nname = "x"\ncountry = "CN"\ncountry_source = "https://a"\nhq = "?"\n', "unknown field 'hq'"),
        ('[[license]]\nkey = "MIT"\nname = "MIT"\ncategory = "permissive"\n', "missing field 'commercial_use'"),
        ("[[vendor]]\n", "unknown table 'vendor'"),
        ("not toml = = 1", "not valid TOML"),
        (
            '[[publisher]]\nname = "x"\ncountry = ""\ncountry_source = ""\nhuggingface = "x"\n',
            "must be a list of strings",
        ),
        ('[[publisher]]\nname = "x"\ncountry = ""\ncountry_source = ""\nparent = "x"\n', "cannot be its own parent"),
    ],
)
def test_a_malformed_file_is_refused_with_its_place_named(text, message):
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(text, origin="bad.toml")


def test_an_entry_the_services_refuse_stops_the_whole_load_naming_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[license]]\nkey = "LicenseRef-ok"\nname = "ok"\ncategory = "permissive"\ncommercial_use = "yes"\n'
        'url = "https://a.example"\n'
        '[[publisher]]\nname = "x-lab"\ncountry = "XX"\ncountry_source = "https://a.example"\n'
    )

    with pytest.raises(CommandError, match=r"publisher 'x-lab': country: 'XX' is not an ISO 3166-1"):
        call_command("load_catalogue", str(bad))

    assert not License.objects.filter(key="LicenseRef-ok").exists(), "nothing of a refused load is stored"


def test_the_admin_loads_a_catalogue_file(admin_client, tmp_path):
    upload = io.BytesIO(CORRECTION.encode())
    upload.name = "correction.toml"

    response = admin_client.post("/admin/inventory/publisher/load-catalogue/", {"catalogue": upload}, follow=True)

    assert response.status_code == 200
    assert "changes" in response.content.decode()
    assert Publisher.objects.get(name="deepseek-ai").country == "SG"
    assert admin_client.get("/admin/inventory/publisher/").content.decode().count("Load catalogue file") == 1


def test_the_load_page_is_for_superusers_only(client, django_user_model):
    staff = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    client.force_login(staff)

    assert client.get("/admin/inventory/publisher/load-catalogue/").status_code == 403


def test_shipped_files_parse_without_surprises():
    for path in SHIPPED_FILES:
        assert set(tomllib.loads(path.read_text())) <= {"publisher", "license"}
    assert PublisherNamespace.objects.filter(namespace="THUDM", is_alias=True).exists()
    assert LicenseAlias.objects.filter(alias="llama3.3").exists()


@pytest.mark.parametrize(
    "text",
    [
        '[[publisher]]\nname = "a"\ncountry = ""\ncountry_source = ""\nhuggingface = ["shared"]\n'
        '[[publisher]]\nname = "b"\ncountry = ""\ncountry_source = ""\nhuggingface = ["Shared"]\n',
        '[[license]]\nkey = "LicenseRef-a"\nname = "a"\ncategory = "permissive"\ncommercial_use = "yes"\n'
        'url = "https://a"\naliases = ["same"]\n'
        '[[license]]\nkey = "LicenseRef-b"\nname = "b"\ncategory = "permissive"\ncommercial_use = "yes"\n'
        'url = "https://b"\naliases = ["same"]\n',
    ],
)
def test_a_catalogue_that_lists_something_twice_is_refused(text):
    with pytest.raises(CatalogueError, match="listed twice"):
        apply_catalogue(actor=ACTOR, catalogue=parse_catalogue(text, origin="twice.toml"))
