"""Subscriptions: changes in the record reach services and partners, never lost.

``spec`` reads and checks Subscription resources; ``matching`` decides, inside the writing
transaction and with the record's own search engine, which subscriptions a change matches and
puts one outbox row per match; ``dispatcher`` delivers the outbox after commit, in order per
subscription, with back-off; ``notifications`` builds what is sent.
"""
