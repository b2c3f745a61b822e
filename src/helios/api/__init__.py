"""FastAPI routers, one per area, thin: parse -> call a service -> return a schema."""
