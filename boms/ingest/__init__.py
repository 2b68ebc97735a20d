"""CycloneDX in: documents sent to ``POST /api/v1/boms/``.

The request side (``boms.ingest.parsing``, ``boms.ingest.uploads``): the body read within
``BOM_UPLOAD_MAX_BYTES``, parsed safely and validated against its version's schema; a valid document
is stored as a ``boms.models.BomUpload`` and the ``bom_ingest`` job started in one transaction. The
applying side (``boms.ingest.apply``) is that job: it parses the stored bytes again with
``parsing.parse_document`` and registers what the document holds.
"""
