"""What both halves share: the settings object and the named errors (index/ and rag/ import it)."""
