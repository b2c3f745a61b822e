"""Per-agent memories: hybrid search, a knowledge graph with no orphans, strength you can see,
and forgetting that is reviewed first and undone as one action."""
