"""Greenlight's Slack side: settings, CLI, and (later) the Bolt app, listeners and views."""
