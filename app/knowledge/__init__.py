"""Knowledge: load documents, resolve who may see them, chunk, index, and search.

files ─► loaders ─► access_rules ─► chunking ─► ingest (index) ─► search (scope in SQL)

Import from the module that does the work (`app.knowledge.ingest`, `app.knowledge.search`):
this package loads nothing itself, so reading a workspace's access rules, which every
command does, does not load the index, the embedding model's runtime or the formats.
"""
