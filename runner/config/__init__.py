"""An experiment as frozen typed objects, and the readers that build them from TOML and JSONL.

Parsed once, at the edge; every error names the file and the key path. Imports only the
catalog and the base modules.
"""
