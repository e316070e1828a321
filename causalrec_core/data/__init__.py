"""Behaviour logs: reading, column mapping, cleaning, features and profiling."""

from causalrec_core.data.clean import RULES, CleaningOptions
from causalrec_core.data.ingest import IngestResult, ingest
from causalrec_core.data.io import FileFormat, preview, sniff
from causalrec_core.data.mapping import suggest_event_map, suggest_mapping, validate_mapping

__all__ = [
    "RULES", "CleaningOptions", "FileFormat", "IngestResult", "ingest", "preview", "sniff",
    "suggest_event_map", "suggest_mapping", "validate_mapping",
]
