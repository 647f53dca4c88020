"""Reading other systems' complaint files (CSV, XLSX) through a mapping file, for import and replay."""

from workflows.importing.mapping import Mapping, MappingError, load_mapping
from workflows.importing.reader import ImportRow, Outcome, SourceFileError, read_rows

__all__ = ["ImportRow", "Mapping", "MappingError", "Outcome", "SourceFileError", "load_mapping", "read_rows"]
