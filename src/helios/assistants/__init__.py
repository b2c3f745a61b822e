"""AI assistants: prompts per role (immutable versions, labels), LLM providers, prompt tests,
A/B experiments."""
