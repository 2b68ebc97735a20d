"""Conformance, the applying half: every valid-* document of CycloneDX 1.6 and 1.7 (JSON and XML) is
applied by the bom_ingest job and registers the machine-learning-model components it holds (each
valid-machine-learning-* file exactly one, the others none); the real-world ML-BOM yields one model
by the rule for components without a purl. (Acceptance in the request and rejection:
tests/test_bom_ingest_conformance.py.)"""

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from boms.ingest.uploads import submit_bom
from core.access import system_principal
from core.jobs import run_job
from core.models import Job
from inventory.models import AIModel, Source

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance"
CORPUS = SHARED / "cyclonedx"
EXAMPLES = SHARED / "cyclonedx-examples"
VALID = sorted(
    path
    for version in ("1.6", "1.7")
    for path in (CORPUS / version).glob("valid-*")
    if path.suffix in (".json", ".xml")
)
MEDIA_TYPES = {".json": "application/vnd.cyclonedx+json", ".xml": "application/vnd.cyclonedx+xml"}


def ml_components(path: Path) -> int:
    """How many machine-learning-model components (top level or nested in ``components``) the file
    holds, counted without the product's code."""
    if path.suffix == ".json":

        def walk(components: list[dict[str, Any]]) -> int:
            return sum(
                (component.get("type") == "machine-learning-model") + walk(component.get("components", []))
                for component in components
            )

        return walk(json.loads(path.read_text(encoding="utf-8")).get("components", []))
    root = etree.parse(str(path)).getroot()
    namespace = root.tag[1:].split("}")[0]
    found = root.xpath(
        "/b:bom/b:components//b:component[@type='machine-learning-model'][not(ancestor::b:pedigree)]",
        namespaces={"b": namespace},
    )
    return len(found)


def ingested(path: Path) -> Job:
    submitted = submit_bom(
        principal=system_principal("conformance"), content=path.read_bytes(), media_type=MEDIA_TYPES[path.suffix]
    )
    run_job(job_id=submitted.job.pk)
    return Job.objects.get(pk=submitted.job.pk)


def test_the_corpus_is_there() -> None:
    assert len(VALID) > 100
    assert sum(path.name.startswith("valid-machine-learning") for path in VALID) == 8


@pytest.mark.parametrize("path", VALID, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_valid_document_is_applied_with_its_models(path: Path) -> None:
    job = ingested(path)
    assert job.state == Job.State.SUCCEEDED, (job.error, job.log)
    expected = ml_components(path)
    if path.name.startswith("valid-machine-learning"):
        assert expected == 1
    assert AIModel.objects.count() == expected
    assert job.result["models_created"] == expected
    assert job.progress_done == job.progress_total == expected


@pytest.mark.parametrize("suffix", [".json", ".xml"])
@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_the_machine_learning_example_keeps_its_card(version: str, suffix: str) -> None:
    job = ingested(CORPUS / version / f"valid-machine-learning-{version}{suffix}")
    assert job.state == Job.State.SUCCEEDED, job.error
    model = AIModel.objects.get()
    assert (model.source, model.upstream_id) == (Source.BOM, "CompVis/stable-diffusion")
    assert list(model.revisions.values_list("revision", flat=True)) == ["1.4"]
    assert model.task == "task goes here"
    assert model.architecture_family == "the architecture family goes here"
    assert model.architecture == "The architecture of the model."
    assert model.datasets == [{"source": "bom", "id": "Training Data"}]
    slice_name = "The name of the slice this metric was computed on. By default, assume this metric is not sliced"
    assert model.evaluation_results == [
        {
            "task": "task goes here",
            "dataset": "",
            "dataset_name": slice_name,
            "metric": "The type of performance metric",
            "value": "The value of the performance metric",
            "verified": None,
        }
    ]
    assert model.model_card["considerations"]["users"][1] == "Data scientists and ML researchers"
    assert model.model_card["quantitativeAnalysis"]["graphics"]["collection"][0]["image"]["contentType"] == "image/jpeg"
    assert model.publisher.name == "CompVis"
    assert model.publisher.country == ""


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_the_environmental_example_keeps_its_considerations(suffix: str) -> None:
    job = ingested(CORPUS / "1.7" / f"valid-machine-learning-considerations-env-1.7{suffix}")
    assert job.state == Job.State.SUCCEEDED, job.error
    model = AIModel.objects.get()
    assert (model.source, model.upstream_id) == (Source.BOM, "meta-llama/Llama-2-7b")
    consumption = model.model_card["considerations"]["environmentalConsiderations"]["energyConsumptions"][0]
    assert consumption["activityEnergyCost"] == {"unit": "kWh", "value": 0.4}
    assert not model.revisions.exists()  # no version: nothing to pin


def test_the_real_world_ml_bom_yields_one_model_by_the_rule_without_a_purl() -> None:
    job = ingested(EXAMPLES / "MLBOM" / "Model" / "FoundationModels" / "bom.json")
    assert job.state == Job.State.SUCCEEDED, job.error
    model = AIModel.objects.get()
    # No purl, no group: source bom, the manufacturer's name for the namespace, no version to pin.
    assert (model.source, model.upstream_id) == (Source.BOM, "OpenAI-Inc/gpt-4o")
    assert not model.revisions.exists()
    assert model.architecture == "GPT-4"
    assert model.model_card["modelParameters"]["inputs"] == [{"format": "string"}, {"format": "image"}]
    assert model.refresh_error  # a bom model is never refreshed from a hub
