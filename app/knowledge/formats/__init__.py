"""Format-specific readers that turn a file's text into `Block`s.

`app.knowledge.loaders` picks the reader by file suffix; each reader here only knows its
own format. Markdown is parsed by markdown-it-py, HTML by selectolax, Word documents by
python-docx and Excel workbooks by openpyxl, so none has hand-written parsing rules to
drift from the real format.
"""
