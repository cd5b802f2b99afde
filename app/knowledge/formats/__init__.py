"""Format-specific readers that turn a file's text into `Block`s.

`app.knowledge.loaders` picks the reader by file suffix; each reader here only knows its
own format. Markdown is parsed by markdown-it-py, HTML by selectolax, PDF by pypdf, Word
documents by python-docx, PowerPoint decks by python-pptx and Excel workbooks by openpyxl,
so none has hand-written parsing rules to drift from the real format.
"""
