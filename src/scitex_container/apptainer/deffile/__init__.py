"""Apptainer definition files: the one def-file model (parse, inspect, edit, emit)."""

from scitex_container.apptainer.deffile.document import DefFile, parse_def_text
from scitex_container.apptainer.deffile.files import parse_def, validate_files
from scitex_container.apptainer.deffile.parse import BOOTSTRAP_AGENTS, HEADER_KEYWORDS
from scitex_container.apptainer.deffile.parts import (
    FilesEntry,
    HeaderEntry,
    Section,
    Stage,
    TemplateRef,
)
from scitex_container.apptainer.deffile.text import APP_SECTIONS, SECTIONS
from scitex_container.apptainer.deffile.text import without_seed_pins as no_seed_pins

__all__ = [
    "APP_SECTIONS",
    "BOOTSTRAP_AGENTS",
    "HEADER_KEYWORDS",
    "SECTIONS",
    "DefFile",
    "FilesEntry",
    "HeaderEntry",
    "Section",
    "Stage",
    "TemplateRef",
    "no_seed_pins",
    "parse_def",
    "parse_def_text",
    "validate_files",
]
