"""The model registry: models, versions, stages and aliases, deployments, lineage, artifacts."""
