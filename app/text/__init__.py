"""Plain-text handling shared by the knowledge index and the answerers.

- `words`: tokens, stems, stopwords, the content terms of a text and of a question.
- `sentences`: sentence, list-item, heading and table-row spans, as exact offsets.
- `numbers`: the figures a text states, and what each counts.

Deterministic and free of I/O: the same text always gives the same terms.
"""
