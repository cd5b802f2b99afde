"""rules.yml: workflows, their conditions, approval requirements and inputs.

schema        the shape of rules.yml (pydantic models, principals, durations)
loading       reading rules.yml and the checks that span several keys
conditions    CEL conditions: compile once, evaluate to true or false
facts         what conditions see: requester, channel, input, draft
inputs        a workflow's input checked and converted to its fields' types
requirements  who must approve a request (ApprovalRequirement)
rulebook      RuleBook: one workspace's rules evaluated against its directory
"""
