"""A local stand-in for Slack: a Web API emulator and a sender of signed Slack requests.

Tests drive the bot through it end to end, and a sandbox lets people try Greenlight without a
real workspace. See docs/sandbox.md.
"""
