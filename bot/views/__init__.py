"""Every Block Kit message and modal Greenlight sends is built here, from domain objects, with
slack_sdk's model classes, so no draft length or number of findings can break Slack's limits."""
