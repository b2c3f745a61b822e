"""Engine, sessions, the shared ORM base and migrations."""
