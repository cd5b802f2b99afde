"""rules.yml: workflows, their conditions, approval requirements and inputs."""
