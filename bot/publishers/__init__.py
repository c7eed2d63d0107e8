"""Publishers: one module per target type, each turning an approved `Publication` into a post."""
