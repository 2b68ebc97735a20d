"""Compliance exports (docs/boms.md#exports): schedules run by beat and runs on demand, each a Job
(kind ``export``) that writes a CycloneDX JSON / XML document or a CSV inventory of a scope to the
exports storage, with its SHA-256, size and a detached Ed25519 signature beside it, then applies the
schedule's retention.

- ``boms.exports.timing``: when a schedule's slots fall.
- ``boms.exports.services``: schedules (create, change), starting runs (due, on demand, ad hoc),
  retention, reading stored files.
- ``boms.exports.inventory_csv``: the CSV inventory's rows.
- ``boms.exports.signing``: the signing key and signatures.
- ``boms.exports.jobs``: the ``export`` job.
"""
