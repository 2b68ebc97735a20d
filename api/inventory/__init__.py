"""The REST API of the inventory: its serializers and views, on the shared bases in ``api.base``."""
