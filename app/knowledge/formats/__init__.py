"""Format-specific readers that turn a file's text into `Block`s.

`app.knowledge.loaders` picks the reader by file suffix; each reader here only knows its
own format. Markdown is parsed by markdown-it-py and HTML by selectolax, so neither has
hand-written parsing rules to drift from the real syntax.
"""
