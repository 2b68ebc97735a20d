"""The API of CycloneDX BOMs."""
