"""Greenlight's domain: workflow config, posts, the approval engine and its Redis store.

Nothing in this package imports Slack; it can be driven from tests, a CLI or another chat
platform.
"""
