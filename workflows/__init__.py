"""Downstream connectors: one module per downstream system, and a registry of them.

`workflows.base` holds the contract (`ApprovedAction`, `ActionResult`, `Connector`),
`workflows.registry` the connectors by slug and the check of rules.yml `connectors:`.
"""
