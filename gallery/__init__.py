"""The gallery's own code: its pages and exhibits (delete this folder in a copy of the template)."""
