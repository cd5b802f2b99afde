"""How Trellis looks in Slack: the Block Kit of every message, card, modal and tab.

Views are pure functions from domain values to Block Kit; listeners and the notifier post
what they return. Text enters mrkdwn only through `blocks.escape`.
"""
