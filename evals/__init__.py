"""Scores answers against their sources (see issue: eval suite)."""
