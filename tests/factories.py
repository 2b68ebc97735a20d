"""factory_boy factories for inventory rows (stored directly: for setting up facts, not for testing services)."""

import factory

from inventory.models import AIModel, License, Publisher


class PublisherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publisher

    name = factory.Sequence(lambda n: f"publisher-{n}")
    country = "US"


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License

    key = factory.Sequence(lambda n: f"LicenseRef-test-{n}")
    name = factory.Sequence(lambda n: f"Test license {n}")
    category = "permissive"
    commercial_use = "yes"


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    source = "huggingface"
    upstream_id = factory.Sequence(lambda n: f"org/model-{n}")
    publisher = factory.SubFactory(PublisherFactory)
