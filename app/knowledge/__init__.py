"""Knowledge: load documents, resolve who may see them, chunk, index, and search.

files ─► loaders ─► access_rules ─► chunking ─► ingest (index) ─► search (scope in SQL)
"""

from app.knowledge.ingest import ingest
from app.knowledge.loaders import LoadedDocument, load_document
from app.knowledge.report import IngestReport
from app.knowledge.search import (
    count_documents,
    get_document,
    get_documents,
    search,
    visible_document_count,
)

__all__ = [
    "IngestReport",
    "LoadedDocument",
    "count_documents",
    "get_document",
    "get_documents",
    "ingest",
    "load_document",
    "search",
    "visible_document_count",
]
