"""Workflow handlers: one module per downstream system, and a registry of them.

`workflows.base` holds the contract (`ApprovedAction`, `ActionResult`, `WorkflowHandler`),
`workflows.registry` the handlers by slug and the check of rules.yml `connectors:`.
"""
