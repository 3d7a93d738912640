"""The results contract (row types and schemas), the run directory on disk, its manifest and
the single writer task. Imports config, catalog and base only.
"""
