"""Who is asking, and who else will read the answer."""
